import type { Config } from './config.ts';
import { Accounts } from './domain/accounts.ts';
import { AuditLog } from './domain/audit.ts';
import { LoginThrottle } from './domain/login-throttle.ts';
import { LogoutDeliveries } from './domain/logout-deliveries.ts';
import { RecoveryCodes } from './domain/recovery-codes.ts';
import { Totp } from './domain/totp.ts';
import { TrustedDevices } from './domain/trusted-devices.ts';
import { Clients } from './domain/clients.ts';
import { PasswordPolicy } from './domain/password-policy.ts';
import { createPasswordHasher } from './domain/passwords.ts';
import { ResourceServers } from './domain/resource-servers.ts';
import { Roles } from './domain/roles.ts';
import { SigningKeys } from './domain/signing-keys.ts';
import { assertReachable, closeDatabase, createDatabase, databaseTarget, type Database } from './store/db.ts';
import { createEnvelope, type SecretEnvelope } from './store/envelope.ts';
import { createKv, type KvStore } from './store/kv/index.ts';
import { loadMasterKey, type MasterKeySource } from './store/master-key.ts';
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
  /** Back-Channel Logout notices still to deliver, and what became of the others */
  logoutDeliveries: LogoutDeliveries;
}

/** Opens both tiers and the master key, and brings the schema up to date. */
export async function openStorage(config: Readonly<Config>, options: { kv?: boolean } = {}): Promise<Storage> {
  const masterKey = await loadMasterKey(config);
  const target = databaseTarget(config);
  const db = createDatabase(target, { timeoutMs: config.resilience.storageTimeoutMs });
  try {
    await assertReachable(db, target);
    await migrateToLatest(db);
  } catch (error) {
    await closeDatabase(db);
    throw error;
  }
  let kv: KvStore;
  try {
    kv = await createKv({
      redisUrl: options.kv === false ? undefined : config.redisUrl,
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
    envelope: createEnvelope(masterKey.key),
    masterKeyOrigin: masterKey.origin,
    async close() {
      await kv.close();
      await closeDatabase(db);
    },
  };
}

export async function createServices(config: Readonly<Config>, storage: Storage): Promise<Services> {
  const passwords = await createPasswordHasher(config.argon2);
  const logoutDeliveries = new LogoutDeliveries(storage.db);
  return {
    accounts: new Accounts(storage.db, passwords, storage.recordCache, new PasswordPolicy({ minLength: config.security.passwordMinLength }), logoutDeliveries),
    clients: new Clients(storage.db, storage.envelope, { cacheTtlMs: config.cacheTtlSeconds * 1000, records: storage.recordCache, processCaches: storage.processCaches }),
    resourceServers: new ResourceServers(storage.db, { cacheTtlMs: config.cacheTtlSeconds * 1000, processCaches: storage.processCaches, records: storage.recordCache }),
    roles: new Roles(storage.db, storage.recordCache),
    signingKeys: new SigningKeys(storage.db, storage.envelope),
    audit: new AuditLog(storage.db),
    throttle: new LoginThrottle(storage.kv, config.security.lockout),
    trustedDevices: new TrustedDevices(storage.db),
    totp: new Totp({ db: storage.db, kv: storage.kv, envelope: storage.envelope, issuer: config.security.totpIssuer }),
    recoveryCodes: new RecoveryCodes({ db: storage.db, hashKey: storage.envelope.derive('recovery-codes') }),
    logoutDeliveries,
  };
}
