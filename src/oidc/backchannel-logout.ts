import type { Provider } from 'oidc-provider';
import type { LogoutDeliveries } from '../domain/logout-deliveries.ts';

interface LoggingOutClient {
  clientId: string;
  backchannelLogoutUri?: string | undefined;
}

/**
 * With `features.backchannelLogout` the engine advertises Back-Channel Logout in discovery,
 * validates the client metadata, and at /session/end calls `client.backchannelLogout(sub, sid)`
 * for each application the session signed in that has a URI (oidc-provider 9.13.3,
 * lib/actions/end_session.js). Its own method POSTs once, synchronously, without retries
 * (lib/models/client.js); here it queues the notice instead, for LogoutDeliveryWorker to deliver.
 */
export function queueEngineBackchannelLogouts(provider: Provider, deliveries: LogoutDeliveries): void {
  const client = provider.Client.prototype as unknown as { backchannelLogout(this: LoggingOutClient, sub: string, sid: string | undefined): Promise<void> };
  client.backchannelLogout = async function backchannelLogout(sub, sid) {
    if (!this.backchannelLogoutUri) return;
    await deliveries.queue([{ clientId: this.clientId, uri: this.backchannelLogoutUri, sub, sid, reason: 'logout' }]);
  };
}
