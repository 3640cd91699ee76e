import type { RecordedAuditEvent } from '../../domain/audit.ts';
import type { SigningKeyInfo } from '../../domain/signing-keys.ts';
import { Problem } from '../problem.ts';
import { keysetPage, memoryPage, pageRequest } from '../pagination.ts';
import { clientActor } from '../../domain/audit.ts';
import { iso, isoOrNull, type Handler, type HandlerDependencies } from './types.ts';

function auditEventJson(event: RecordedAuditEvent) {
  return { ...event, at: iso(event.at) };
}

function signingKeyJson(key: SigningKeyInfo) {
  return {
    kid: key.kid,
    alg: key.alg,
    status: key.status,
    createdAt: iso(key.createdAt),
    activatedAt: isoOrNull(key.activatedAt ?? null),
    deactivatedAt: isoOrNull(key.deactivatedAt ?? null),
    retiredAt: isoOrNull(key.retiredAt ?? null),
  };
}

const optional = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function auditAndKeyHandlers(deps: HandlerDependencies): Record<string, Handler> {
  const { audit, signingKeys } = deps.services;
  return {
    async listAuditEvents(request) {
      const { query } = request;
      const since = optional(query.since);
      const until = optional(query.until);
      const filter = {
        accountId: optional(query.userId),
        clientId: optional(query.clientId),
        type: optional(query.type),
        actor: optional(query.actor),
        since: since === undefined ? undefined : new Date(since),
        until: until === undefined ? undefined : new Date(until),
      };
      const page = pageRequest(query);
      // the cursor is an event id: only digits are one
      if (page.after !== undefined && !/^\d{1,18}$/.test(page.after)) throw new Problem(400, 'validation_failed', 'cursor is not one this API gave', { errors: [{ pointer: 'query:cursor', message: 'is not a cursor from a previous page' }] });
      const body = await keysetPage(page, (request) => audit.page(filter, { before: request.after, limit: request.limit }), (event) => event.id, auditEventJson);
      return { status: 200, body };
    },
    async listSigningKeys(request) {
      return { status: 200, body: memoryPage(pageRequest(request.query), await signingKeys.list(), (key) => key.kid, signingKeyJson) };
    },
    // audited by the domain, in the transaction that moves the keys, with the calling client as actor
    async rotateSigningKeys(request) {
      const result = await signingKeys.rotate({ now: request.query.now === true || request.query.now === 'true', actor: clientActor(request.caller!.clientId) });
      return { status: 200, body: { current: result.current, previous: result.previous ?? null, next: result.next } };
    },
    async retireSigningKey(request) {
      return { status: 200, body: signingKeyJson(await signingKeys.retire(request.path.kid as string, clientActor(request.caller!.clientId))) };
    },
  };
}
