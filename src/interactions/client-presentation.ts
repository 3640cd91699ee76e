import type { Client } from 'oidc-provider';
import { checkedLink } from '../domain/client-presentation.ts';

/** How an application presents itself on the sign-in and consent pages. */
export interface ClientPresentation {
  /** a path on Postern's own origin; never another origin's image */
  logoUrl?: string | undefined;
  homeUrl?: string | undefined;
  policyUrl?: string | undefined;
  termsUrl?: string | undefined;
}

function link(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return checkedLink(value, field);
  } catch {
    return undefined;
  }
}

/**
 * What the pages show of a client: its links when they are https (http on loopback only), and
 * its logo only when it is the copy Postern serves — a logo_uri naming any other place is dropped.
 */
export function presentationOf(client: Client | undefined, issuer: string): ClientPresentation {
  if (!client) return {};
  const metadata = client.metadata();
  const logo = typeof metadata.logo_uri === 'string' && metadata.logo_uri.startsWith(`${issuer}/client-logos/`) ? metadata.logo_uri.slice(issuer.length) : undefined;
  return {
    logoUrl: logo,
    homeUrl: link(metadata.client_uri, 'client_uri'),
    policyUrl: link(metadata.policy_uri, 'policy_uri'),
    termsUrl: link(metadata.tos_uri, 'tos_uri'),
  };
}
