import { errors } from 'oidc-provider';

/**
 * What `consume` throws when another request used the same code, refresh token or pushed request
 * first: the engine's own error for that endpoint, so the losing request gets the standard answer
 * (`invalid_grant` at the token endpoint, `invalid_request_uri` at the authorization endpoint).
 */
export function alreadyConsumed(model: string): Error {
  if (model === 'PushedAuthorizationRequest') return new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
  return new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
}
