import { errors } from 'oidc-provider';
import type { ClientRegistrationSettings } from '../../config.ts';
import { GRANT_TYPES, type DynamicRegistration, type GrantType, type NewClient } from '../../domain/clients.ts';
import { SCOPE_ALLOWANCE } from '../configuration/client-scope-allowance.ts';
import { TOKEN_EXCHANGE_AUDIENCES } from '../configuration/token-exchange-policy.ts';
import { isNativeRedirectUri, redirectUriPattern } from './redirect-policy.ts';

/** Client metadata properties only an operator sets: a registration that names them is refused. */
export const OPERATOR_ONLY_METADATA = ['first_party', 'pkce_policy', SCOPE_ALLOWANCE, TOKEN_EXCHANGE_AUDIENCES] as const;

const AUTH_METHODS = new Set(['none', 'client_secret_basic', 'client_secret_post']);

/** What the registration policy decided a registration becomes. */
export interface RegisteredClient {
  client: NewClient;
  applicationType: 'web' | 'native';
  clientSecret: string | undefined;
}

export interface RegistrationPolicy {
  /** checks engine-validated metadata (RFC 7591) against the settings; throws the engine's errors */
  check(metadata: Record<string, unknown>): RegisteredClient;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

export function registrationPolicy(settings: Readonly<ClientRegistrationSettings>): RegistrationPolicy {
  const patterns = settings.redirectUriPatterns.map(redirectUriPattern);
  const allowedGrants = new Set<string>(settings.grantTypes);
  const allowedScopes = new Set(settings.scopes);
  const openNative = settings.mode === 'open-native';

  const checkRedirects = (uris: string[], field: string) => {
    for (const uri of uris) {
      if (openNative && !isNativeRedirectUri(uri)) {
        throw new errors.InvalidRedirectUri(`${field}: open registration allows loopback (http://127.0.0.1, http://[::1], http://localhost) and private-use scheme URIs only`);
      }
      if (patterns.length > 0 && !patterns.some((matches) => matches(uri))) {
        throw new errors.InvalidRedirectUri(`${field}: ${uri} is not allowed for registered clients`);
      }
    }
  };

  return {
    check(metadata) {
      const authMethod = String(metadata.token_endpoint_auth_method ?? '');
      if (!AUTH_METHODS.has(authMethod)) throw new errors.InvalidClientMetadata(`token_endpoint_auth_method must be one of ${[...AUTH_METHODS].join(', ')}`);
      if (openNative && authMethod !== 'none') throw new errors.InvalidClientMetadata('open registration is for public clients: token_endpoint_auth_method must be none');
      const grantTypes = strings(metadata.grant_types);
      for (const grantType of grantTypes) {
        if (!allowedGrants.has(grantType) || !(GRANT_TYPES as readonly string[]).includes(grantType)) {
          throw new errors.InvalidClientMetadata(`grant type ${grantType} is not allowed for registered clients (allowed: ${settings.grantTypes.join(', ')})`);
        }
      }
      const redirectUris = strings(metadata.redirect_uris);
      const postLogoutRedirectUris = strings(metadata.post_logout_redirect_uris);
      checkRedirects(redirectUris, 'redirect_uris');
      checkRedirects(postLogoutRedirectUris, 'post_logout_redirect_uris');
      // the whole allowance: API scopes travel beside the engine's `scope` (see registration-body.ts)
      const requested = String(metadata[SCOPE_ALLOWANCE] ?? metadata.scope ?? '').split(' ').filter(Boolean);
      for (const scope of requested) {
        if (!allowedScopes.has(scope)) throw new errors.InvalidClientMetadata(`scope ${scope} is not allowed for registered clients`);
      }
      const applicationType = metadata.application_type === 'native' ? 'native' : 'web';
      if (openNative && applicationType !== 'native') throw new errors.InvalidClientMetadata('open registration is for native applications');
      const clientSecret = typeof metadata.client_secret === 'string' ? metadata.client_secret : undefined;
      const name = typeof metadata.client_name === 'string' && metadata.client_name.trim() ? metadata.client_name.trim().slice(0, 200) : 'Registered client';
      return {
        client: {
          name,
          type: authMethod === 'none' ? 'public' : 'confidential',
          redirectUris,
          postLogoutRedirectUris,
          grantTypes: grantTypes as GrantType[],
          scopes: requested.length > 0 ? requested : settings.scopes,
          ...(authMethod !== 'none' ? { tokenEndpointAuthMethod: authMethod as 'client_secret_basic' | 'client_secret_post' } : {}),
          // what a client may ask of itself (RFC 9449 §5.2, RFC 9126 §6): only ever stricter
          dpopBoundAccessTokens: metadata.dpop_bound_access_tokens === true,
          requirePushedAuthorizationRequests: metadata.require_pushed_authorization_requests === true,
        },
        applicationType,
        clientSecret: authMethod === 'none' ? undefined : clientSecret,
      };
    },
  };
}

/** The registration the domain stores, for a client id the engine made. */
export function dynamicRegistration(clientId: string, registered: RegisteredClient): DynamicRegistration {
  return { clientId, clientSecret: registered.clientSecret, applicationType: registered.applicationType };
}
