import { createHmac, createSecretKey } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { readFormBody, replaceFormBody } from './engine-body.ts';
import { matchesEngineRoute } from './engine-path.ts';

/**
 * JWT access tokens (RFC 9068) are self-contained, so the engine stores nothing for them and its
 * introspection and revocation endpoints refuse them. Postern closes that gap with a shadow record:
 * when a JWT access token is minted, its payload is also stored under an id derived from its `jti`
 * with a server-side key, in the same model store an opaque token would use. In front of those two
 * endpoints a JWT whose signature verifies is replaced by its shadow id, and the engine then answers
 * exactly as for an opaque token: grant revoked, session ended or token revoked → inactive.
 * Knowing a token's `jti` alone does not give its shadow id.
 */
export interface JwtShadow {
  /** `formats.customizers.jwt` for the engine */
  customizer(ctx: KoaContextWithOIDC | undefined, token: ShadowableToken, jwt: { payload: Record<string, unknown> }): Promise<void>;
  /** Koa middleware for the introspection and revocation routes */
  middleware(routes: string[]): Middleware;
  /**
   * The id an access token is stored under: a JWT's shadow id when its signature verifies
   * (undefined when it does not), an opaque token's own value.
   */
  recordIdOf(token: string): Promise<string | undefined>;
}

interface ShadowableToken {
  jti: string;
  iat?: number;
  exp?: number;
  kind: string;
  constructor: { IN_PAYLOAD?: string[] };
  adapter: { upsert(id: string, payload: Record<string, unknown>, ttl: number): Promise<unknown> };
  [field: string]: unknown;
}

function looksLikeJwt(value: unknown): value is string {
  if (typeof value !== 'string' || value.split('.').length !== 3) return false;
  try {
    return Boolean(decodeProtectedHeader(value));
  } catch {
    return false;
  }
}

export function createJwtShadow(options: { issuer: string; hmacKey: Buffer; publicJwks: () => JWK[] }): JwtShadow {
  const secret = createSecretKey(options.hmacKey);
  const shadowId = (jti: string) => createHmac('sha256', secret).update(jti).digest('base64url');
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  let keySetSource: JWK[] | undefined;
  const currentKeySet = () => {
    const jwks = options.publicJwks();
    if (jwks !== keySetSource) {
      keySetSource = jwks;
      keySet = createLocalJWKSet({ keys: jwks });
    }
    return keySet!;
  };

  /** The verified token's own `jti`; undefined when the signature or issuer does not verify. */
  async function verifiedJti(token: string): Promise<string | undefined> {
    try {
      const { payload } = await jwtVerify(token, currentKeySet(), {
        issuer: options.issuer,
        typ: 'at+jwt',
        algorithms: ['RS256'],
        // expiry is judged by the engine on the shadow record, so an expired token reads inactive
        currentDate: new Date(0),
      });
      return typeof payload.jti === 'string' ? payload.jti : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    async recordIdOf(token) {
      if (!looksLikeJwt(token)) return token;
      const jti = await verifiedJti(token);
      return jti ? shadowId(jti) : undefined;
    },

    async customizer(_ctx, token, jwt) {
      const payload: Record<string, unknown> = {};
      for (const field of token.constructor.IN_PAYLOAD ?? []) {
        if (token[field] !== undefined) payload[field] = token[field];
      }
      payload.iat = jwt.payload.iat ?? token.iat;
      payload.exp = jwt.payload.exp ?? token.exp;
      // the shadow id is what the engine is handed at introspection and revocation, so it is the
      // record's own id (revocation deletes the record it found); the JWT's jti never is one
      const id = shadowId(token.jti);
      payload.jti = id;
      const ttl = Math.max(1, Number(payload.exp) - Math.floor(Date.now() / 1000));
      await token.adapter.upsert(id, payload, ttl);
    },

    middleware(routes) {
      const matchers = routes.map(matchesEngineRoute);
      return async (ctx, next) => {
        if (ctx.method !== 'POST' || !matchers.some((matches) => matches(ctx.path)) || !ctx.is('application/x-www-form-urlencoded')) return next();
        const form = await readFormBody(ctx);
        if (!looksLikeJwt(form.token)) {
          replaceFormBody(ctx, form);
          return next();
        }
        const jti = await verifiedJti(form.token);
        // an unverifiable JWT becomes an id that matches nothing: inactive, as RFC 7662 §2.2 asks
        form.token = jti ? shadowId(jti) : `unverifiable-${shadowId(form.token)}`;
        // it is an access token: spare the engine its refresh-token lookup in the durable tier
        form.token_type_hint = 'access_token';
        replaceFormBody(ctx, form);
        await next();
        // the engine names no jti for a token it was handed by its record's id; the JWT's own is this one
        const answer = ctx.body as { active?: unknown; jti?: unknown } | undefined;
        if (jti && answer?.active === true && answer.jti === undefined) answer.jti = jti;
      };
    },
  };
}
