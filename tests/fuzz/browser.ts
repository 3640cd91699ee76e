/**
 * A cookie-keeping client like tests/support/user-agent.ts, whose cookies can be read: the fuzzer
 * copies them into the requests it mangles, so that those reach the code behind a valid session,
 * interaction or CSRF cookie.
 */
export interface Page {
  url: string;
  status: number;
  html: string;
}

export class Browser {
  readonly #cookies = new Map<string, string>();
  readonly #origin: string;

  constructor(origin: string) {
    this.#origin = new URL(origin).origin;
  }

  /** Every cookie this browser holds, as one Cookie header value (paths are not told apart). */
  cookieHeader(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) headers.set('cookie', this.cookieHeader());
    const response = await fetch(new URL(url, this.#origin), { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return response;
  }

  /** Follows redirects on the server's origin; a redirect elsewhere ends with status 0. */
  async follow(url: string, init: RequestInit = {}): Promise<Page> {
    let current = new URL(url, this.#origin).toString();
    let response = await this.request(current, init);
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

  post(url: string, fields: Record<string, string>): Promise<Page> {
    return this.follow(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}
