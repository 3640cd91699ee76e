import type { ChainStart } from './provision.ts';
import { now, sleep } from './processes.ts';

/**
 * Bounded load through the issuer (the proxy), recorded per request:
 *
 * - one loop per refresh-token chain: refresh, then wait; a failed refresh (5xx, 429, timeout,
 *   reset, any answer but a new token or invalid_grant) is retried with the SAME refresh token,
 *   as a real application does, until it gets a new one; it gives up only after `giveUpAfterMs`.
 *   A chain is broken when the server answers invalid_grant although the chain only ever
 *   presented its latest token or retried the failed one (which the driver guarantees);
 * - client_credentials loops and introspection loops (of the chains' current access tokens).
 */

export type RequestKind = 'refresh' | 'client_credentials' | 'introspection';
/** no HTTP answer: the client's timeout, a connection cut (reset / hang-up), a refused connection */
export type NetworkFailure = 'timeout' | 'reset' | 'refused' | 'network';

export interface RequestRecord {
  kind: RequestKind;
  /** chain index; -1 for requests that belong to no chain */
  chain: number;
  phase: 'load' | 'verify';
  /** ms on the shared monotonic clock (processes.ts `now`) */
  start: number;
  duration: number;
  /** HTTP status; 0 when there was no answer */
  status: number;
  /** OAuth `error`, `http_<status>` for a non-JSON failure, or the network failure */
  error?: string;
  detail?: string;
  /** a retry, with the same refresh token, of a failed refresh */
  retry: boolean;
  /** introspection: the answer's `active` */
  active?: boolean;
}

export interface ChainState {
  index: number;
  refreshToken: string;
  accessToken: string;
  rotations: number;
  /** refused with invalid_grant: the holder can no longer refresh */
  broken?: { at: number; description: string };
  /** no new token within giveUpAfterMs of retrying */
  gaveUp?: { at: number; since: number; lastError: string };
}

export interface DriverOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  chains: ChainStart[];
  /** mean pause between one chain's refreshes; default 400 ms (2.5/s per chain) */
  refreshIntervalMs?: number;
  /** default 2 loops, 250 ms apart */
  clientCredentialsLoops?: number;
  clientCredentialsIntervalMs?: number;
  /** default 2 loops, 200 ms apart */
  introspectionLoops?: number;
  introspectionIntervalMs?: number;
  /** the client's timeout per request; default 15 s, longer than any outage, to see true durations */
  timeoutMs?: number;
  /** pause before retrying a failed refresh; default 250 ms */
  retryDelayMs?: number;
  /** a chain gives up when retrying one token has not succeeded for this long; default 30 s */
  giveUpAfterMs?: number;
}

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
  error?: string;
  detail?: string;
}

const jitter = (mean: number) => mean * (0.5 + Math.random());

export class LoadDriver {
  readonly records: RequestRecord[] = [];
  readonly chains: ChainState[];
  readonly #options: Required<DriverOptions>;
  readonly #authorization: string;
  #stopping = false;
  #loops: Promise<void>[] = [];
  /** chains waiting between refreshes, to wake for a burst */
  readonly #sleepers = new Set<() => void>();

  constructor(options: DriverOptions) {
    this.#options = {
      refreshIntervalMs: 400,
      clientCredentialsLoops: 2,
      clientCredentialsIntervalMs: 250,
      introspectionLoops: 2,
      introspectionIntervalMs: 200,
      timeoutMs: 15_000,
      retryDelayMs: 250,
      giveUpAfterMs: 30_000,
      ...options,
    };
    this.#authorization = `Basic ${Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64')}`;
    this.chains = options.chains.map((chain, index) => ({ index, refreshToken: chain.refreshToken, accessToken: chain.accessToken, rotations: 0 }));
  }

  start(): void {
    const o = this.#options;
    this.#loops = [
      ...this.chains.map((chain) => this.#chainLoop(chain)),
      ...Array.from({ length: o.clientCredentialsLoops }, () => this.#loop(o.clientCredentialsIntervalMs, () => this.#clientCredentials())),
      ...Array.from({ length: o.introspectionLoops }, () => this.#loop(o.introspectionIntervalMs, () => this.#introspection())),
    ];
  }

  /** Ends the loops. A chain in the middle of retrying keeps retrying until it has a token, is refused, or gives up. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#loops);
  }

  /** After the load: every chain that is neither broken nor given up refreshes once more. */
  async verify(): Promise<void> {
    await Promise.all(this.chains.filter((chain) => !chain.broken && !chain.gaveUp).map((chain) => this.#refresh(chain, 'verify')));
  }

  /** Every chain that is waiting between refreshes refreshes now: a burst, as when many apps wake at once. */
  burst(): void {
    for (const wake of [...this.#sleepers]) wake();
  }

  /** Chains whose holder can no longer refresh. */
  broken(): ChainState[] {
    return this.chains.filter((chain) => chain.broken);
  }

  gaveUp(): ChainState[] {
    return this.chains.filter((chain) => chain.gaveUp);
  }

  async #chainLoop(chain: ChainState): Promise<void> {
    // spread the chains over the first interval
    await sleep(Math.random() * this.#options.refreshIntervalMs);
    while (!this.#stopping && !chain.broken && !chain.gaveUp) {
      await this.#refresh(chain, 'load');
      await this.#pause(jitter(this.#options.refreshIntervalMs));
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  async #loop(intervalMs: number, step: () => Promise<void>): Promise<void> {
    await sleep(Math.random() * intervalMs);
    while (!this.#stopping) {
      await step();
      await sleep(jitter(intervalMs));
    }
  }

  async #refresh(chain: ChainState, phase: RequestRecord['phase']): Promise<void> {
    const firstTry = now();
    for (let attempt = 0; ; attempt += 1) {
      const started = now();
      const answer = await this.#post('/token', { grant_type: 'refresh_token', refresh_token: chain.refreshToken });
      this.#record({ kind: 'refresh', chain: chain.index, phase, start: started, answer, retry: attempt > 0 });
      const fresh = answer.body?.refresh_token;
      if (answer.status === 200 && typeof fresh === 'string') {
        chain.refreshToken = fresh;
        if (typeof answer.body?.access_token === 'string') chain.accessToken = answer.body.access_token;
        chain.rotations += 1;
        return;
      }
      if (answer.status === 400 && answer.error === 'invalid_grant') {
        chain.broken = { at: now(), description: answer.detail ?? '' };
        return;
      }
      if (now() - firstTry > this.#options.giveUpAfterMs) {
        chain.gaveUp = { at: now(), since: firstTry, lastError: `${answer.status} ${answer.error ?? ''} ${answer.detail ?? ''}`.trim() };
        return;
      }
      await sleep(this.#options.retryDelayMs);
    }
  }

  async #clientCredentials(): Promise<void> {
    const started = now();
    const answer = await this.#post('/token', { grant_type: 'client_credentials', scope: 'read' });
    this.#record({ kind: 'client_credentials', chain: -1, phase: 'load', start: started, answer, retry: false });
  }

  async #introspection(): Promise<void> {
    const chain = this.chains[Math.floor(Math.random() * this.chains.length)]!;
    const started = now();
    const answer = await this.#post('/token/introspection', { token: chain.accessToken });
    this.#record({ kind: 'introspection', chain: chain.index, phase: 'load', start: started, answer, retry: false });
  }

  #record(entry: { kind: RequestKind; chain: number; phase: RequestRecord['phase']; start: number; answer: Answer; retry: boolean }) {
    const { answer } = entry;
    const record: RequestRecord = {
      kind: entry.kind,
      chain: entry.chain,
      phase: entry.phase,
      start: entry.start,
      duration: now() - entry.start,
      status: answer.status,
      retry: entry.retry,
    };
    if (answer.status !== 200) {
      record.error = answer.error;
      record.detail = answer.detail;
    }
    if (entry.kind === 'introspection' && typeof answer.body?.active === 'boolean') record.active = answer.body.active;
    this.records.push(record);
  }

  async #post(path: string, fields: Record<string, string>): Promise<Answer> {
    try {
      const response = await fetch(new URL(path, this.#options.issuer), {
        method: 'POST',
        headers: { authorization: this.#authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(fields).toString(),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      const text = await response.text();
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      if (response.status === 200) return { status: 200, body };
      const error = typeof body?.error === 'string' ? body.error : `http_${response.status}`;
      const detail = typeof body?.error_description === 'string' ? body.error_description : text.slice(0, 200);
      return { status: response.status, body, error, detail };
    } catch (error) {
      return { status: 0, body: undefined, ...classify(error) };
    }
  }
}

function classify(error: unknown): { error: NetworkFailure; detail: string } {
  const failure = error as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (failure.name === 'TimeoutError' || failure.name === 'AbortError') return { error: 'timeout', detail: failure.message ?? '' };
  const code = failure.cause?.code ?? '';
  const detail = `${code} ${failure.cause?.message ?? failure.message ?? ''}`.trim();
  if (['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED'].includes(code)) return { error: 'reset', detail };
  if (code === 'ECONNREFUSED') return { error: 'refused', detail };
  return { error: 'network', detail };
}
