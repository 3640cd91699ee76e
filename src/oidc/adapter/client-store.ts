import type { Adapter, AdapterPayload } from 'oidc-provider';
import { clientLogoPath } from '../../domain/client-presentation.ts';
import type { Clients } from '../../domain/clients.ts';
import { engineClientMetadata } from '../configuration/client-scope-allowance.ts';

/** Clients are registered through the CLI and admin API; the engine only reads them. */
export class ClientStore implements Adapter {
  readonly #clients: Clients;
  readonly #issuer: string;

  constructor(clients: Clients, issuer: string) {
    this.#clients = clients;
    this.#issuer = issuer;
  }

  async find(id: string) {
    const metadata = await this.#clients.metadataFor(id);
    if (!metadata) return undefined;
    // logo_uri is only ever the copy Postern stores and serves
    const { logo, ...rest } = metadata;
    return { ...engineClientMetadata(rest), ...(logo ? { logo_uri: `${this.#issuer}${clientLogoPath(id, logo)}` } : {}) } as AdapterPayload;
  }

  async upsert(): Promise<never> {
    throw new TypeError('clients are registered through the postern CLI or the admin API');
  }

  async findByUid() {
    return undefined;
  }

  async findByUserCode() {
    return undefined;
  }

  async consume() {}

  async destroy() {}

  async revokeByGrantId() {}
}
