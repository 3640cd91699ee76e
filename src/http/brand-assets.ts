import type { Middleware } from 'koa';
import type { BrandAsset } from '../brand/page-brand.ts';
import { servedAssets } from './static-assets.ts';

// an SVG opened on its own must not run script or reach anything: it is a picture, nothing more
const SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/** Serves the operator's logo (content-addressed, cached for good) and brand stylesheet (ETag). */
export function brandAssets(assets: Map<string, BrandAsset>): Middleware {
  return servedAssets(new Map([...assets].map(([path, asset]) => [path, { ...asset, ...(asset.type === 'image/svg+xml' ? { policy: SVG_POLICY } : {}) }])));
}
