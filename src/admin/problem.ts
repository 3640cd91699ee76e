import { STATUS_CODES } from 'node:http';
import type { Context, Middleware } from 'koa';
import { DomainError, InvalidRequest } from '../domain/errors.ts';
import { asDatabaseUnavailable, isUnstorableText } from '../store/database-guard.ts';
import { logOutage } from '../store/outage-log.ts';
import { StorageUnavailable } from '../store/unavailable.ts';
import type { ValidationIssue } from './openapi/validator.ts';

export const PROBLEM_TYPE = 'application/problem+json';

/** An admin API failure rendered as RFC 9457 problem details; `code` is stable, `detail` for people. */
export class Problem extends Error {
  override name = 'Problem';
  readonly status: number;
  readonly code: string;
  readonly errors: ValidationIssue[] | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, detail: string, options: { errors?: ValidationIssue[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(detail, { cause: options.cause });
    this.status = status;
    this.code = code;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** The problem object (RFC 9457 §3): `about:blank`, so `title` is the status phrase. */
export function problemBody(status: number, code: string, detail: string, extra: { errors?: ValidationIssue[] | undefined; requestId?: string | undefined } = {}) {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(extra.errors ? { errors: extra.errors } : {}),
    ...(extra.requestId ? { requestId: extra.requestId } : {}),
  };
}

export function sendProblem(ctx: Context, status: number, code: string, detail: string, errors?: ValidationIssue[]): void {
  ctx.status = status;
  ctx.body = problemBody(status, code, detail, { errors, requestId: ctx.state.requestId as string | undefined });
  ctx.type = PROBLEM_TYPE;
  ctx.set('Cache-Control', 'no-store');
}

/** Codes for the HTTP-level errors of body parsing and the like (koa's http-errors). */
const HTTP_CODES: Record<number, string> = { 400: 'invalid_body', 413: 'payload_too_large', 415: 'unsupported_media_type' };

/**
 * Renders every error below it as problem+json: a Problem as it is, a domain error with its code
 * and status, a storage outage as 503 with Retry-After, text PostgreSQL cannot store as 400, and
 * anything else as a 500 that says nothing of its cause (which is logged).
 */
export function problemHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      if (thrown instanceof Problem) {
        for (const [name, value] of Object.entries(thrown.headers)) ctx.set(name, value);
        return sendProblem(ctx, thrown.status, thrown.code, thrown.message, thrown.errors);
      }
      const caught = isUnstorableText(thrown) ? new InvalidRequest('The request contains characters that are not allowed (such as NUL).', { cause: thrown }) : asDatabaseUnavailable(thrown);
      if (caught instanceof StorageUnavailable) {
        if (ctx.state.log) logOutage(ctx.state.log, caught);
        ctx.set('Retry-After', '5');
        return sendProblem(ctx, 503, 'temporarily_unavailable', 'Postern cannot complete this right now. Nothing was changed; try again in a few seconds.');
      }
      if (caught instanceof DomainError && caught.expose) return sendProblem(ctx, caught.status, caught.code, caught.message);
      const status = Number((caught as { status?: unknown }).status);
      if ((caught as { expose?: unknown }).expose === true && status >= 400 && status < 500) {
        return sendProblem(ctx, status, HTTP_CODES[status] ?? 'invalid_request', (caught as Error).message);
      }
      ctx.state.log?.error({ err: caught }, 'unhandled error');
      sendProblem(ctx, 500, 'server_error', 'The server could not complete the request.');
    }
  };
}
