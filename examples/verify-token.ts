/**
 * Verifies a JWT issued by Postern (an ID token or an RFC 9068 access token) against the
 * issuer's JWKS, as a resource server would, and prints its header and claims:
 *
 *   ISSUER=http://localhost:3000 npx node examples/verify-token.ts eyJhbGciOi…
 *
 * AUDIENCE, when set, must match the token's `aud` (the API identifier, or a client_id for an ID token).
 */
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

const ISSUER = (process.env.ISSUER ?? 'http://localhost:3000').replace(/\/+$/, '');
const AUDIENCE = process.env.AUDIENCE || undefined;
const token = process.argv[2];

if (!token) {
  process.stderr.write('usage: npx node examples/verify-token.ts JWT   (environment: ISSUER, AUDIENCE)\n');
  process.exit(2);
}

let issuer: string;
let jwksUri: string;
try {
  const discovery = await fetch(`${ISSUER}/.well-known/openid-configuration`);
  if (!discovery.ok) throw new Error(`discovery answered ${discovery.status}`);
  ({ issuer, jwks_uri: jwksUri } = (await discovery.json()) as { issuer: string; jwks_uri: string });
} catch (error) {
  process.stderr.write(`verify-token: cannot discover ${ISSUER}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

try {
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUri)), {
    issuer,
    audience: AUDIENCE,
    algorithms: ['RS256'],
  });
  process.stdout.write(`${JSON.stringify({ header: protectedHeader, payload }, null, 2)}\n`);
  const expiry = payload.exp === undefined ? 'never expires' : `expires ${new Date(payload.exp * 1000).toISOString()}`;
  process.stderr.write(`valid: signed by key ${protectedHeader.kid} from ${jwksUri}; ${expiry}\n`);
} catch (error) {
  const reason = error instanceof errors.JOSEError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`verify-token: invalid token: ${reason}\n`);
  process.exit(1);
}
