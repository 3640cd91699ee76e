import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryState } from '../../src/domain/logout-deliveries.ts';
import { runCli } from '../cli/support/cli.ts';
import { availableBackends } from '../support/backends.ts';
import { LogoutListener } from '../support/logout-listener.ts';
import { extractLink, waitForMail } from '../support/outbox.ts';
import { REDIRECT_URI, signIn, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestCluster, type TestCluster, type TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

const PASSWORD = 'a sturdy old passphrase here';
const FIREFOX_ON_ANDROID = 'Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0';
const WAIT = { timeout: 20_000, interval: 100 };

interface DeliveryRow {
  id: string;
  client_id: string;
  sub: string;
  sid: string | null;
  jti: string;
  reason: string;
  state: DeliveryState;
  attempts: number;
  last_error: string | null;
}

interface App {
  fixture: Fixture;
  config: oidc.Configuration;
  listener: LogoutListener | undefined;
}

describe.each(availableBackends())('back-channel logout on %s', (backend) => {
  const outbox = join(tmpdir(), `postern-outbox-${randomBytes(6).toString('hex')}`);
  let cluster: TestCluster;
  let server: TestServer;
  let jwksUri: string;
  let count = 0;
  const listeners: LogoutListener[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster(backend, 1, {
      POSTERN_MAIL_OUTBOX: outbox,
      POSTERN_RATE_LIMIT_LOGIN: 'off',
      POSTERN_RATE_LIMIT_PASSWORD_RESET: 'off',
      POSTERN_LOGOUT_RETRY_BASE: '1',
      POSTERN_LOGOUT_MAX_ATTEMPTS: '3',
      POSTERN_LOGOUT_POLL_INTERVAL: '1',
      POSTERN_LOGOUT_TIMEOUT: '1',
    });
    server = cluster.servers[0]!;
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    jwksUri = metadata.jwks_uri;
  });
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((listener) => listener.down()));
  });
  afterAll(async () => {
    await cluster?.close();
    await rm(outbox, { recursive: true, force: true });
  });

  /** A first-party application; with `listening`, one whose back-channel logout endpoint runs. */
  async function newApp(options: { listening?: boolean; sessionRequired?: boolean; uri?: string } = {}): Promise<App> {
    count += 1;
    const clientId = `bcl-${backend === 'embedded' ? 'e' : 'p'}-${count}-${randomBytes(3).toString('hex')}`;
    const listener = options.listening === false ? undefined : await LogoutListener.start({ issuer: server.issuer, jwksUri, clientId });
    if (listener) listeners.push(listener);
    const uri = options.uri ?? listener?.uri;
    const { client, clientSecret } = await server.services.clients.create({
      name: `App ${count}`,
      type: 'confidential',
      clientId,
      redirectUris: [REDIRECT_URI],
      firstParty: true,
      backchannelLogoutUri: uri,
      backchannelLogoutSessionRequired: options.sessionRequired,
    });
    const fixture = { clientId: client.clientId, clientSecret: clientSecret!, username: '', password: PASSWORD, accountId: '' };
    const config = await oidc.discovery(new URL(server.issuer), fixture.clientId, fixture.clientSecret, oidc.ClientSecretBasic(fixture.clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
    return { fixture, config, listener };
  }

  async function newUser(prefix: string): Promise<{ id: string; username: string; email: string }> {
    count += 1;
    const username = `${prefix}-${backend === 'embedded' ? 'e' : 'p'}-${count}`;
    const account = await server.services.accounts.create({ username, email: `${username}@example.test`, emailVerified: true }, PASSWORD);
    return { id: account.id, username, email: `${username}@example.test` };
  }

  /** Signs `user` in to `app` in `agent`'s session; returns the ID token's claims. */
  async function signInTo(app: App, user: { username: string }, agent: UserAgent): Promise<{ claims: oidc.IDToken; idToken: string }> {
    const start = await startAuthorization(app.config, { scope: 'openid', prompt: '' });
    const callback = await signIn(agent, start.url, { username: user.username, password: PASSWORD });
    const tokens = await oidc.authorizationCodeGrant(app.config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    return { claims: tokens.claims()!, idToken: tokens.id_token! };
  }

  function deliveries(clientId: string): Promise<DeliveryRow[]> {
    return server.storage.db<DeliveryRow>('logout_deliveries').where({ client_id: clientId }).orderBy('id');
  }

  async function audit(type: string, clientId: string): Promise<Array<Record<string, unknown>>> {
    const rows = await server.storage.db('audit_events').where({ type, client_id: clientId }).orderBy('id').select('account_id', 'details');
    return rows.map((row: { account_id: string; details: unknown }) => ({
      accountId: row.account_id,
      ...((typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as Record<string, unknown>),
    }));
  }

  /** Waits until the listener has accepted `n` tokens, and checks that nothing was refused. */
  async function acceptedBy(listener: LogoutListener, n = 1) {
    await expect.poll(() => listener.accepted.length, WAIT).toBe(n);
    expect(listener.rejected).toEqual([]);
    return listener.accepted;
  }

  /** Signs in to /account in a new browser and opens the sessions page. */
  async function sessionsPage(user: { username: string }): Promise<{ agent: UserAgent; page: Page }> {
    const agent = new UserAgent(server.issuer);
    let page = await agent.get(`${server.issuer}/account`);
    page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: user.username, password: PASSWORD });
    expect(page.status).toBe(200);
    return { agent, page: await agent.get(`${server.issuer}/account/sessions`) };
  }

  it('advertises back-channel logout with sid, and keeps client metadata to registered URIs', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.backchannel_logout_supported).toBe(true);
    expect(metadata.backchannel_logout_session_supported).toBe(true);
    for (const uri of ['http://example.com/logout', 'not a url', 'https://app.example/logout#frag', 'javascript:alert(1)']) {
      await expect(server.services.clients.create({ name: 'Bad', type: 'confidential', grantTypes: ['client_credentials'], backchannelLogoutUri: uri })).rejects.toMatchObject({
        code: 'invalid_client_metadata',
      });
    }
    await expect(server.services.clients.create({ name: 'Bad', type: 'confidential', grantTypes: ['client_credentials'], backchannelLogoutSessionRequired: true })).rejects.toMatchObject({
      code: 'invalid_client_metadata',
    });
  });

  it('RP-initiated logout: both applications sharing the session get a valid logout token; one without a URI gets nothing', async () => {
    const [first, second, silent] = [await newApp({ sessionRequired: true }), await newApp(), await newApp({ listening: false })];
    const user = await newUser('rp');
    const agent = new UserAgent(server.issuer);
    const signedIn = await signInTo(first, user, agent);
    await signInTo(second, user, agent);
    await signInTo(silent, user, agent);
    expect(signedIn.claims.sid).toEqual(expect.any(String));

    const confirm = await agent.get(oidc.buildEndSessionUrl(first.config, { id_token_hint: signedIn.idToken }).toString());
    const form = /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"|<form[^>]*action="([^"]+)"[^>]*id="op.logoutForm"/.exec(confirm.html);
    await agent.post((form?.[1] ?? form?.[2])!, { xsrf: hiddenField(confirm.html, 'xsrf'), logout: 'yes' });

    const [fromFirst] = await acceptedBy(first.listener!);
    const [fromSecond] = await acceptedBy(second.listener!);
    expect(fromFirst).toMatchObject({ iss: server.issuer, aud: first.fixture.clientId, sub: user.id, sid: signedIn.claims.sid });
    expect(fromSecond).toMatchObject({ iss: server.issuer, aud: second.fixture.clientId, sub: user.id, sid: expect.any(String) });
    expect(fromSecond!.sid).not.toBe(fromFirst!.sid);
    expect(fromFirst!.exp! - fromFirst!.iat!).toBeLessThanOrEqual(120);
    expect(await deliveries(silent.fixture.clientId)).toEqual([]);
    await expect.poll(() => deliveries(first.fixture.clientId), WAIT).toMatchObject([{ state: 'delivered', attempts: 1, reason: 'logout', jti: fromFirst!.jti, last_error: null }]);
    await expect.poll(() => audit('logout.delivered', first.fixture.clientId), WAIT).toEqual([expect.objectContaining({ accountId: user.id, sid: fromFirst!.sid, reason: 'logout' })]);
  });

  it('"sign out this device" on /account tells the applications of that session only', async () => {
    const app = await newApp();
    const user = await newUser('device');
    const phone = new UserAgent(server.issuer, { 'user-agent': FIREFOX_ON_ANDROID });
    const { claims } = await signInTo(app, user, phone);
    const { agent, page } = await sessionsPage(user);
    const item = page.html.split('<li class="account-item').find((chunk) => chunk.includes('Firefox 121 on Android 14'));
    const uid = decodeURIComponent(/sessions\/end\?session=([^"&]+)"/.exec(item ?? '')?.[1] ?? '');
    // the link asks first; its form posts to the same address
    const question = await agent.get(`${server.issuer}/account/sessions/end?session=${encodeURIComponent(uid)}`);
    const ended = await agent.post(`${server.issuer}/account/sessions/end`, { csrf: hiddenField(question.html, 'csrf'), session: uid });
    expect(ended.html).toContain('That device was signed out.');

    const [token] = await acceptedBy(app.listener!);
    expect(token).toMatchObject({ aud: app.fixture.clientId, sub: user.id, sid: claims.sid ?? expect.any(String) });
    await expect.poll(() => deliveries(app.fixture.clientId), WAIT).toMatchObject([{ reason: 'session_ended', state: 'delivered' }]);
  });

  it('"sign out everywhere" tells every application of every session, once each', async () => {
    const [first, second] = [await newApp(), await newApp()];
    const user = await newUser('everywhere');
    await signInTo(first, user, new UserAgent(server.issuer));
    const laptop = new UserAgent(server.issuer);
    await signInTo(first, user, laptop);
    await signInTo(second, user, laptop);
    const { agent, page } = await sessionsPage(user);
    const question = await agent.get(`${server.issuer}${/href="(\/account\/sessions\/end-all)"/.exec(page.html)![1]!}`);
    await agent.post(formAction(question.html), { csrf: hiddenField(question.html, 'csrf') });

    // the first application had two sessions: one token for each, with that session's sid
    const fromFirst = await acceptedBy(first.listener!, 2);
    expect(new Set(fromFirst.map((token) => token.sid)).size).toBe(2);
    await acceptedBy(second.listener!, 1);
    expect((await deliveries(first.fixture.clientId)).map((row) => row.reason)).toEqual(['signed_out_everywhere', 'signed_out_everywhere']);
  });

  it('a password reset tells the applications', async () => {
    const app = await newApp();
    const user = await newUser('reset');
    await signInTo(app, user, new UserAgent(server.issuer));
    const since = new Date();
    const browser = new UserAgent(server.issuer);
    const form = await browser.get(`${server.issuer}/reset`);
    await browser.post(`${server.issuer}/reset`, { csrf: hiddenField(form.html, 'csrf'), login: user.email });
    const link = extractLink(await waitForMail(outbox, { to: user.email, since }, 10_000), '/reset/complete');
    const complete = await browser.get(link);
    const password = 'a completely new passphrase';
    await browser.post(formAction(complete.html), { csrf: hiddenField(complete.html, 'csrf'), token: hiddenField(complete.html, 'token'), password, confirm: password });

    const [token] = await acceptedBy(app.listener!);
    expect(token).toMatchObject({ aud: app.fixture.clientId, sub: user.id });
    await expect.poll(() => deliveries(app.fixture.clientId), WAIT).toMatchObject([{ reason: 'password_reset', state: 'delivered' }]);
  });

  it(`deleting the account (${backend === 'embedded' ? 'the domain call postern user delete makes' : 'postern user delete beside the server'}) tells the applications`, async () => {
    const app = await newApp();
    const user = await newUser('deleted');
    const { claims } = await signInTo(app, user, new UserAgent(server.issuer));
    if (backend === 'embedded') {
      // embedded PGlite admits one process: the CLI cannot run beside this server
      await server.services.accounts.delete(user.id);
    } else {
      const result = await runCli(['user', 'delete', user.username], cluster.env);
      expect(result.code, result.stderr).toBe(0);
    }
    const [token] = await acceptedBy(app.listener!);
    expect(token).toMatchObject({ aud: app.fixture.clientId, sub: user.id, sid: claims.sid ?? expect.any(String) });
    await expect.poll(() => deliveries(app.fixture.clientId), WAIT).toMatchObject([{ reason: 'account_deleted', state: 'delivered' }]);
  });

  it('an application that is down hears it once it is back: delivered by a retry, once', async () => {
    const app = await newApp();
    const user = await newUser('down');
    await signInTo(app, user, new UserAgent(server.issuer));
    await app.listener!.down();
    await server.services.accounts.delete(user.id);

    await expect.poll(async () => (await deliveries(app.fixture.clientId))[0], WAIT).toMatchObject({ state: 'pending', last_error: expect.stringContaining('could not connect') });
    await app.listener!.up();
    const [token] = await acceptedBy(app.listener!);
    await expect.poll(async () => (await deliveries(app.fixture.clientId))[0], WAIT).toMatchObject({ state: 'delivered', last_error: null, jti: token!.jti });
    const [row] = await deliveries(app.fixture.clientId);
    expect(row!.attempts).toBeGreaterThanOrEqual(2);
    // nothing further arrives: the retries stopped with the delivery
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(app.listener!.accepted).toHaveLength(1);
    expect(app.listener!.rejected).toEqual([]);
  });

  it('an application that never comes back ends failed and audited; redirects are not followed, silence times out', async () => {
    const gone = await newApp();
    const redirecting = await newApp();
    const hanging = await newApp();
    const target = await newApp();
    redirecting.listener!.mode = 'redirect';
    redirecting.listener!.redirectTo = target.listener!.uri;
    hanging.listener!.mode = 'hang';
    const user = await newUser('gone');
    const agent = new UserAgent(server.issuer);
    for (const app of [gone, redirecting, hanging]) await signInTo(app, user, agent);
    await gone.listener!.down();
    await server.services.accounts.delete(user.id);

    for (const [app, error] of [
      [gone, 'could not connect'],
      [redirecting, 'answered 302 (redirects are not followed)'],
      [hanging, 'no answer within 1000 ms'],
    ] as const) {
      await expect.poll(async () => (await deliveries(app.fixture.clientId))[0]?.state, WAIT).toBe('failed');
      const [row] = await deliveries(app.fixture.clientId);
      expect(row).toMatchObject({ attempts: 3, last_error: expect.stringContaining(error) });
      await expect.poll(() => audit('logout.failed', app.fixture.clientId), WAIT).toEqual([
        expect.objectContaining({ accountId: user.id, deliveryId: String(row!.id), attempts: 3, error: expect.stringContaining(error) }),
      ]);
    }
    expect(redirecting.listener!.requests).toBe(3);
    expect(target.listener!.requests).toBe(0);
    const failed = await server.services.logoutDeliveries.list({ state: 'failed', clientId: gone.fixture.clientId });
    expect(failed).toMatchObject([{ clientId: gone.fixture.clientId, sub: user.id, state: 'failed', attempts: 3, nextAttemptAt: null }]);
  });
});
