import { createHash } from 'node:crypto';
import { IMAGE_EXTENSIONS, sniffImage, type ImageType } from '../brand/logo-type.ts';
import { InvalidClientMetadata, PayloadTooLarge, UnsupportedMediaType } from './errors.ts';

/** The links an application shows people on the sign-in and consent pages (OpenID Connect Registration §2). */
export interface ClientLinks {
  /** the application's home page */
  clientUri: string | null;
  policyUri: string | null;
  tosUri: string | null;
}

export const CLIENT_LINK_FIELDS = { clientUri: 'client_uri', policyUri: 'policy_uri', tosUri: 'tos_uri' } as const;

/** A logo as stored: named by the SHA-256 of its bytes. */
export interface ClientLogo {
  sha256: string;
  type: ClientLogoType;
}

/** SVG is refused: a picture that can carry script is not worth the risk on a sign-in page. */
export type ClientLogoType = Exclude<ImageType, 'image/svg+xml'>;
export const CLIENT_LOGO_TYPES: readonly ClientLogoType[] = ['image/png', 'image/jpeg', 'image/webp'];
export const CLIENT_LOGO_MAX_BYTES = 256 * 1024;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An https URL (http for loopback only) a page may link to; null and undefined pass through. */
export function checkedLink<T extends string | null | undefined>(uri: T, field: string): T {
  if (uri === null || uri === undefined) return uri;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidClientMetadata(`${field}: "${uri}" is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new InvalidClientMetadata(`${field}: "${uri}" must use https (http is allowed for localhost only)`);
  }
  if (url.username || url.password) throw new InvalidClientMetadata(`${field}: "${uri}" must not carry credentials`);
  return uri;
}

/**
 * The logo's type, read from its bytes: PNG, JPEG or WebP, at most 256 KiB. `declared` (the
 * request's Content-Type) must agree with the bytes, so nothing is stored under a false name.
 */
export function checkedLogo(body: Buffer, declared: string | undefined): ClientLogo {
  if (body.length === 0) throw new InvalidClientMetadata('the logo is empty');
  if (body.length > CLIENT_LOGO_MAX_BYTES) throw new PayloadTooLarge(`a logo is at most ${CLIENT_LOGO_MAX_BYTES / 1024} KiB`);
  const type = sniffImage(body);
  if (type === 'image/svg+xml') throw new UnsupportedMediaType('SVG logos are not accepted (they can carry script): send a PNG, JPEG or WebP image');
  if (!type) throw new UnsupportedMediaType('the logo must be a PNG, JPEG or WebP image');
  if (declared !== undefined && declared !== type) throw new UnsupportedMediaType(`the body is ${type}, not ${declared}`);
  return { sha256: createHash('sha256').update(body).digest('hex'), type };
}

/** Where Postern serves a client's logo: the hash in the path makes it cacheable for good. */
export function clientLogoPath(clientId: string, logo: ClientLogo): string {
  return `/client-logos/${encodeURIComponent(clientId)}/${logo.sha256}.${IMAGE_EXTENSIONS[logo.type]}`;
}
