import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Middleware } from 'koa';

const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

/** Serves the few files of `views/static` under /assets, read once at startup. */
export function staticAssets(directory: string, files: string[]): Middleware {
  const assets = new Map(
    files.map((file) => [`/assets/${file}`, { body: readFileSync(join(directory, file)), type: TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' }]),
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
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = asset.body;
  };
}
