import type { Adapter } from 'oidc-provider';
import type { Clients } from '../../domain/clients.ts';
import type { Database } from '../../store/db.ts';
import type { KvStore } from '../../store/kv/index.ts';
import { CACHED_MODELS, type RecordCache } from '../../store/record-cache.ts';
import { CachedSqlModelStore } from './cached-sql-model-store.ts';
import { ClientStore } from './client-store.ts';
import { KvModelStore } from './kv-model-store.ts';
import { tierOf } from './model-tiers.ts';
import { SqlModelStore } from './sql-model-store.ts';
import { UnavailableGuard } from './unavailable-guard.ts';

export interface AdapterStorage {
  db: Database;
  kv: KvStore;
  recordCache: RecordCache;
  clients: Clients;
}

/** The engine asks for one adapter per model name; each goes to its tier (DESIGN.md). */
export function createAdapterFactory(storage: AdapterStorage): (model: string) => Adapter {
  return (model) => new UnavailableGuard(storeFor(model, storage));
}

function storeFor(model: string, storage: AdapterStorage): Adapter {
  if (model === 'Client') return new ClientStore(storage.clients);
  if (tierOf(model) === 'ephemeral') return new KvModelStore(storage.kv, model);
  const store = new SqlModelStore(storage.db, model);
  return CACHED_MODELS.has(model) ? new CachedSqlModelStore(store, storage.recordCache, model) : store;
}
