import type { Middleware } from 'koa';
import type { BrandAsset } from '../brand/page-brand.ts';

// an SVG opened on its own must not run script or reach anything: it is a picture, nothing more
const SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/** Serves the operator's logo (content-addressed, cached for good) and brand stylesheet (ETag). */
export function brandAssets(assets: Map<string, BrandAsset>): Middleware {
  return async (ctx, next) => {
    const asset = assets.get(ctx.path);
    if (!asset) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD, OPTIONS');
      ctx.status = ctx.method === 'OPTIONS' ? 204 : 405;
      return;
    }
    ctx.status = 200;
    ctx.type = asset.type;
    ctx.set('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    ctx.set('ETag', asset.etag);
    if (asset.type === 'image/svg+xml') ctx.set('Content-Security-Policy', SVG_POLICY);
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = asset.body;
  };
}
