/**
 * The single module allowed to import oidc-provider's internals (files under its lib/ that the
 * package does not document). Checked against oidc-provider 9.13.3; an upgrade re-reads
 * lib/actions/grants/refresh_token.js and these helpers (see src/oidc/grants/refresh-token.ts).
 */
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import * as grantHelpers from 'oidc-provider/lib/helpers/grants.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

export {
  checkAccountMismatch,
  createAccessToken,
  issueIdToken,
  validateAccount,
} from 'oidc-provider/lib/helpers/grant_common.js';
export { default as revokeGrant } from 'oidc-provider/lib/helpers/revoke.js';
export { AbortedError, AlreadyUsedError, ExpiredError, NoCodeError, NotFoundError } from 'oidc-provider/lib/helpers/re_render_errors.js';
export type { DPoPProof } from 'oidc-provider/lib/helpers/grants.js';

type Helpers = typeof grantHelpers;
type WithoutProvider<F> = F extends (provider: Provider, ...rest: infer Rest) => infer Result ? (...rest: Rest) => Result : never;

/** The grant helpers the engine hands its own grant handlers, bound to one provider. */
export interface GrantHelpers {
  validateDpop: WithoutProvider<Helpers['validateDpop']>;
  checkDpopRequired: WithoutProvider<Helpers['checkDpopRequired']>;
  checkDpopReplay: WithoutProvider<Helpers['checkDpopReplay']>;
  validateGrant: WithoutProvider<Helpers['validateGrant']>;
  resolveAndApplyResource: WithoutProvider<Helpers['resolveAndApplyResource']>;
  applyAuthorizationDetails: WithoutProvider<Helpers['applyAuthorizationDetails']>;
  buildTokenResponse: WithoutProvider<Helpers['buildTokenResponse']>;
}

export function grantHelpersFor(provider: Provider): GrantHelpers {
  return {
    validateDpop: (...args) => grantHelpers.validateDpop(provider, ...args),
    checkDpopRequired: (...args) => grantHelpers.checkDpopRequired(provider, ...args),
    checkDpopReplay: (...args) => grantHelpers.checkDpopReplay(provider, ...args),
    validateGrant: (...args) => grantHelpers.validateGrant(provider, ...args),
    resolveAndApplyResource: (...args) => grantHelpers.resolveAndApplyResource(provider, ...args),
    applyAuthorizationDetails: (...args) => grantHelpers.applyAuthorizationDetails(provider, ...args),
    buildTokenResponse: (...args) => grantHelpers.buildTokenResponse(provider, ...args),
  };
}

/** The engine's own router (lib/helpers/initialize_app.js keeps it in the provider's internals). */
interface EngineRouter {
  match(method: string, path: string): unknown;
}

const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'] as const;

/** The methods the engine serves at `path`; empty when it is none of the engine's routes. */
export function engineRouteMethods(provider: Provider): (path: string) => string[] {
  const { router } = instance(provider) as { router: EngineRouter };
  return (path) => ROUTE_METHODS.filter((method) => router.match(method, path) !== undefined);
}

type GrantHandler = (ctx: KoaContextWithOIDC) => Promise<void>;

/**
 * Puts `wrap` around the handler the engine registered for `grantType` (lib/helpers/initialize_app.js
 * keeps them in grantTypeHandlers), keeping the engine's parameters; a no-op when it has none.
 */
export function wrapGrantHandler(provider: Provider, grantType: string, wrap: (handler: GrantHandler) => GrantHandler): void {
  const { grantTypeHandlers } = instance(provider) as { grantTypeHandlers: Map<string, GrantHandler> };
  const handler = grantTypeHandlers.get(grantType);
  if (handler) grantTypeHandlers.set(grantType, wrap(handler));
}
