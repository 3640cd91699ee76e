import { errors } from 'oidc-provider';

/**
 * Thrown by `consume` when another request used the same code or refresh token first. It is the
 * engine's own `invalid_grant`, so the losing request gets the standard token-endpoint error.
 */
export class AlreadyConsumed extends errors.InvalidGrant {
  constructor(model: string) {
    super(`${model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
  }
}
