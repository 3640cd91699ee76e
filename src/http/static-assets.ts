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

/** A file held in memory and served at one path. */
export interface ServedAsset {
  body: Buffer;
  type: string;
  etag: string;
  /** its path carries its content hash: it can be cached for good */
  immutable?: boolean;
  /** a Content-Security-Policy of its own (an SVG opened on its own) */
  policy?: string;
}

/**
 * Serves files held in memory by path, each with its ETag: a browser revalidating after max-age
 * gets 304 while the file is unchanged. GET and HEAD only.
 */
export function servedAssets(assets: ReadonlyMap<string, ServedAsset>): Middleware {
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
    ctx.set('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    ctx.set('ETag', asset.etag);
    if (asset.policy) ctx.set('Content-Security-Policy', asset.policy);
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = asset.body;
  };
}

/** Serves the few files of `views/static` (and named package files) under /assets, read once at startup. */
export function staticAssets(directory: string, files: Array<string | ExternalAsset>): Middleware {
  return servedAssets(
    new Map(files.map((file) => (typeof file === 'string' ? [`/assets/${file}`, readAsset(join(directory, file), file)] : [`/assets/${file.name}`, readAsset(file.path, file.name)]))),
  );
}
