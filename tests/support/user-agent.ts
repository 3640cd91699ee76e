/**
 * A small cookie-keeping HTTP user agent for driving the sign-in pages without a browser:
 * it follows redirects on the server's origin and stops at the relying party's redirect URI.
 */
export interface Page {
  url: string;
  status: number;
  html: string;
}

export class UserAgent {
  readonly #cookies = new Map<string, string>();
  readonly #origin: string;
  readonly #headers: Record<string, string>;

  /** `headers` go with every request (e.g. X-Forwarded-For, to play a client at another address). */
  constructor(origin: string, headers: Record<string, string> = {}) {
    this.#origin = new URL(origin).origin;
    this.#headers = headers;
  }

  #cookieHeader(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  #store(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  forgetCookies(filter: (name: string) => boolean = () => true) {
    for (const name of [...this.#cookies.keys()]) if (filter(name)) this.#cookies.delete(name);
  }

  /** Sends one request with this agent's cookies; no redirect following. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(this.#headers)) if (!headers.has(name)) headers.set(name, value);
    if (new URL(url).origin === this.#origin && this.#cookies.size > 0) headers.set('cookie', this.#cookieHeader());
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    if (new URL(url).origin === this.#origin) this.#store(response);
    return response;
  }

  /**
   * Follows redirects while they stay on the server's origin. Returns the final page, or the
   * first URL off the origin (the relying party's callback) as `url` with status 0.
   */
  async follow(url: string, init: RequestInit = {}): Promise<Page> {
    let response = await this.request(url, init);
    let current = url;
    for (let hops = 0; hops < 20; hops += 1) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        return { url: current, status: response.status, html: await response.text() };
      }
      await response.arrayBuffer();
      current = new URL(location, current).toString();
      if (new URL(current).origin !== this.#origin) return { url: current, status: 0, html: '' };
      response = await this.request(current);
    }
    throw new Error('too many redirects');
  }

  get(url: string) {
    return this.follow(url);
  }

  /** Submits a form: `fields` are sent as application/x-www-form-urlencoded. */
  post(url: string, fields: Record<string, string>) {
    return this.follow(new URL(url, this.#origin).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden field ${name} in page`);
  return match[1]!;
}

export function formAction(html: string, index = 0): string {
  const actions = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]!);
  const action = actions[index];
  if (!action) throw new Error(`no form #${index} in page`);
  return action.replaceAll('&amp;', '&');
}
