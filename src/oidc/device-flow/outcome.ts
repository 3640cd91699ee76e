import type { Context } from 'koa';

/** What one request of the device flow's pages ended in, for the middleware in front of the engine to record. */
export type DeviceFlowOutcome =
  | { kind: 'wrong_code'; reason: 'not_found' | 'expired' | 'already_used' }
  | { kind: 'approved'; accountId: string | undefined; clientId: string | undefined }
  | { kind: 'denied'; accountId: string | undefined; clientId: string | undefined };

// the engine is mounted (koa-mount), so its hooks and Postern's middleware share one ctx.state
const OUTCOME = Symbol('deviceFlowOutcome');
const PREFILL = Symbol('deviceUserCodePrefill');

type State = { [OUTCOME]?: DeviceFlowOutcome; [PREFILL]?: string };

export function setOutcome(ctx: Pick<Context, 'state'>, outcome: DeviceFlowOutcome): void {
  (ctx.state as State)[OUTCOME] = outcome;
}

export function outcomeOf(ctx: Pick<Context, 'state'>): DeviceFlowOutcome | undefined {
  return (ctx.state as State)[OUTCOME];
}

/** The user code of a verification_uri_complete, kept for the code page to show in its field. */
export function setPrefill(ctx: Pick<Context, 'state'>, userCode: string): void {
  (ctx.state as State)[PREFILL] = userCode;
}

export function prefillOf(ctx: Pick<Context, 'state'>): string {
  return (ctx.state as State)[PREFILL] ?? '';
}
