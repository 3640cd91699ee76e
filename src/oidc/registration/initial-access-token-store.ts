import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { InitialAccessTokens } from '../../domain/initial-access-tokens.ts';

/**
 * The engine's InitialAccessToken model, read from Postern's own tokens (made by operators through
 * the CLI or admin API). Finding one spends one of its uses; a registration that is then refused
 * gives it back (registration-events.ts).
 */
export class InitialAccessTokenStore implements Adapter {
  readonly #tokens: InitialAccessTokens;

  constructor(tokens: InitialAccessTokens) {
    this.#tokens = tokens;
  }

  async find(value: string): Promise<AdapterPayload | undefined> {
    const token = await this.#tokens.spend(value);
    if (!token) return undefined;
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
