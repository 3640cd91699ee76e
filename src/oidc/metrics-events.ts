import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { countTokenIssued } from '../metrics/index.ts';

/** Counts the engine's successful token responses by grant type (one of the grants it was configured with). */
export function countProviderEvents(provider: Provider): void {
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    countTokenIssued(String(ctx.oidc.params?.grant_type));
  });
}
