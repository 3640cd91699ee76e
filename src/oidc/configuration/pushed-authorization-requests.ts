import type { Configuration } from 'oidc-provider';

type ParFeature = NonNullable<NonNullable<Configuration['features']>['pushedAuthorizationRequests']>;

/**
 * Pushed Authorization Requests (RFC 9126): the client posts its request, authenticated, to
 * /request and sends the browser with the `request_uri` it gets back (once, within a minute).
 * Required of every client with `required` (POSTERN_REQUIRE_PAR), else of the clients whose
 * metadata says `require_pushed_authorization_requests`. A pushed request still names a
 * registered redirect URI.
 */
export function pushedAuthorizationRequestsConfiguration(required: boolean): ParFeature {
  return { enabled: true, requirePushedAuthorizationRequests: required, allowUnregisteredRedirectUris: false };
}
