import type { Middleware } from 'koa';

/** What the readiness endpoint reports; `draining` is set when the process begins to shut down. */
export interface Readiness {
  draining: boolean;
  /** each storage dependency: reachable or not (fails fast while a tier is known to be down) */
  check(): Promise<Record<string, boolean>>;
}

/**
 * `/healthz`: the process is alive and serving (liveness). `/readyz`: it should receive traffic —
 * its storage answers and it is not shutting down. Answered before the access log and the rate
 * limits, so an orchestrator polling every second costs two storage round trips and no log lines.
 */
export function healthEndpoints(readiness: Readiness): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/healthz') {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path !== '/readyz') return next();
    ctx.set('Cache-Control', 'no-store');
    if (readiness.draining) {
      ctx.status = 503;
      ctx.body = { status: 'draining' };
      return;
    }
    const checks = await readiness.check();
    const ready = Object.values(checks).every(Boolean);
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(Object.entries(checks).map(([name, ok]) => [name, ok ? 'ok' : 'unavailable'])) };
  };
}

/** While draining, every response closes its connection, so keep-alive clients go to another instance. */
export function closeConnectionsWhileDraining(readiness: Pick<Readiness, 'draining'>): Middleware {
  return async (ctx, next) => {
    await next();
    if (readiness.draining) ctx.set('Connection', 'close');
  };
}
