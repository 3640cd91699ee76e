import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { clientLogoPath } from '../../domain/client-presentation.ts';
import type { Clients } from '../../domain/clients.ts';
import { DomainError, NotFound } from '../../domain/errors.ts';
import { engineClientMetadata } from '../configuration/client-scope-allowance.ts';
import { dynamicRegistration, type RegistrationPolicy } from '../registration/registration-policy.ts';

/**
 * Clients are registered through the CLI and admin API, and (when dynamic registration is on)
 * by applications themselves at the registration endpoint: the engine writes those here, after
 * Postern's registration policy.
 */
export class ClientStore implements Adapter {
  readonly #clients: Clients;
  readonly #issuer: string;
  readonly #registration: RegistrationPolicy | undefined;

  constructor(clients: Clients, issuer: string, registration?: RegistrationPolicy) {
    this.#clients = clients;
    this.#issuer = issuer;
    this.#registration = registration;
  }

  async find(id: string) {
    const metadata = await this.#clients.metadataFor(id);
    if (!metadata) return undefined;
    // logo_uri is only ever the copy Postern stores and serves
    const { logo, ...rest } = metadata;
    return { ...engineClientMetadata(rest), ...(logo ? { logo_uri: `${this.#issuer}${clientLogoPath(id, logo)}` } : {}) } as AdapterPayload;
  }

  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    if (!this.#registration) throw new TypeError('clients are registered through the postern CLI or the admin API');
    const registered = this.#registration.check(payload as Record<string, unknown>);
    try {
      const existing = await this.#clients.metadataFor(id);
      if (!existing) {
        await this.#clients.create(registered.client, dynamicRegistration(id, registered));
        return;
      }
      const { client } = registered;
      await this.#clients.update(
        id,
        {
          name: client.name,
          redirectUris: client.redirectUris,
          postLogoutRedirectUris: client.postLogoutRedirectUris,
          grantTypes: client.grantTypes,
          scopes: client.scopes,
          dpopBoundAccessTokens: client.dpopBoundAccessTokens,
          requirePushedAuthorizationRequests: client.requirePushedAuthorizationRequests,
          applicationType: registered.applicationType,
        },
        (current) => {
          if (!current.dynamic) throw new errors.InvalidRequest('this client is managed by the operator', 403);
          if (current.tokenEndpointAuthMethod !== (client.tokenEndpointAuthMethod ?? 'none')) throw new errors.InvalidClientMetadata('token_endpoint_auth_method cannot change');
        },
      );
    } catch (error) {
      // the engine renders its own errors only; Postern's refusals of the metadata become its invalid_client_metadata
      if (error instanceof DomainError && error.expose) throw new errors.InvalidClientMetadata(error.message);
      throw error;
    }
  }

  async findByUid() {
    return undefined;
  }

  async findByUserCode() {
    return undefined;
  }

  async consume() {}

  /** The registration management endpoint (RFC 7592 §2.3) removes a dynamically registered client. */
  async destroy(id: string): Promise<void> {
    const client = await this.#clients.get(id).catch((error: unknown) => {
      if (error instanceof NotFound) return undefined;
      throw error;
    });
    if (!client) return;
    if (!client.dynamic) throw new errors.InvalidRequest('this client is managed by the operator', 403);
    await this.#clients.delete(id);
  }

  async revokeByGrantId() {}
}
