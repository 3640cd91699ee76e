import type { InitialAccessTokens } from '../../domain/initial-access-tokens.ts';
import type { Accounts } from '../../domain/accounts.ts';
import type { AuditEvent, AuditLog } from '../../domain/audit.ts';
import { clientActor } from '../../domain/audit.ts';
import type { LogoutDeliveries } from '../../domain/logout-deliveries.ts';
import type { Clients } from '../../domain/clients.ts';
import type { LoginThrottle } from '../../domain/login-throttle.ts';
import type { Passkeys } from '../../domain/passkeys.ts';
import type { RecoveryCodes } from '../../domain/recovery-codes.ts';
import type { ResourceServers } from '../../domain/resource-servers.ts';
import type { Roles } from '../../domain/roles.ts';
import type { SigningKeys } from '../../domain/signing-keys.ts';
import type { Totp } from '../../domain/totp.ts';
import type { AdminCaller } from '../authenticate.ts';

export interface AdminRequest {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
  ifMatch: string | undefined;
  /** set on every operation that needs a token */
  caller: AdminCaller | undefined;
  ip: string;
  userAgent: string | undefined;
}

export interface AdminResponse {
  status: number;
  body?: unknown;
  etag?: string | undefined;
  type?: string | undefined;
}

export type Handler = (request: AdminRequest) => Promise<AdminResponse>;

export interface SessionView {
  uid: string;
  startedAt: Date;
  lastSeenAt: Date | undefined;
  userAgent: string | undefined;
  ip: string | undefined;
  acr: string | undefined;
  amr: string[];
  clientIds: string[];
}

export interface GrantView {
  grantId: string;
  clientId: string;
  scopes: string[];
  apis: Array<{ resource: string; scopes: string[] }>;
  grantedAt: Date;
}

/** A user's sessions and grants, ended through the protocol engine's models (wired by the app). */
export interface AdminSessions {
  list(accountId: string): Promise<SessionView[]>;
  end(accountId: string, sessionUid: string): Promise<boolean>;
  endAll(accountId: string): Promise<{ sessions: number; grants: number }>;
  listGrants(accountId: string): Promise<GrantView[]>;
  revokeGrant(accountId: string, grantId: string): Promise<unknown>;
}

export interface AdminServices {
  accounts: Accounts;
  clients: Clients;
  resourceServers: ResourceServers;
  roles: Roles;
  signingKeys: SigningKeys;
  audit: AuditLog;
  logoutDeliveries: LogoutDeliveries;
  initialAccessTokens: InitialAccessTokens;
  throttle: LoginThrottle;
  totp: Totp;
  recoveryCodes: RecoveryCodes;
  passkeys: Passkeys;
}

export interface HandlerDependencies {
  /** for the absolute URLs of what Postern serves (client logos) */
  issuer: string;
  services: AdminServices;
  sessions: AdminSessions;
  /** mails a reset link to the account this address belongs to (the recovery pages' flow) */
  sendPasswordReset(email: string, origin: { ip: string; userAgent: string | undefined }): Promise<void>;
}

/** Records a change made through the admin API, naming the client that made it. */
export function auditChange(deps: HandlerDependencies, request: AdminRequest, event: AuditEvent): Promise<void> {
  return deps.services.audit.record({
    ...event,
    actor: clientActor(request.caller!.clientId),
    ip: request.ip,
    userAgent: request.userAgent,
    details: { via: 'admin_api', ...event.details },
  });
}

export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);
