/**
 * Types for the few files of oidc-provider's lib/ that Postern imports directly (the engine's
 * package documents none of them). Only src/oidc/engine-internals.ts may import these modules.
 */
declare module 'oidc-provider/lib/helpers/grants.js' {
  import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

  type Grant = InstanceType<Provider['Grant']>;

  export interface DPoPProof {
    thumbprint: string;
    jti: string;
    iat: number;
  }

  export function validateDpop(provider: Provider, ctx: KoaContextWithOIDC): Promise<DPoPProof | undefined>;
  export function checkDpopRequired(provider: Provider, ctx: KoaContextWithOIDC, dPoP: DPoPProof | undefined): void;
  export function checkDpopReplay(provider: Provider, ctx: KoaContextWithOIDC, dPoP: DPoPProof | undefined, clientId: string, errorClass: new (description: string) => Error): Promise<void>;
  export function validateGrant(provider: Provider, ctx: KoaContextWithOIDC, grantId: string | undefined): Promise<Grant>;
  export function resolveAndApplyResource(provider: Provider, ctx: KoaContextWithOIDC, source: object, token: object, grant: Grant, scope: Set<string>): Promise<string | undefined>;
  export function applyAuthorizationDetails(provider: Provider, ctx: KoaContextWithOIDC, token: object, source: object): Promise<void>;
  export function buildTokenResponse(
    provider: Provider,
    parts: {
      accessToken: string;
      authorizationDetails?: unknown;
      expiresIn?: number;
      idToken?: string | undefined;
      refreshToken?: string | undefined;
      scope?: string | undefined;
      tokenType: string;
    },
  ): Record<string, unknown>;
}

declare module 'oidc-provider/lib/helpers/grant_common.js' {
  import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

  type Grant = InstanceType<Provider['Grant']>;
  type AccessToken = InstanceType<Provider['AccessToken']>;

  export interface EngineAccount {
    accountId: string;
  }

  export function validateAccount(provider: Provider, ctx: KoaContextWithOIDC, source: { accountId: string }, entityLabel: string): Promise<EngineAccount>;
  export function checkAccountMismatch(source: { accountId: string }, grant: Grant): void;
  export function createAccessToken(
    provider: Provider,
    ctx: KoaContextWithOIDC,
    source: { accountId: string; expiresWithSession?: boolean | undefined; grantId?: string | undefined; sessionUid?: string | undefined; sid?: string | undefined },
    gty: string | undefined,
  ): AccessToken;
  export function issueIdToken(provider: Provider, ctx: KoaContextWithOIDC, source: object, at: AccessToken, grant: Grant, scopeOverride?: Set<string>): Promise<string | undefined>;
}

declare module 'oidc-provider/lib/helpers/revoke.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';

  export default function revoke(ctx: KoaContextWithOIDC, grantId: string | undefined): Promise<void>;
}

declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  /** The engine's private state of a provider; only engine-internals.ts reads a named part of it. */
  export default function instance(provider: object): object;
}

declare module 'oidc-provider/lib/helpers/re_render_errors.js' {
  /** What the engine's user-code pages re-render for (shown through features.deviceFlow.userCodeInputSource). */
  export class ReRenderError extends Error {
    userCode?: string;
  }
  export class NotFoundError extends ReRenderError {}
  export class ExpiredError extends ReRenderError {}
  export class AbortedError extends ReRenderError {}
  export class AlreadyUsedError extends ReRenderError {}
  export class NoCodeError extends ReRenderError {}
}
