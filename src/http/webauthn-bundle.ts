import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The browser half of @simplewebauthn as one minified UMD file (it defines `SimpleWebAuthnBrowser`),
 * served from Postern's own origin. The package exports only its module entry, so the bundle is
 * found beside it.
 */
export const WEBAUTHN_BROWSER_BUNDLE = join(dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js');
