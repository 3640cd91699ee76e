import { createHash } from 'node:crypto';
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { KvStore } from '../../store/kv/index.ts';
import { wrapGrantHandler } from '../engine-internals.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// a poll this early is still on time: request latency moves two polls a whole interval apart closer
const TOLERANCE_MS = 250;

const pollKey = (clientId: string, deviceCode: string) => `devicepoll:${createHash('sha256').update(`${clientId}\0${deviceCode}`).digest('base64url')}`;

/**
 * RFC 8628 §3.5 `slow_down`, which the engine defines but never sends: a device polling the token
 * endpoint sooner than `intervalSeconds` after its last answered poll is told to slow down. Only
 * answered polls move the mark, so a device that backs off as told is answered again (a rejected
 * poll that moved it could keep a steady poller refused until its code expired). The first poll is
 * answered at once, however soon after the code was issued.
 */
export function enforcePollingInterval(provider: Provider, kv: KvStore, intervalSeconds: number): void {
  wrapGrantHandler(provider, DEVICE_CODE_GRANT, (handler) => async (ctx: KoaContextWithOIDC) => {
    const deviceCode = ctx.oidc.params?.device_code;
    if (typeof deviceCode === 'string' && deviceCode !== '' && ctx.oidc.client) {
      const key = pollKey(ctx.oidc.client.clientId, deviceCode);
      const now = Date.now();
      if (!(await kv.setIfAbsent(key, String(now), intervalSeconds))) {
        const last = Number((await kv.get(key)) ?? 0);
        if (now - last < intervalSeconds * 1000 - TOLERANCE_MS) throw new errors.SlowDown();
        await kv.set(key, String(now), intervalSeconds);
      }
    }
    await handler(ctx);
  });
  // the engine's response leaves `interval` out; a device then waits the RFC's default of 5 seconds
  provider.on('device_authorization.success', (_ctx: KoaContextWithOIDC, body: Record<string, unknown>) => {
    body.interval = intervalSeconds;
  });
}
