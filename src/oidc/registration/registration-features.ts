import { randomBytes } from 'node:crypto';
import type { Configuration } from 'oidc-provider';
import type { ClientRegistrationMode } from '../../config.ts';

type Features = NonNullable<Configuration['features']>;

/**
 * The engine's dynamic client registration (RFC 7591) and management (RFC 7592) features for a
 * mode; off, neither the endpoints nor `registration_endpoint` in discovery exist.
 */
export function registrationFeatures(mode: ClientRegistrationMode): Pick<Features, 'registration' | 'registrationManagement'> {
  if (mode === 'off') return { registration: { enabled: false }, registrationManagement: { enabled: false } };
  return {
    registration: {
      enabled: true,
      initialAccessToken: mode === 'token',
      // hex, as for clients registered by operators: an id never starts with '-'
      idFactory: () => randomBytes(16).toString('hex'),
      secretFactory: () => randomBytes(32).toString('base64url'),
      issueRegistrationAccessToken: true,
    },
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
  };
}
