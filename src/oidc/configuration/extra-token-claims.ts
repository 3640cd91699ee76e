import type { Configuration } from 'oidc-provider';

export type ExtraTokenClaims = NonNullable<Configuration['extraTokenClaims']>;

/** One `extraTokenClaims` for the engine from several, each adding its own claims. */
export function allExtraTokenClaims(...sources: ExtraTokenClaims[]): ExtraTokenClaims {
  return async (ctx, token) => {
    const parts = await Promise.all(sources.map((source) => source(ctx, token)));
    const merged: Record<string, unknown> = Object.assign({}, ...parts.filter((part) => part !== undefined));
    return Object.keys(merged).length > 0 ? merged : undefined;
  };
}
