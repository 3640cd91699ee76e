import type { Adapter } from 'oidc-provider';
import type { Clients } from '../../domain/clients.ts';
import type { InitialAccessTokens } from '../../domain/initial-access-tokens.ts';
import { InitialAccessTokenStore } from '../registration/initial-access-token-store.ts';
import type { RegistrationPolicy } from '../registration/registration-policy.ts';
import type { Database } from '../../store/db.ts';
import type { KvStore } from '../../store/kv/index.ts';
import { CACHED_MODELS, type RecordCache } from '../../store/record-cache.ts';
import { CachedSqlModelStore } from './cached-sql-model-store.ts';
import { ClientStore } from './client-store.ts';
import { HashedTokenStore } from './hashed-token-store.ts';
import { KvModelStore } from './kv-model-store.ts';
import { tierOf } from './model-tiers.ts';
import { SqlModelStore } from './sql-model-store.ts';
import { HASHED_MODELS, type TokenIds } from './token-ids.ts';
import { UnavailableGuard } from './unavailable-guard.ts';

export interface AdapterStorage {
  db: Database;
  kv: KvStore;
  recordCache: RecordCache;
  clients: Clients;
  /** the issuer, for the URLs of the client logos Postern serves */
  issuer: string;
  tokenIds: TokenIds;
  /** while true, ephemeral tokens written before values were hashed are still found (see HashedTokenStore) */
  ephemeralLegacyReads?: () => boolean;
  /** dynamic client registration: what a registration may ask for (absent: registration is off) */
  registration?: RegistrationPolicy | undefined;
  initialAccessTokens?: InitialAccessTokens | undefined;
}

/**
 * The engine asks for one adapter per model name; each goes to its tier (DESIGN.md), token models
 * under the keyed hash of their values, all behind the guard that answers 503 for an outage.
 */
export function createAdapterFactory(storage: AdapterStorage): (model: string) => Adapter {
  return (model) => {
    // Postern's own initial access tokens, kept hashed by the domain (initial-access-tokens.ts)
    if (model === 'InitialAccessToken' && storage.initialAccessTokens) return new UnavailableGuard(new InitialAccessTokenStore(storage.initialAccessTokens));
    const store = storeFor(model, storage);
    if (!HASHED_MODELS.has(model)) return new UnavailableGuard(store);
    const legacyReads = tierOf(model) === 'ephemeral' ? storage.ephemeralLegacyReads : undefined;
    return new UnavailableGuard(new HashedTokenStore(store, storage.tokenIds, legacyReads));
  };
}

function storeFor(model: string, storage: AdapterStorage): Adapter {
  if (model === 'Client') return new ClientStore(storage.clients, storage.issuer, storage.registration);
  if (tierOf(model) === 'ephemeral') return new KvModelStore(storage.kv, model);
  const store = new SqlModelStore(storage.db, model);
  return CACHED_MODELS.has(model) ? new CachedSqlModelStore(store, storage.recordCache, model) : store;
}
