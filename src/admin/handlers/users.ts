import type { Account, AccountChanges } from '../../domain/accounts.ts';
import { Conflict, NotFound } from '../../domain/errors.ts';
import { etagOf, expectVersion, requireIfMatch } from '../etag.ts';
import { keysetPage, memoryPage, pageRequest } from '../pagination.ts';
import { heldRolesJson } from './clients.ts';
import { auditChange, iso, isoOrNull, type AdminRequest, type Handler, type HandlerDependencies, type GrantView, type SessionView } from './types.ts';

export function userJson(account: Account) {
  return {
    id: account.id,
    username: account.username,
    email: account.email,
    emailVerified: account.emailVerified,
    name: account.name,
    givenName: account.givenName,
    familyName: account.familyName,
    profile: account.profile,
    disabled: account.disabled,
    hasPassword: account.hasPassword,
    createdAt: iso(account.createdAt),
    updatedAt: iso(account.updatedAt),
  };
}

function sessionJson(session: SessionView) {
  return {
    id: session.uid,
    startedAt: iso(session.startedAt),
    lastSeenAt: isoOrNull(session.lastSeenAt),
    userAgent: session.userAgent ?? null,
    ip: session.ip ?? null,
    acr: session.acr ?? null,
    amr: session.amr,
    clientIds: session.clientIds,
  };
}

function grantJson(grant: GrantView) {
  return { id: grant.grantId, clientId: grant.clientId, scopes: grant.scopes, apis: grant.apis, grantedAt: iso(grant.grantedAt) };
}

interface NewUserBody {
  username: string;
  email?: string;
  emailVerified?: boolean;
  name?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  password?: string;
}

export function userHandlers(deps: HandlerDependencies): Record<string, Handler> {
  const { accounts, roles, throttle, totp, recoveryCodes, passkeys } = deps.services;
  const userId = (request: AdminRequest) => request.path.userId as string;
  const roleName = (request: AdminRequest) => request.path.roleName as string;
  async function account(request: AdminRequest): Promise<Account> {
    const found = await accounts.findById(userId(request));
    if (!found) throw new NotFound(`no user ${userId(request)}`);
    return found;
  }
  return {
    async listUsers(request) {
      return { status: 200, body: await keysetPage(pageRequest(request.query), (page) => accounts.page(page), (user) => user.id, userJson) };
    },
    async createUser(request) {
      const { password, ...profile } = request.body as NewUserBody;
      const created = await accounts.create(
        { username: profile.username, email: profile.email, emailVerified: profile.emailVerified, name: profile.name ?? undefined, givenName: profile.givenName ?? undefined, familyName: profile.familyName ?? undefined },
        password,
      );
      await auditChange(deps, request, { type: 'account.created', accountId: created.id });
      const json = userJson(created);
      return { status: 201, body: json, etag: etagOf(json) };
    },
    async getUser(request) {
      const json = userJson(await account(request));
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async updateUser(request) {
      const ifMatch = requireIfMatch(request.ifMatch);
      const changes = request.body as AccountChanges;
      let before: Account | undefined;
      const updated = await accounts.update(userId(request), changes, (current) => {
        expectVersion(ifMatch, userJson)(current);
        before = current;
      });
      // a disabled account keeps no session and no token
      if (changes.disabled === true && before?.disabled === false) await deps.sessions.endAll(updated.id);
      await auditChange(deps, request, { type: 'account.updated', accountId: updated.id, details: { fields: Object.keys(changes) } });
      if (changes.disabled !== undefined && changes.disabled !== before?.disabled) {
        await auditChange(deps, request, { type: changes.disabled ? 'account.disabled' : 'account.enabled', accountId: updated.id });
      }
      const json = userJson(updated);
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async deleteUser(request) {
      const found = await account(request);
      await accounts.delete(found.id);
      await auditChange(deps, request, { type: 'account.deleted', accountId: found.id, details: { username: found.username } });
      return { status: 204 };
    },
    async unlockUser(request) {
      const found = await account(request);
      await throttle.unlock(found.id);
      await auditChange(deps, request, { type: 'account.unlocked', accountId: found.id });
      return { status: 204 };
    },
    async resetUserSecondFactor(request) {
      const found = await account(request);
      await totp.disable(found.id);
      await recoveryCodes.clear(found.id);
      await auditChange(deps, request, { type: 'second_factor.removed', accountId: found.id });
      return { status: 204 };
    },
    async listUserPasskeys(request) {
      const found = await account(request);
      const list = await passkeys.list(found.id);
      return {
        status: 200,
        body: {
          passkeys: list.map((passkey) => ({
            id: passkey.id,
            name: passkey.name,
            transports: passkey.transports,
            deviceType: passkey.deviceType,
            backedUp: passkey.backedUp,
            createdAt: iso(passkey.createdAt),
            lastUsedAt: isoOrNull(passkey.lastUsedAt),
          })),
        },
      };
    },
    async deleteUserPasskey(request) {
      const found = await account(request);
      const id = request.path.passkeyId as string;
      if (!(await passkeys.remove(found.id, id))) throw new NotFound(`user ${found.id} has no passkey ${id}`);
      await auditChange(deps, request, { type: 'passkey.removed', accountId: found.id, details: { credential: id } });
      return { status: 204 };
    },
    async setUserPassword(request) {
      const { password, endSessions } = request.body as { password: string; endSessions?: boolean };
      const found = await account(request);
      await accounts.setPassword(found.id, password);
      if (endSessions !== false) await deps.sessions.endAll(found.id);
      await auditChange(deps, request, { type: 'account.password_set', accountId: found.id, details: { sessionsEnded: endSessions !== false } });
      return { status: 204 };
    },
    async sendUserPasswordReset(request) {
      const found = await account(request);
      if (!found.email) throw new Conflict('The account has no email address to send a reset link to.');
      if (found.disabled) throw new Conflict('The account is disabled: enable it first.');
      await deps.sendPasswordReset(found.email, { ip: request.ip, userAgent: request.userAgent });
      await auditChange(deps, request, { type: 'account.password_reset_sent', accountId: found.id });
      return { status: 202 };
    },
    async listUserRoles(request) {
      const found = await account(request);
      return { status: 200, body: heldRolesJson(await roles.permissionsFor(found.id)) };
    },
    async grantUserRole(request) {
      const role = (await roles.get(roleName(request))).name;
      if (await roles.grant(role, { kind: 'account', id: userId(request) })) {
        await auditChange(deps, request, { type: 'role.granted', accountId: userId(request), details: { role } });
      }
      return { status: 204 };
    },
    async revokeUserRole(request) {
      const role = (await roles.get(roleName(request))).name;
      const found = await account(request);
      if (await roles.revoke(role, { kind: 'account', id: found.id })) {
        await auditChange(deps, request, { type: 'role.revoked', accountId: found.id, details: { role } });
      }
      return { status: 204 };
    },
    async listUserSessions(request) {
      const found = await account(request);
      return { status: 200, body: memoryPage(pageRequest(request.query), await deps.sessions.list(found.id), (session) => session.uid, sessionJson) };
    },
    async endUserSessions(request) {
      const found = await account(request);
      const ended = await deps.sessions.endAll(found.id);
      await auditChange(deps, request, { type: 'session.ended_all', accountId: found.id, details: ended });
      return { status: 200, body: ended };
    },
    async endUserSession(request) {
      const found = await account(request);
      const sessionId = request.path.sessionId as string;
      if (!(await deps.sessions.end(found.id, sessionId))) throw new NotFound(`user ${found.id} has no session ${sessionId}`);
      await auditChange(deps, request, { type: 'session.ended', accountId: found.id, details: { session: sessionId } });
      return { status: 204 };
    },
    async listUserGrants(request) {
      const found = await account(request);
      return { status: 200, body: memoryPage(pageRequest(request.query), await deps.sessions.listGrants(found.id), (grant) => grant.grantId, grantJson) };
    },
    async revokeUserGrant(request) {
      const found = await account(request);
      const grantId = request.path.grantId as string;
      if (!(await deps.sessions.revokeGrant(found.id, grantId))) throw new NotFound(`user ${found.id} has no grant ${grantId}`);
      await auditChange(deps, request, { type: 'grant.revoked', accountId: found.id, details: { grant: grantId } });
      return { status: 204 };
    },
  };
}
