import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { isPrivateAddress } from './private-addresses.ts';

/** An outbound fetch the engine makes on a client's behalf was refused before it connected. */
export class FetchRefused extends Error {
  override name = 'FetchRefused';
}

export interface DefendedFetchOptions {
  /** FOR TESTS ONLY: connect to loopback and private addresses too */
  allowPrivateAddresses: boolean;
  /** extra CA certificates (PEM) trusted besides the system's */
  extraCa?: string | undefined;
  /** ms for connecting, for the headers and between body chunks; default 2500 */
  timeoutMs?: number | undefined;
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Resolves a host name and refuses it when any of its addresses is private; the connection then
 * goes to the address checked here (net.connect uses what lookup returns), so a name that resolves
 * differently a moment later (DNS rebinding) cannot move the connection elsewhere.
 */
function checkedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    dnsLookup(hostname, { family: options.family ?? 0, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      if (addresses.length === 0) return callback(new FetchRefused(`${hostname} has no address`), []);
      if (!allowPrivate && addresses.some(({ address }) => isPrivateAddress(address))) {
        return callback(new FetchRefused(`${hostname} resolves to a loopback, private or link-local address`), []);
      }
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

interface DispatcherConstructor {
  new (options: Record<string, unknown>): object;
}

/**
 * Node's fetch takes its dispatcher from the undici it bundles; its Agent class is reached through
 * the global dispatcher (as oidc-provider does), so no second undici is installed next to it.
 */
function nodeAgentClass(): DispatcherConstructor {
  // touching Response loads Node's bundled undici, which installs the global dispatcher
  void Response;
  const holder = globalThis as unknown as Record<symbol, { constructor: DispatcherConstructor } | undefined>;
  const dispatcher = holder[Symbol.for('undici.globalDispatcher.2')] ?? holder[Symbol.for('undici.globalDispatcher.1')];
  if (!dispatcher) throw new FetchRefused('no HTTP dispatcher to defend outbound fetches with');
  return dispatcher.constructor;
}

/**
 * The engine's `fetch` (client ID metadata documents, client JWKS, sector identifiers): https only,
 * no redirects followed, bounded time, and never to loopback, private or link-local addresses —
 * the resolved address is checked, not the name (IP literals are checked as written).
 */
export function createDefendedFetch(options: DefendedFetchOptions): (url: URL | string, init: RequestInit) => Promise<Response> {
  let dispatcher: object | undefined;
  const timeoutMs = options.timeoutMs ?? 2500;
  return async (target, init) => {
    const url = new URL(target);
    if (url.protocol !== 'https:') throw new FetchRefused(`only https URLs are fetched, not ${url.protocol}`);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) !== 0 && !options.allowPrivateAddresses && isPrivateAddress(host)) {
      throw new FetchRefused(`${host} is a loopback, private or link-local address`);
    }
    dispatcher ??= new (nodeAgentClass())({
      connect: {
        lookup: checkedLookup(options.allowPrivateAddresses),
        timeout: timeoutMs,
        ...(options.extraCa ? { ca: [...rootCertificates, options.extraCa] } : {}),
      },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    return fetch(url, { ...init, redirect: 'manual', dispatcher } as RequestInit);
  };
}
