import type { Config } from './config.ts';
import { Accounts } from './domain/accounts.ts';
import { AuditLog } from './domain/audit.ts';
import { LoginThrottle } from './domain/login-throttle.ts';
import { LogoutDeliveries } from './domain/logout-deliveries.ts';
import { Passkeys } from './domain/passkeys.ts';
import { RecoveryCodes } from './domain/recovery-codes.ts';
import { Totp } from './domain/totp.ts';
import { TrustedDevices } from './domain/trusted-devices.ts';
import { Clients } from './domain/clients.ts';
import { InitialAccessTokens } from './domain/initial-access-tokens.ts';
import { PasswordPolicy } from './domain/password-policy.ts';
import { createPasswordHasher } from './domain/passwords.ts';
import { ResourceServers } from './domain/resource-servers.ts';
import { Roles } from './domain/roles.ts';
import { SigningKeys, type RotationPolicy } from './domain/signing-keys.ts';
import { assertReachable, closeDatabase, createDatabase, databaseTarget, type Database } from './store/db.ts';
import { createEnvelope, type SecretEnvelope } from './store/envelope.ts';
import { createKv, type KvStore } from './store/kv/index.ts';
import { loadDerivationRoot } from './store/derivation-root.ts';
import { loadMasterKey, loadPreviousMasterKey, type MasterKeySource } from './store/master-key.ts';
import { migrateToLatest } from './store/migrate.ts';
import { ProcessCaches } from './store/process-caches.ts';
import { RecordCache } from './store/record-cache.ts';

export interface Storage {
  db: Database;
  kv: KvStore;
  /** shared cache of grants, sessions and accounts, in the ephemeral tier */
  recordCache: RecordCache;
  /**
   * this process's caches of client and API registrations, kept coherent through the ephemeral
   * tier's pub/sub; they serve entries once `listen()` is called (servers do, the CLI does not)
   */
  processCaches: ProcessCaches;
  envelope: SecretEnvelope;
  masterKeyOrigin: MasterKeySource['origin'];
  /** while the master key is replaced: the previous one still opens, and what derived keys come from */
  masterKeyRotation: { previous: boolean; derivationRoot: Buffer };
  close(): Promise<void>;
}

export interface Services {
  accounts: Accounts;
  clients: Clients;
  resourceServers: ResourceServers;
  roles: Roles;
  signingKeys: SigningKeys;
  audit: AuditLog;
  throttle: LoginThrottle;
  trustedDevices: TrustedDevices;
  totp: Totp;
  recoveryCodes: RecoveryCodes;
  /** WebAuthn credentials; relying-party id and origin from the issuer */
  passkeys: Passkeys;
  /** Back-Channel Logout notices still to deliver, and what became of the others */
  logoutDeliveries: LogoutDeliveries;
  /** tokens operators hand out for dynamic client registration (RFC 7591 §3) */
  initialAccessTokens: InitialAccessTokens;
}

/** Opens both tiers and the master key, and brings the schema up to date. */
export async function openStorage(config: Readonly<Config>, options: { kv?: boolean } = {}): Promise<Storage> {
  const masterKey = await loadMasterKey(config);
  const previousMasterKey = await loadPreviousMasterKey(config);
  const target = databaseTarget(config);
  const db = createDatabase(target, { timeoutMs: config.resilience.storageTimeoutMs });
  let derivationRoot: Buffer;
  try {
    await assertReachable(db, target);
    await migrateToLatest(db);
    derivationRoot = await loadDerivationRoot(db, { master: masterKey.key, previous: previousMasterKey });
  } catch (error) {
    await closeDatabase(db);
    throw error;
  }
  let kv: KvStore;
  try {
    kv = await createKv({
      redis: options.kv === false ? undefined : config.redis,
      redisPrefix: config.redisPrefix,
      storageTimeoutMs: config.resilience.storageTimeoutMs,
    });
  } catch (error) {
    await closeDatabase(db);
    throw error;
  }
  return {
    db,
    kv,
    recordCache: new RecordCache(kv, config.recordCacheTtlSeconds),
    processCaches: new ProcessCaches(kv),
    envelope: createEnvelope(masterKey.key, { previous: previousMasterKey, derivationRoot }),
    masterKeyOrigin: masterKey.origin,
    masterKeyRotation: { previous: previousMasterKey !== undefined, derivationRoot },
    async close() {
      await kv.close();
      await closeDatabase(db);
    },
  };
}

/**
 * When signing keys move: a next key signs only once every relying party caching the JWKS can
 * know it, and a previous key leaves the JWKS only once every token it signed has expired. Either
 * way every instance may take up to one check interval to act on a change it did not hear of.
 */
function rotationPolicy(config: Readonly<Config>, resourceServers: ResourceServers): RotationPolicy {
  const { rotationIntervalSeconds, checkIntervalSeconds, jwksMaxAgeSeconds } = config.signingKeys;
  const { accessToken, idToken, clientCredentials } = config.ttl;
  return {
    intervalSeconds: rotationIntervalSeconds,
    publishLeadSeconds: jwksMaxAgeSeconds + checkIntervalSeconds,
    async keepPreviousSeconds() {
      const apiLifetimes = (await resourceServers.list()).map((api) => api.accessTokenTtl ?? 0);
      return Math.max(accessToken, idToken, clientCredentials, ...apiLifetimes) + checkIntervalSeconds;
    },
  };
}

export async function createServices(config: Readonly<Config>, storage: Storage): Promise<Services> {
  const passwords = await createPasswordHasher(config.argon2);
  const resourceServers = new ResourceServers(storage.db, { cacheTtlMs: config.cacheTtlSeconds * 1000, processCaches: storage.processCaches, records: storage.recordCache });
  const audit = new AuditLog(storage.db);
  const logoutDeliveries = new LogoutDeliveries(storage.db);
  return {
    accounts: new Accounts(storage.db, passwords, storage.recordCache, new PasswordPolicy({ minLength: config.security.passwordMinLength }), logoutDeliveries),
    clients: new Clients(storage.db, storage.envelope, { cacheTtlMs: config.cacheTtlSeconds * 1000, records: storage.recordCache, processCaches: storage.processCaches }),
    resourceServers,
    roles: new Roles(storage.db, storage.recordCache),
    signingKeys: new SigningKeys({ db: storage.db, envelope: storage.envelope, audit, processCaches: storage.processCaches, policy: rotationPolicy(config, resourceServers) }),
    audit,
    throttle: new LoginThrottle(storage.kv, config.security.lockout),
    trustedDevices: new TrustedDevices(storage.db),
    totp: new Totp({ db: storage.db, kv: storage.kv, envelope: storage.envelope, issuer: config.security.totpIssuer }),
    recoveryCodes: new RecoveryCodes({ db: storage.db, hashKey: storage.envelope.derive('recovery-codes') }),
    passkeys: new Passkeys(storage.db, storage.kv, {
      rpId: new URL(config.issuer).hostname,
      origin: new URL(config.issuer).origin,
      userVerification: config.security.passkeyUserVerification,
    }),
    logoutDeliveries,
    initialAccessTokens: new InitialAccessTokens(storage.db),
  };
}
