import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { API, discover, POST_LOGOUT_REDIRECT_URI, REDIRECT_URI, seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { extractLink, waitForMail } from '../support/outbox.ts';
import type { TestServer } from '../support/test-server.ts';
import { formAction, hiddenField } from '../support/user-agent.ts';
import { Browser, type Page } from './browser.ts';

/**
 * The real things the fuzzer's requests carry so that they get past the first checks: client
 * credentials, codes and tokens, interaction uids with their cookies and CSRF tokens, a signed-in
 * account session, a logout form's xsrf, mailed reset and verification tokens. Cases name them as
 * `{{name}}` placeholders; `refresh()` makes fresh ones before every batch, because a mangled
 * request that still works consumes what it used (a code, an interaction, a session).
 *
 * What could end the state others rely on is kept apart: the token-endpoint grants and revocation
 * use a second client (a replayed code or refresh token revokes that client's grant only), the
 * account pages use bob (whose sessions "sign out everywhere" may end), a reset token belongs to
 * carol, and /session/end signs out a session of its own.
 */
export class LiveValues {
  readonly values: Record<string, string> = {};
  readonly #server: TestServer;
  readonly #outbox: string;
  #alice!: Fixture;
  #target!: { clientId: string; clientSecret: string };
  #configs!: { main: oidc.Configuration; target: oidc.Configuration };
  #consent!: Browser;
  #account!: Browser;
  #batch = 0;

  static readonly PASSWORD = 'correct horse battery staple';

  constructor(server: TestServer, outboxDir: string) {
    this.#server = server;
    this.#outbox = outboxDir;
  }

  /** Registers what the cases need: two clients, the API, and alice, bob and carol. */
  async prepare(): Promise<void> {
    const services = this.#server.services;
    this.#alice = await seed(this.#server);
    const { client, clientSecret } = await services.clients.create({
      name: 'Fuzz Target',
      type: 'confidential',
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [POST_LOGOUT_REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      firstParty: false,
    });
    this.#target = { clientId: client.clientId, clientSecret: clientSecret! };
    for (const username of ['bob', 'carol']) {
      await services.accounts.create({ username, email: `${username}@example.test`, emailVerified: true, name: username }, LiveValues.PASSWORD);
    }
    this.#configs = { main: await discover(this.#server, this.#alice), target: await discover(this.#server, this.#target) };
    this.#consent = new Browser(this.#server.issuer);
    this.#account = new Browser(this.#server.issuer);
    const basic = (id: string, secret: string) => Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
    Object.assign(this.values, {
      host: new URL(this.#server.issuer).host,
      issuer: this.#server.issuer,
      clientId: this.#alice.clientId,
      clientSecret: this.#alice.clientSecret,
      basic: basic(this.#alice.clientId, this.#alice.clientSecret),
      clientId2: this.#target.clientId,
      basic2: basic(this.#target.clientId, this.#target.clientSecret),
      redirectUri: REDIRECT_URI,
      postLogoutRedirectUri: POST_LOGOUT_REDIRECT_URI,
      api: API,
      challenge: createHash('sha256').update('fuzz-verifier-fuzz-verifier-fuzz-verifier-fuzz').digest('base64url'),
    });
  }

  /** Fresh codes, tokens, interactions, sessions and mailed tokens for the next batch. */
  async refresh(): Promise<void> {
    this.#batch += 1;
    const v = this.values;
    const issuer = this.#server.issuer;

    // tokens of the main client: only read (introspection, userinfo, id_token_hint), never spent
    const tokenAgent = new Browser(issuer);
    const opaque = await this.#exchange(tokenAgent, this.#configs.main, { scope: 'openid profile email offline_access' });
    v.accessToken = opaque.access_token;
    v.idToken = opaque.id_token!;
    v.refreshToken = opaque.refresh_token!;
    const jwt = await this.#exchange(tokenAgent, this.#configs.main, { scope: 'openid read' });
    v.jwtAccessToken = jwt.access_token;

    // the second client's: a code and a refresh token the token endpoint cases may spend
    const spent = await this.#exchange(tokenAgent, this.#configs.target, { scope: 'openid offline_access read' });
    v.refreshToken2 = spent.refresh_token!;
    v.accessToken2 = spent.access_token;
    const spare = await startAuthorization(this.#configs.target, { scope: 'openid offline_access' });
    const callback = await this.#authorize(tokenAgent, spare.url);
    v.code = callback.searchParams.get('code')!;
    v.verifier = spare.verifier;

    // an interaction at its login prompt, in a browser that has no session
    const loginBrowser = new Browser(issuer);
    const login = await loginBrowser.follow((await startAuthorization(this.#configs.main)).url.toString());
    if (!login.html.includes('name="password"')) throw new Error(`no sign-in page: ${login.status} ${login.url}`);
    v.loginUid = uidOf(login);
    v.loginCsrf = hiddenField(login.html, 'csrf');
    v.loginCookies = loginBrowser.cookieHeader();

    // an interaction at its consent prompt, for a signed-in alice
    let consent = await this.#consent.follow((await startAuthorization(this.#configs.main)).url.toString());
    if (consent.html.includes('name="password"')) {
      consent = await this.#consent.post(formAction(consent.html), { csrf: hiddenField(consent.html, 'csrf'), login: 'alice', password: this.#alice.password });
    }
    if (!consent.html.includes('wants to access your account')) throw new Error(`no consent page: ${consent.status} ${consent.url}`);
    v.consentUid = uidOf(consent);
    v.consentCsrf = hiddenField(consent.html, 'csrf');
    v.consentCookies = this.#consent.cookieHeader();

    // bob on his account pages ("sign out everywhere" may have ended the last session)
    let overview = await this.#account.follow('/account');
    if (overview.html.includes('name="password"') && overview.url.includes('/interaction/')) {
      overview = await this.#account.post(formAction(overview.html), { csrf: hiddenField(overview.html, 'csrf'), login: 'bob', password: LiveValues.PASSWORD });
    }
    if (overview.status !== 200 || new URL(overview.url).pathname !== '/account') throw new Error(`bob is not on his account page: ${overview.status} ${overview.url}`);
    const passwordPage = await this.#account.follow('/account/password');
    v.accountCsrf = hiddenField(passwordPage.html, 'csrf');
    v.accountCookies = this.#account.cookieHeader();

    // a session of its own for /session/end, with the logout form's xsrf
    const logoutBrowser = new Browser(issuer);
    const signIn = await logoutBrowser.follow('/account');
    await logoutBrowser.post(formAction(signIn.html), { csrf: hiddenField(signIn.html, 'csrf'), login: 'alice', password: this.#alice.password });
    const logout = await logoutBrowser.follow('/session/end');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(logout.html)?.[1];
    if (!xsrf) throw new Error(`no logout form: ${logout.status} ${logout.url}`);
    v.logoutXsrf = xsrf;
    v.logoutCookies = logoutBrowser.cookieHeader();

    // the public forms' CSRF pair, and a mailed reset token (carol) and verification token
    const publicBrowser = new Browser(issuer);
    const resetForm = await publicBrowser.follow('/reset');
    v.publicCsrf = hiddenField(resetForm.html, 'csrf');
    v.publicCookies = publicBrowser.cookieHeader();
    const since = new Date(Date.now() - 1000);
    await publicBrowser.post('/reset', { csrf: v.publicCsrf, login: 'carol' });
    v.resetToken = new URL(extractLink(await waitForMail(this.#outbox, { to: 'carol@example.test', since }), '/reset/complete')).searchParams.get('token')!;
    const newcomer = `newcomer${this.#batch}-${randomBytes(3).toString('hex')}`;
    await publicBrowser.post('/register', {
      csrf: v.publicCsrf,
      username: newcomer,
      email: `${newcomer}@example.test`,
      name: 'New Comer',
      password: LiveValues.PASSWORD,
      confirm: LiveValues.PASSWORD,
    });
    v.verifyToken = new URL(extractLink(await waitForMail(this.#outbox, { to: `${newcomer}@example.test`, since }), '/register/verify')).searchParams.get('token')!;
  }

  /** Authorization through the pages (password when asked, consent when asked) up to the callback. */
  async #authorize(browser: Browser, url: URL): Promise<URL> {
    let page = await browser.follow(url.toString());
    if (page.status !== 0 && page.html.includes('name="password"')) {
      page = await browser.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: 'alice', password: this.#alice.password });
    }
    if (page.status !== 0 && page.html.includes('wants to access your account')) {
      page = await browser.post(formAction(page.html, 1), { csrf: hiddenField(page.html, 'csrf') });
    }
    if (page.status !== 0) throw new Error(`authorization did not reach the callback: ${page.status} ${page.url}`);
    return new URL(page.url);
  }

  async #exchange(browser: Browser, config: oidc.Configuration, parameters: Record<string, string>) {
    const start = await startAuthorization(config, parameters);
    const callback = await this.#authorize(browser, start.url);
    return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  }
}

function uidOf(page: Page): string {
  const match = /\/interaction\/([^/?#]+)/.exec(page.url);
  if (!match) throw new Error(`not an interaction page: ${page.url}`);
  return match[1]!;
}
