import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clients } from '../../domain/clients.ts';
import { engineClientMetadata } from '../configuration/client-scope-allowance.ts';

/** Clients are registered through the CLI and admin API; the engine only reads them. */
export class ClientStore implements Adapter {
  readonly #clients: Clients;

  constructor(clients: Clients) {
    this.#clients = clients;
  }

  async find(id: string) {
    const metadata = await this.#clients.metadataFor(id);
    return (metadata && engineClientMetadata(metadata)) as AdapterPayload | undefined;
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
