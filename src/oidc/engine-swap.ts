import type { JWK } from 'jose';
import type { Middleware } from 'koa';
import mount from 'koa-mount';
import type { Provider } from 'oidc-provider';

/** The public members of a private RSA JWK: what the JWKS publishes. */
export function publicJwkOf({ kty, n, e, kid, alg, use }: JWK): JWK {
  return { kty, n, e, kid, alg, use };
}

/**
 * The protocol engine the app dispatches to, replaceable while the app runs. oidc-provider reads
 * its keys only when it is constructed, so a change of signing keys builds a new Provider and
 * swaps it in here; each request is handed to the engine current when it arrives and finishes on
 * it, so nothing in flight is dropped. Engines share the adapter, so whatever one stored (codes,
 * sessions, grants) the next one finds.
 */
export class SwappableEngine {
  #provider: Provider;
  #dispatch: Middleware;
  #publicJwks: JWK[];

  constructor(provider: Provider, jwks: readonly JWK[]) {
    this.#provider = provider;
    this.#dispatch = mount(provider);
    this.#publicJwks = jwks.map(publicJwkOf);
  }

  /** the engine new requests go to */
  get provider(): Provider {
    return this.#provider;
  }

  /** the keys it publishes, signing key first */
  get publicJwks(): JWK[] {
    return this.#publicJwks;
  }

  /** its keys' ids in the engine's order, to tell whether a key set differs */
  get keyIds(): string {
    return this.#publicJwks.map((jwk) => jwk.kid).join(' ');
  }

  swap(provider: Provider, jwks: readonly JWK[]): void {
    this.#dispatch = mount(provider);
    this.#provider = provider;
    this.#publicJwks = jwks.map(publicJwkOf);
  }

  /** Koa middleware handing each request to the engine current at its arrival. */
  middleware(): Middleware {
    return (ctx, next) => this.#dispatch(ctx, next);
  }
}
