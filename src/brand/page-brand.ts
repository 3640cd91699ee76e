import { createHash } from 'node:crypto';
import type { BrandSettings } from '../config.ts';
import { IMAGE_EXTENSIONS } from './logo-type.ts';
import { brandStylesheet } from './stylesheet.ts';

/** What every page's layout shows of the operator's brand. */
export interface PageBrand {
  /** the product name; "Postern" when the operator named none */
  name: string;
  /** the logo on Postern's own origin, its content hash in the path */
  logoUrl: string | undefined;
  logoType: string | undefined;
  /** the generated stylesheet of the operator's colours */
  stylesheetUrl: string | undefined;
  supportUrl: string | undefined;
}

/** A file the brand serves from Postern's origin. */
export interface BrandAsset {
  body: Buffer;
  type: string;
  etag: string;
  /** its path carries its content hash: it can be cached for good */
  immutable: boolean;
}

export interface Brand {
  page: PageBrand;
  /** path → file */
  assets: Map<string, BrandAsset>;
}

const hashOf = (body: Buffer) => createHash('sha256').update(body).digest('base64url');

/** The pages' view of the brand settings, and the files they link to. */
export function createBrand(settings: BrandSettings): Brand {
  const assets = new Map<string, BrandAsset>();
  let logoUrl: string | undefined;
  if (settings.logo) {
    const hash = hashOf(settings.logo.body);
    logoUrl = `/assets/brand/logo-${hash.slice(0, 22)}.${IMAGE_EXTENSIONS[settings.logo.type]}`;
    assets.set(logoUrl, { body: settings.logo.body, type: settings.logo.type, etag: `"${hash.slice(0, 27)}"`, immutable: true });
  }
  let stylesheetUrl: string | undefined;
  if (settings.accent) {
    const body = Buffer.from(brandStylesheet(settings.accent));
    stylesheetUrl = '/assets/brand.css';
    assets.set(stylesheetUrl, { body, type: 'text/css; charset=utf-8', etag: `"${hashOf(body).slice(0, 27)}"`, immutable: false });
  }
  return {
    page: { name: settings.name, logoUrl, logoType: settings.logo?.type, stylesheetUrl, supportUrl: settings.supportUrl },
    assets,
  };
}
