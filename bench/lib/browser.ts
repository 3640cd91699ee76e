/**
 * A cookie-keeping HTTP user agent for the sign-in pages, built on fetch: it follows redirects on
 * the server's origin and stops at the first URL off it (the relying party's callback).
 */
export interface Page {
  /** the final URL: a page on the server, or the callback when `status` is 0 */
  url: string;
  status: number;
  html: string;
  /** HTTP requests this navigation made */
  requests: number;
}

export class Browser {
  readonly #cookies = new Map<string, string>();
  readonly #origin: string;

  constructor(origin: string) {
    this.#origin = new URL(origin).origin;
  }

  #store(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const pair = line.slice(0, line.indexOf(';') === -1 ? line.length : line.indexOf(';'));
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  async #request(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) headers.set('cookie', [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.#store(response);
    return response;
  }

  async follow(url: string, init: RequestInit = {}): Promise<Page> {
    let response = await this.#request(url, init);
    let current = url;
    for (let requests = 1; requests <= 20; requests += 1) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        return { url: current, status: response.status, html: await response.text(), requests };
      }
      await response.arrayBuffer();
      current = new URL(location, current).toString();
      if (new URL(current).origin !== this.#origin) return { url: current, status: 0, html: '', requests };
      response = await this.#request(current, {});
    }
    throw new Error(`too many redirects from ${url}`);
  }

  submit(action: string, fields: Record<string, string>): Promise<Page> {
    return this.follow(new URL(action, this.#origin).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

/** The action of the first `<form method="post">` whose action ends with `suffix`, if any. */
export function formEndingWith(html: string, suffix: string): string | undefined {
  for (const match of html.matchAll(/<form method="post" action="([^"]+)"/g)) {
    const action = match[1]!.replaceAll('&amp;', '&');
    if (action.endsWith(suffix)) return action;
  }
  return undefined;
}

export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden field ${name} in the page`);
  return match[1]!;
}
