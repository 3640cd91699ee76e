import type { Middleware } from 'koa';
import { MethodNotAllowed } from '../domain/errors.ts';

const ALLOWED = ['GET', 'HEAD', 'POST', 'OPTIONS'];
const ALLOW = ALLOWED.join(', ');

/**
 * Methods no endpoint serves (TRACE, PUT, DELETE, …) get 405 with `Allow`, in the endpoint's format;
 * `alsoAllowed` lets others through where an endpoint behind serves them.
 */
export function allowedMethods(alsoAllowed?: (method: string, path: string) => boolean): Middleware {
  return async (ctx, next) => {
    if (ALLOWED.includes(ctx.method) || alsoAllowed?.(ctx.method, ctx.path)) return next();
    ctx.set('Allow', ALLOW);
    throw new MethodNotAllowed(`${ctx.method} is not supported here; use one of ${ALLOW}`);
  };
}
