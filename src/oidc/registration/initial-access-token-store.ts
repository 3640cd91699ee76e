import { AsyncLocalStorage } from 'node:async_hooks';
import type { Middleware } from 'koa';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { InitialAccessTokens } from '../../domain/initial-access-tokens.ts';

/** The token value a registration request spent a use of, if any. */
const spentInRequest = new AsyncLocalStorage<{ value?: string }>();

/**
 * Around the registration endpoint: a registration that is refused after its initial access
 * token was found gives the use back, before the answer is sent.
 */
export function refundRefusedRegistrations(tokens: InitialAccessTokens, isRegistration: (method: string, path: string) => boolean): Middleware {
  return async (ctx, next) => {
    if (!isRegistration(ctx.method, ctx.path)) return next();
    const spent: { value?: string } = {};
    try {
      await spentInRequest.run(spent, next);
    } finally {
      if (spent.value !== undefined && ctx.status !== 201) await tokens.refund(spent.value);
    }
  };
}

/**
 * The engine's InitialAccessToken model, read from Postern's own tokens (made by operators through
 * the CLI or admin API). Finding one spends one of its uses; a registration that is then refused
 * gives it back (refundRefusedRegistrations).
 */
export class InitialAccessTokenStore implements Adapter {
  readonly #tokens: InitialAccessTokens;

  constructor(tokens: InitialAccessTokens) {
    this.#tokens = tokens;
  }

  async find(value: string): Promise<AdapterPayload | undefined> {
    const token = await this.#tokens.spend(value);
    if (!token) return undefined;
    const request = spentInRequest.getStore();
    if (request) request.value = value;
    return {
      jti: value,
      kind: 'InitialAccessToken',
      iat: Math.floor(token.createdAt.getTime() / 1000),
      exp: Math.floor(token.expiresAt.getTime() / 1000),
    };
  }

  async upsert(): Promise<never> {
    throw new TypeError('initial access tokens are made through the postern CLI or the admin API');
  }

  async findByUid() {
    return undefined;
  }

  async findByUserCode() {
    return undefined;
  }

  async consume() {}

  async destroy() {}

  async revokeByGrantId() {}
}
