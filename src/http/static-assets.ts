import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Middleware } from 'koa';

const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

/** A file served under /assets/`name` from elsewhere than the directory (a package's browser bundle). */
export interface ExternalAsset {
  name: string;
  path: string;
}

function readAsset(path: string, file: string) {
  const body = readFileSync(path);
  const etag = `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, etag, type: TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' };
}

/**
 * Serves the few files of `views/static` under /assets, read once at startup, each with a strong
 * ETag of its content: a browser revalidating after max-age gets 304 while the file is unchanged.
 */
export function staticAssets(directory: string, files: Array<string | ExternalAsset>): Middleware {
  const assets = new Map(
    files.map((file) => (typeof file === 'string' ? [`/assets/${file}`, readAsset(join(directory, file), file)] : [`/assets/${file.name}`, readAsset(file.path, file.name)])),
  );
  return async (ctx, next) => {
    const asset = assets.get(ctx.path);
    if (!asset) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD, OPTIONS');
      // an empty 405 is rendered by the error handler; OPTIONS just learns what is allowed
      ctx.status = ctx.method === 'OPTIONS' ? 204 : 405;
      return;
    }
    ctx.status = 200;
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('ETag', asset.etag);
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = asset.body;
  };
}
