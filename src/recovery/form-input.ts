import type { Context } from 'koa';
import type { RequestOrigin } from './password-reset.ts';

/** A field of the parsed form body; '' when absent or not a single string. */
export function field(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** The `token` query parameter of a mailed link; '' when absent or repeated. */
export function linkToken(ctx: Context): string {
  return typeof ctx.query.token === 'string' ? ctx.query.token : '';
}

export function originOf(ctx: Context): RequestOrigin {
  return { ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined };
}
