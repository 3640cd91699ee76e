import type { Provider } from 'oidc-provider';
import { predatesSignOut, type Accounts } from '../domain/accounts.ts';
import type { EndedSession, LogoutDeliveries, LogoutReason } from '../domain/logout-deliveries.ts';
import type { Database } from '../store/db.ts';

export interface SessionView {
  uid: string;
  /** when the user signed in (the session's login time) */
  startedAt: Date;
  lastSeenAt: Date | undefined;
  userAgent: string | undefined;
  ip: string | undefined;
  acr: string | undefined;
  amr: string[];
  /** client ids of the applications signed in through this session */
  clientIds: string[];
}

export interface GrantView {
  grantId: string;
  clientId: string;
  /** OpenID scopes and, per API, its scopes */
  scopes: string[];
  apis: Array<{ resource: string; scopes: string[] }>;
  grantedAt: Date;
}

interface SessionPayload {
  uid: string;
  accountId: string;
  loginTs?: number;
  acr?: string;
  amr?: string[];
  authorizations?: Record<string, { grantId?: string; sid?: string }>;
}

interface GrantPayload {
  accountId: string;
  clientId: string;
  iat?: number;
  openid?: { scope?: string };
  resources?: Record<string, string>;
}

interface DeviceRow {
  session_uid: string;
  user_agent: string | null;
  ip: string | null;
  last_seen_at: Date | string;
}

/**
 * A user's browser sessions and the applications they granted access, as the account pages show
 * them, and the ways to end them. Ends go through the engine's models, so the shared cache and
 * every token issued under a grant follow; each application a session signed in that registered
 * a Back-Channel Logout URI is queued a logout notice first (LogoutDeliveries).
 */
export class AccountSessions {
  readonly #db: Database;
  readonly #provider: () => Provider;
  readonly #accounts: Accounts;
  readonly #logouts: LogoutDeliveries;

  constructor(db: Database, provider: () => Provider, accounts: Accounts, logouts: LogoutDeliveries) {
    this.#db = db;
    this.#provider = provider;
    this.#accounts = accounts;
    this.#logouts = logouts;
  }

  /** Called on every authorization through a session: remembers the browser and when it was last seen. */
  async recordDevice(sessionUid: string, accountId: string, ip: string, userAgent: string | undefined): Promise<void> {
    const now = new Date();
    await this.#db('session_devices')
      .insert({ session_uid: sessionUid, account_id: accountId, ip, user_agent: userAgent?.slice(0, 512) ?? null, started_at: now, last_seen_at: now })
      .onConflict('session_uid')
      .merge({ account_id: accountId, ip, user_agent: userAgent?.slice(0, 512) ?? null, last_seen_at: now });
  }

  async list(accountId: string): Promise<SessionView[]> {
    const rows = await this.#db('oidc_payloads')
      .where('model', 'Session')
      .whereRaw("payload->>'accountId' = ?", [accountId])
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', this.#db.fn.now()))
      .select<Array<{ payload: SessionPayload }>>('payload');
    const uids = rows.map((row) => row.payload.uid);
    const devices = uids.length > 0 ? await this.#db<DeviceRow>('session_devices').whereIn('session_uid', uids) : [];
    const byUid = new Map(devices.map((device) => [device.session_uid, device]));
    const account = await this.#accounts.findById(accountId);
    return rows
      .filter(({ payload }) => account && !predatesSignOut(account, payload.loginTs))
      .map(({ payload }) => {
        const device = byUid.get(payload.uid);
        return {
          uid: payload.uid,
          startedAt: new Date((payload.loginTs ?? 0) * 1000),
          lastSeenAt: device ? new Date(device.last_seen_at) : undefined,
          userAgent: device?.user_agent ?? undefined,
          ip: device?.ip ?? undefined,
          acr: payload.acr,
          amr: payload.amr ?? [],
          clientIds: Object.keys(payload.authorizations ?? {}),
        };
      })
      .sort((a, b) => (b.lastSeenAt ?? b.startedAt).getTime() - (a.lastSeenAt ?? a.startedAt).getTime());
  }

  /** Ends one of the account's sessions; false when it is not one of them. */
  async end(accountId: string, sessionUid: string, reason: LogoutReason = 'session_ended'): Promise<boolean> {
    const session = await this.#provider().Session.findByUid(sessionUid);
    if (!session || session.accountId !== accountId) return false;
    // queued before the end: a notice is never lost, and one for a session ended twice is queued once
    await this.#logouts.queueForSessions([{ accountId, authorizations: session.authorizations as EndedSession['authorizations'] }], reason);
    await session.destroy();
    await this.#db('session_devices').where({ session_uid: sessionUid }).delete();
    return true;
  }

  /**
   * "Sign out everywhere": every session ends and every refresh and access token of the account
   * is revoked; consent given to applications stays. Sessions or tokens an in-flight request
   * writes back afterwards are refused too (accounts.sessions_valid_after).
   */
  async endAll(accountId: string, reason: LogoutReason = 'signed_out_everywhere'): Promise<{ sessions: number; grants: number }> {
    // whole seconds: the engine's login and issue times are in seconds
    await this.#accounts.endSessionsBefore(accountId, new Date(Math.floor(Date.now() / 1000) * 1000));
    const sessions = await this.#db('oidc_payloads')
      .where('model', 'Session')
      .whereRaw("payload->>'accountId' = ?", [accountId])
      .select<Array<{ id: string; payload: SessionPayload }>>('id', 'payload');
    await this.#logouts.queueForSessions(sessions.map(({ payload }) => payload), reason);
    const provider = this.#provider();
    await Promise.all(sessions.map(({ id }) => provider.Session.adapter.destroy(id)));
    await this.#db('session_devices').where({ account_id: accountId }).delete();
    const grants = await this.#grantRows(accountId);
    await Promise.all(grants.map(({ id }) => this.#revokeTokens(id)));
    return { sessions: sessions.length, grants: grants.length };
  }

  async listGrants(accountId: string): Promise<GrantView[]> {
    const rows = await this.#grantRows(accountId);
    return rows
      .map(({ id, payload }) => ({
        grantId: id,
        clientId: payload.clientId,
        scopes: (payload.openid?.scope ?? '').split(' ').filter(Boolean),
        apis: Object.entries(payload.resources ?? {}).map(([resource, scope]) => ({ resource, scopes: scope.split(' ').filter(Boolean) })),
        grantedAt: new Date((payload.iat ?? 0) * 1000),
      }))
      .sort((a, b) => b.grantedAt.getTime() - a.grantedAt.getTime());
  }

  /** Withdraws an application's access: the grant and every token issued under it. */
  async revokeGrant(accountId: string, grantId: string): Promise<GrantView | undefined> {
    const grant = (await this.listGrants(accountId)).find((candidate) => candidate.grantId === grantId);
    if (!grant) return undefined;
    await this.#revokeTokens(grantId);
    await this.#provider().Grant.adapter.destroy(grantId);
    return grant;
  }

  async #revokeTokens(grantId: string): Promise<void> {
    const provider = this.#provider();
    await Promise.all([provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode].map((model) => model.revokeByGrantId(grantId)));
  }

  #grantRows(accountId: string) {
    return this.#db('oidc_payloads')
      .where('model', 'Grant')
      .whereRaw("payload->>'accountId' = ?", [accountId])
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', this.#db.fn.now()))
      .select<Array<{ id: string; payload: GrantPayload }>>('id', 'payload');
  }
}
