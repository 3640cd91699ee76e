import type { Middleware } from 'koa';
import { IMAGE_EXTENSIONS } from '../brand/logo-type.ts';
import type { Clients } from '../domain/clients.ts';

const LOGO_PATH = /^\/client-logos\/([^/]+)\/([0-9a-f]{64})\.(png|jpg|webp)$/;

/**
 * Serves the logos clients registered, by content hash: the bytes under a hash never change, so
 * they are cached for good; an old hash is simply not found. Only types checked on upload are
 * stored (never SVG), and the answer still runs in a sandbox should a browser open it alone.
 */
export function clientLogos(clients: Clients): Middleware {
  return async (ctx, next) => {
    const match = LOGO_PATH.exec(ctx.path);
    if (!match || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    let clientId: string;
    try {
      clientId = decodeURIComponent(match[1]!);
    } catch {
      return next();
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/.test(clientId)) return next();
    const logo = await clients.logo(clientId, match[2]!);
    if (!logo || IMAGE_EXTENSIONS[logo.type] !== match[3]) return next();
    ctx.status = 200;
    ctx.type = logo.type;
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('ETag', `"${match[2]}"`);
    ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = logo.body;
  };
}
