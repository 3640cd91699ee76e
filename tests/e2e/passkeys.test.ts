import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../support/authenticator.ts';
import { availableBackends } from '../support/backends.ts';
import { discover, seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { SoftwarePasskey } from '../support/software-passkey.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

const PHR = 'urn:postern:acr:phr';
const REFUSED = 'That passkey could not sign you in.';

/** The options a page hands its passkey script: a data- attribute, HTML-escaped JSON. */
function passkeyOptions(html: string): { challenge: string; allowCredentials?: Array<{ id: string }> } {
  const raw = /data-options="([^"]*)"/.exec(html)?.[1];
  if (!raw) throw new Error('no passkey options on the page');
  return JSON.parse(raw.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')) as { challenge: string };
}

/** The passkey form's address on a page (the login page's second form, the step page's first). */
const passkeyAction = (html: string) => /<form method="post" action="([^"]+\/passkey)"/.exec(html)![1]!;

describe.each(availableBackends())('passkeys over HTTP on %s', (backend) => {
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;
  let key: SoftwarePasskey;
  const handle = () => Buffer.from(fixture.accountId).toString('base64url');

  beforeAll(async () => {
    server = await startTestServer(backend, { POSTERN_LOCKOUT_THRESHOLD: '3' }, undefined, { hostname: 'localhost' });
    fixture = await seed(server);
    config = await discover(server, fixture);
    key = new SoftwarePasskey('localhost', new URL(server.issuer).origin);
    const ceremony = `register:${fixture.accountId}`;
    const account = (await server.services.accounts.findById(fixture.accountId))!;
    await server.services.passkeys.register(ceremony, fixture.accountId, key.register(await server.services.passkeys.registrationOptions(ceremony, account)), 'Software key');
  });
  afterAll(() => server?.close());

  async function loginPage(agent: UserAgent, parameters: Record<string, string> = {}) {
    const start = await startAuthorization(config, parameters);
    const page = await agent.get(start.url.href);
    expect(page.html).toContain('autocomplete="username webauthn"');
    return { start, page };
  }

  const postAssertion = (agent: UserAgent, page: Page, response: string) => agent.post(passkeyAction(page.html), { csrf: hiddenField(page.html, 'csrf'), response });

  it('serves the passkey scripts from its own origin with an ETag and a strict CSP on the page', async () => {
    for (const path of ['/assets/webauthn.js', '/assets/passkeys.js']) {
      const response = await fetch(new URL(path, server.issuer));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const etag = response.headers.get('etag')!;
      // (fetch() sends no-cache with a conditional request: the 304 itself is tested with the stylesheet)
      expect(etag).toMatch(/^W\/"[\w-]{27}"$/);
    }
    const agent = new UserAgent(server.issuer);
    const { start } = await loginPage(agent);
    const response = await agent.request(start.url.href);
    const page = await agent.get(new URL(response.headers.get('location')!, server.issuer).href);
    expect(page.html).toContain('<script src="/assets/passkeys.js" defer></script>');
    expect(page.html).not.toMatch(/<script>|<script (?!src=)/);
    const discovery = (await (await fetch(new URL('/.well-known/openid-configuration', server.issuer))).json()) as { acr_values_supported: string[] };
    expect(discovery.acr_values_supported).toContain(PHR);
  });

  it('signs in without a password: the code exchange carries acr phr and amr pop hwk user mfa', async () => {
    const agent = new UserAgent(server.issuer);
    const { start, page } = await loginPage(agent);
    const consent = await postAssertion(agent, page, key.assert(passkeyOptions(page.html), handle()));
    expect(consent.html).toContain('wants to access your account');
    const callback = await agent.post(formAction(consent.html, 1), { csrf: hiddenField(consent.html, 'csrf') });
    expect(callback.status).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    expect(tokens.claims()).toMatchObject({ sub: fixture.accountId, acr: PHR, amr: ['pop', 'hwk', 'user', 'mfa'] });
  });

  it('refuses a replayed assertion, a wrong origin, another challenge and an unknown key, each audited', async () => {
    // an account of its own: three refusals reach this suite's lockout threshold
    const owner = await seed(server, { username: 'refused' });
    const key = new SoftwarePasskey('localhost', new URL(server.issuer).origin);
    const account = (await server.services.accounts.findById(owner.accountId))!;
    await server.services.passkeys.register(`register:${account.id}`, account.id, key.register(await server.services.passkeys.registrationOptions(`register:${account.id}`, account)), 'k');
    const handle = () => Buffer.from(owner.accountId).toString('base64url');
    const failures = async (reason: string) =>
      (await server.services.audit.page({ accountId: owner.accountId, type: 'login.failed' }, { limit: 100 })).filter((event) => event.details.reason === reason).length;
    const agent = new UserAgent(server.issuer);
    const { page } = await loginPage(agent);
    const response = key.assert(passkeyOptions(page.html), handle());
    expect((await postAssertion(agent, page, response)).html).toContain('wants to access your account');

    const again = new UserAgent(server.issuer);
    const second = (await loginPage(again)).page;
    const replayed = await postAssertion(again, second, response);
    expect(replayed.status).toBe(401);
    expect(replayed.html).toContain(REFUSED);
    // refused, the page does not offer the same passkey again by itself
    expect(replayed.html).not.toContain('data-autofill');
    expect(await failures('passkey_replayed')).toBe(1);

    const third = (await loginPage(again)).page;
    const phished = await postAssertion(again, third, key.assert(passkeyOptions(third.html), handle(), { origin: 'http://localhost.evil.example' }));
    expect(phished.status).toBe(401);
    expect(await failures('passkey_wrong_origin')).toBe(1);

    const fourth = (await loginPage(again)).page;
    const otherChallenge = await postAssertion(again, fourth, key.assert({ challenge: passkeyOptions(second.html).challenge }, handle()));
    expect(otherChallenge.status).toBe(401);

    const fifth = (await loginPage(again)).page;
    const stranger = new SoftwarePasskey('localhost', new URL(server.issuer).origin);
    const unknown = await postAssertion(again, fifth, stranger.assert(passkeyOptions(fifth.html), handle()));
    expect(unknown.status).toBe(401);
    const events = await server.services.audit.page({ type: 'login.failed' }, { limit: 100 });
    expect(events.some((event) => event.details.reason === 'passkey_unknown_credential' && event.accountId === null)).toBe(true);

    const garbage = await again.post(passkeyAction(fifth.html), { csrf: hiddenField(fifth.html, 'csrf'), response: '{"id":' });
    expect(garbage.status).toBe(401);

    // a valid assertion without the form's token: a cross-site post is refused before it is looked at
    const sixth = (await loginPage(again)).page;
    const forged = await again.post(passkeyAction(sixth.html), { response: key.assert(passkeyOptions(sixth.html), handle()) });
    expect(forged.status).toBe(403);
  });

  it('counts refused passkeys in the account lockout, which then turns the right password away too', async () => {
    const owner = await seed(server, { username: 'lockme' });
    const ownKey = new SoftwarePasskey('localhost', new URL(server.issuer).origin);
    const account = (await server.services.accounts.findById(owner.accountId))!;
    await server.services.passkeys.register(`register:${account.id}`, account.id, ownKey.register(await server.services.passkeys.registrationOptions(`register:${account.id}`, account)), 'k');
    const agent = new UserAgent(server.issuer);
    for (let attempt = 0; attempt < 3; attempt++) {
      const { page } = await loginPage(agent);
      const refused = await postAssertion(agent, page, ownKey.assert(passkeyOptions(page.html), Buffer.from(owner.accountId).toString('base64url'), { origin: 'https://evil.example' }));
      expect(refused.status).toBe(401);
    }
    const locked = await server.services.audit.page({ accountId: owner.accountId, type: 'login.locked' }, { limit: 10 });
    expect(locked).toHaveLength(1);
    const { page } = await loginPage(agent);
    const password = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: owner.username, password: owner.password });
    expect(password.status).toBe(401);
    // and the right passkey as well
    const { page: next } = await loginPage(agent);
    const rightKey = await postAssertion(agent, next, ownKey.assert(passkeyOptions(next.html), Buffer.from(owner.accountId).toString('base64url')));
    expect(rightKey.status).toBe(401);
  });

  it('offers the passkey after the password when the client asks for mfa, and demands it for phr', async () => {
    const agent = new UserAgent(server.issuer);
    const { start, page } = await loginPage(agent, { acr_values: PHR });
    const step = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: fixture.username, password: fixture.password });
    expect(step.html).toContain('Confirm with a passkey');
    const options = passkeyOptions(step.html);
    expect(options.allowCredentials?.map((credential) => credential.id)).toEqual([key.id]);
    // the app's codes are no answer to phr, even typed at their own address
    const uid = /\/interaction\/([^/]+)\/passkey/.exec(step.html)![1]!;
    expect((await agent.get(new URL(`/interaction/${uid}/totp`, server.issuer).href)).status).toBe(400);
    const consent = await postAssertion(agent, step, key.assert(options, handle()));
    expect(consent.html).toContain('wants to access your account');
    const callback = await agent.post(formAction(consent.html, 1), { csrf: hiddenField(consent.html, 'csrf') });
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    expect(tokens.claims()).toMatchObject({ acr: PHR, amr: ['pwd', 'pop', 'hwk', 'user', 'mfa'] });
  });
});

describe('passkeys with user verification preferred (embedded)', () => {
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;
  let key: SoftwarePasskey;
  const handle = () => Buffer.from(fixture.accountId).toString('base64url');

  beforeAll(async () => {
    server = await startTestServer('embedded', { POSTERN_PASSKEY_USER_VERIFICATION: 'preferred' }, undefined, { hostname: 'localhost' });
    fixture = await seed(server);
    config = await discover(server, fixture);
    key = new SoftwarePasskey('localhost', new URL(server.issuer).origin);
    const account = (await server.services.accounts.findById(fixture.accountId))!;
    const ceremony = `register:${account.id}`;
    await server.services.passkeys.register(ceremony, account.id, key.register(await server.services.passkeys.registrationOptions(ceremony, account), { userVerified: false }), 'Security key');
  });
  afterAll(() => server?.close());

  it('refuses a key that did not verify its user on its own, takes it after the password, and offers it beside TOTP', async () => {
    const agent = new UserAgent(server.issuer);
    const first = await agent.get((await startAuthorization(config)).url.href);
    expect(passkeyOptions(first.html)).toMatchObject({ userVerification: 'preferred' });
    const alone = await agent.post(passkeyAction(first.html), { csrf: hiddenField(first.html, 'csrf'), response: key.assert(passkeyOptions(first.html), handle(), { userVerified: false }) });
    expect(alone.status).toBe(401);
    const events = await server.services.audit.page({ accountId: fixture.accountId, type: 'login.failed' }, { limit: 10 });
    expect(events[0]?.details.reason).toBe('passkey_user_not_verified');

    // TOTP on: the code page offers the passkey instead
    const enrolment = await server.services.totp.beginEnrolment(fixture.accountId, fixture.username);
    expect(await server.services.totp.confirmEnrolment(fixture.accountId, await new Authenticator(enrolment.secret).code())).toBe(true);
    const start = await startAuthorization(config);
    const login = await agent.get(start.url.href);
    const codePage = await agent.post(formAction(login.html), { csrf: hiddenField(login.html, 'csrf'), login: fixture.username, password: fixture.password });
    expect(codePage.html).toContain('Use a passkey instead');
    const stepLink = /href="([^"]+\/passkey)"/.exec(codePage.html)![1]!;
    const step = await agent.get(new URL(stepLink, server.issuer).href);
    expect(step.html).toContain('Use a code from your authenticator app instead');
    const wrong = await agent.post(passkeyAction(step.html), { csrf: hiddenField(step.html, 'csrf'), response: key.assert(passkeyOptions(step.html), handle(), { origin: 'https://evil.example' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('Confirm with a passkey');
    expect(wrong.html).toContain(REFUSED);
    const consent = await agent.post(passkeyAction(wrong.html), { csrf: hiddenField(wrong.html, 'csrf'), response: key.assert(passkeyOptions(wrong.html), handle(), { userVerified: false }) });
    expect(consent.html).toContain('wants to access your account');
    const callback = await agent.post(formAction(consent.html, 1), { csrf: hiddenField(consent.html, 'csrf') });
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    // no user verification: the password and the key make two factors, without "user"
    expect(tokens.claims()).toMatchObject({ acr: PHR, amr: ['pwd', 'pop', 'hwk', 'mfa'] });
  });
});

describe('the passkey offer after a password (embedded)', () => {
  let server: TestServer;
  let config: oidc.Configuration;

  beforeAll(async () => {
    server = await startTestServer('embedded', {}, undefined, { hostname: 'localhost' });
    config = await discover(server, await seed(server));
  });
  afterAll(() => server?.close());

  it('comes after a password alone, "not now" goes on and quiets it, a refused registration says so', async () => {
    const fixture = await seed(server, { username: 'offered' });
    const agent = new UserAgent(server.issuer);
    const signIn = async () => {
      const page = await agent.get((await startAuthorization(config, { prompt: 'login consent' })).url.href);
      return agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: fixture.username, password: fixture.password });
    };
    const offer = await signIn();
    expect(offer.html).toContain('Sign in faster next time');
    const options = passkeyOptions(offer.html);
    const key = new SoftwarePasskey('localhost', new URL(server.issuer).origin);
    const refused = await agent.post(formAction(offer.html), { csrf: hiddenField(offer.html, 'csrf'), name: 'x', response: key.register(options, { origin: 'https://evil.example' }) });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('The passkey could not be added.');
    const skipAction = /<form method="post" action="([^"]+\/passkey-offer\/skip)"/.exec(refused.html)![1]!;
    const consent = await agent.post(skipAction, { csrf: hiddenField(refused.html, 'csrf') });
    expect(consent.html).toContain('wants to access your account');
    expect(await server.services.passkeys.list(fixture.accountId)).toEqual([]);
    // "not now" holds: the next sign-in goes straight on
    expect((await signIn()).html).toContain('wants to access your account');
    // once passed, the offer's way on cannot be taken again
    expect((await agent.post(skipAction, { csrf: hiddenField(refused.html, 'csrf') })).status).toBeGreaterThanOrEqual(400);
  });
});
