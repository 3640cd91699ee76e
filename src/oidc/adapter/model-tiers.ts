/**
 * Which oidc-provider model lives in which storage tier (see DESIGN.md, "Two storage tiers").
 * Losing the ephemeral tier may sign people out; it never loses a grant or a refresh token.
 */
export const DURABLE_MODELS: ReadonlySet<string> = new Set([
  'Grant',
  'RefreshToken',
  'Session',
  'RegistrationAccessToken',
  'InitialAccessToken',
]);

/**
 * Grant sources that must be used exactly once: of two concurrent `consume` calls, the loser
 * is refused. A pushed request is one too: two tabs presenting it at once must not get two codes.
 */
export const CONTESTED_MODELS: ReadonlySet<string> = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
  'PushedAuthorizationRequest',
]);

export function tierOf(model: string): 'durable' | 'ephemeral' {
  return DURABLE_MODELS.has(model) ? 'durable' : 'ephemeral';
}
