import type { Client, Configuration } from 'oidc-provider';
import type { ClientMetadataDocumentSettings } from '../../config.ts';
import { OPERATOR_ONLY_METADATA } from '../registration/registration-policy.ts';

type Features = NonNullable<Configuration['features']>;

/** Seconds a fetched document is kept: its Cache-Control max-age (or Expires), held within these. */
export const DOCUMENT_CACHE_SECONDS = { min: 60, max: 3600 } as const;

/** A matcher for the allowlist: exact host names, or `*.example.com` for any name below it. */
export function hostAllowlist(hosts: readonly string[]): (hostname: string) => boolean {
  const exact = new Set(hosts.filter((host) => !host.startsWith('*.')));
  const suffixes = hosts.filter((host) => host.startsWith('*.')).map((host) => host.slice(1));
  return (hostname) => {
    const name = hostname.toLowerCase();
    return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix) && name.length > suffix.length);
  };
}

/**
 * Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, the engine's
 * `clientIdMetadataDocument`): a client_id that is an https URL on an allowed host is fetched
 * (through the defended fetch) and used as the client's metadata. Such a client is public
 * (`none`; the engine refuses shared secrets there) and may not claim what only operators set.
 */
export function clientMetadataDocumentFeature(settings: Readonly<ClientMetadataDocumentSettings>): Pick<Features, 'clientIdMetadataDocument'> {
  if (!settings.enabled) return { clientIdMetadataDocument: { enabled: false } };
  const allowedHost = hostAllowlist(settings.hosts);
  return {
    clientIdMetadataDocument: {
      enabled: true,
      // the draft this engine version implements; a newer one makes startup fail until checked
      ack: 'draft-02',
      async allowFetch(_ctx, clientId) {
        return allowedHost(new URL(clientId).hostname);
      },
      async allowClient(_ctx, client: Client) {
        const metadata = client.metadata() as Record<string, unknown>;
        if (OPERATOR_ONLY_METADATA.some((property) => metadata[property] !== undefined)) return false;
        return client.tokenEndpointAuthMethod === 'none' && client.grantTypes!.every((grant) => grant === 'authorization_code' || grant === 'refresh_token');
      },
      cacheDuration: { ...DOCUMENT_CACHE_SECONDS },
    },
  } as Pick<Features, 'clientIdMetadataDocument'>;
}
