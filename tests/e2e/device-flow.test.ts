import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_CODE_GRANT_TYPE } from '../../src/domain/clients.ts';
import { availableBackends } from '../support/backends.ts';
import { discover, seed, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

export const DEVICE_ENV = { POSTERN_DEVICE_FLOW: 'on' };

/** A public client that may use only the device grant (and refresh tokens from it). */
export async function deviceClient(server: TestServer, name = 'Living Room TV', firstParty = false): Promise<oidc.Configuration> {
  const { client } = await server.services.clients.create({ name, type: 'public', grantTypes: [DEVICE_CODE_GRANT_TYPE, 'refresh_token'], firstParty });
  return oidc.discovery(new URL(server.issuer), client.clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
}

export const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

/** The code page's answer to `userCode`, typed into a fresh page of `agent`'s browser. */
async function enterCode(server: TestServer, agent: UserAgent, userCode: string): Promise<Page> {
  const page = await agent.get(`${server.issuer}/device`);
  expect(page.status).toBe(200);
  return agent.post(formAction(page.html), { xsrf: hiddenField(page.html, 'xsrf'), user_code: userCode });
}

async function auditTypes(server: TestServer, type: string): Promise<Array<Record<string, unknown>>> {
  const events = await server.services.audit.page({ type }, { limit: 100 });
  return events.map((event) => ({ ...event.details, accountId: event.accountId, clientId: event.clientId }));
}

describe.each(availableBackends())('device authorization grant on %s', (backend) => {
  let server: TestServer;
  let fixture: Fixture;
  let device: oidc.Configuration;

  beforeAll(async () => {
    server = await startTestServer(backend, DEVICE_ENV);
    fixture = await seed(server);
    device = await deviceClient(server);
  });
  afterAll(() => server?.close());

  /** From the confirmation page on: Continue, sign in, then Allow or Deny on the consent page. */
  async function approveOrDeny(agent: UserAgent, confirmPage: Page, answer: 'allow' | 'deny'): Promise<Page> {
    expect(confirmPage.html).toContain('Is this your device?');
    let page = await agent.post(formAction(confirmPage.html), { xsrf: hiddenField(confirmPage.html, 'xsrf'), user_code: hiddenField(confirmPage.html, 'user_code'), confirm: 'yes' });
    expect(page.html).toContain('name="password"');
    page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: fixture.username, password: fixture.password });
    expect(page.html).toContain('on your device wants to access your account');
    return agent.post(formAction(page.html, answer === 'allow' ? 1 : 0), { csrf: hiddenField(page.html, 'csrf') });
  }

  it('discovery names the device authorization endpoint', async () => {
    const metadata = device.serverMetadata();
    expect(metadata.device_authorization_endpoint).toBe(`${server.issuer}/device/auth`);
    expect(metadata.grant_types_supported).toContain(DEVICE_CODE_GRANT_TYPE);
  });

  it('a device gets tokens once the user approves through verification_uri_complete', async () => {
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid profile offline_access' });
    expect(started.user_code).toMatch(USER_CODE);
    expect(started.verification_uri).toBe(`${server.issuer}/device`);
    expect(started.interval).toBe(5);
    expect(started.expires_in).toBe(600);

    const agent = new UserAgent(server.issuer);
    const prefilled = await agent.get(started.verification_uri_complete!);
    expect(prefilled.status).toBe(200);
    // no script submits it: the code waits in the field for the person to press Continue
    expect(prefilled.html).not.toContain('<script');
    expect(hiddenField(prefilled.html, 'xsrf')).not.toBe('');
    expect(prefilled.html).toContain(`value="${started.user_code}"`);
    const confirm = await agent.post(formAction(prefilled.html), { xsrf: hiddenField(prefilled.html, 'xsrf'), user_code: started.user_code });
    expect(confirm.html).toContain('Living Room TV');
    expect(confirm.html).toContain(started.user_code);

    const done = await approveOrDeny(agent, confirm, 'allow');
    expect(done.status).toBe(200);
    expect(done.html).toContain('Your device is connected');

    const tokens = await oidc.pollDeviceAuthorizationGrant(device, started);
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.claims()?.sub).toBe(fixture.accountId);
    const approvals = await auditTypes(server, 'device.approved');
    expect(approvals).toContainEqual(expect.objectContaining({ accountId: fixture.accountId, clientId: device.clientMetadata().client_id }));
  });

  it('a device always asks: a first-party one too, and again in a browser that approved it before', async () => {
    const ownDevice = await deviceClient(server, 'Our Own TV', true);
    const agent = new UserAgent(server.issuer);
    const first = await oidc.initiateDeviceAuthorization(ownDevice, { scope: 'openid' });
    expect((await approveOrDeny(agent, await enterCode(server, agent, first.user_code), 'allow')).html).toContain('Your device is connected');
    // signed in already: Continue leads straight to the question, never past it
    const second = await oidc.initiateDeviceAuthorization(ownDevice, { scope: 'openid' });
    const confirm = await enterCode(server, agent, second.user_code);
    const asked = await agent.post(formAction(confirm.html), { xsrf: hiddenField(confirm.html, 'xsrf'), user_code: second.user_code, confirm: 'yes' });
    expect(asked.html).toContain('Our Own TV on your device wants to access your account');
    expect(asked.html).toContain(second.user_code);
  });

  it('the code page speaks the browser\'s language', async () => {
    const pages = await Promise.all(
      ['de', 'fr', 'es'].map(async (language) => {
        const response = await fetch(`${server.issuer}/device`, { headers: { 'accept-language': language } });
        return { language, status: response.status, contentLanguage: response.headers.get('content-language'), html: await response.text() };
      }),
    );
    expect(pages.map(({ language, status, contentLanguage }) => [language, status, contentLanguage])).toEqual([['de', 200, 'de'], ['fr', 200, 'fr'], ['es', 200, 'es']]);
    expect(pages[0]!.html).toContain('<h1>Gerät verbinden</h1>');
    expect(pages[1]!.html).toContain('<h1>Connecter un appareil</h1>');
    expect(pages[2]!.html).toContain('<h1>Conectar un dispositivo</h1>');
  });

  it('the device consent offers no account switch (the engine resumes a device with its own request, so the switch would not take)', async () => {
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    const agent = new UserAgent(server.issuer);
    const confirm = await enterCode(server, agent, started.user_code);
    let page = await agent.post(formAction(confirm.html), { xsrf: hiddenField(confirm.html, 'xsrf'), user_code: started.user_code, confirm: 'yes' });
    page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: fixture.username, password: fixture.password });
    expect(page.html).toContain('on your device wants to access your account');
    expect(page.html).not.toContain('/switch-account');
    expect([...page.html.matchAll(/<form method="post"/g)]).toHaveLength(2);
  });

  it('a code typed in lower case with a space instead of the dash is the same code', async () => {
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    const agent = new UserAgent(server.issuer);
    const confirm = await enterCode(server, agent, ` ${started.user_code.toLowerCase().replace('-', ' ')} `);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('Is this your device?');
  });

  it('the user denies: the device is told access_denied', async () => {
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    const agent = new UserAgent(server.issuer);
    const done = await approveOrDeny(agent, await enterCode(server, agent, started.user_code), 'deny');
    expect(done.html).toContain('Your device was not connected');
    await expect(oidc.pollDeviceAuthorizationGrant(device, started)).rejects.toMatchObject({ error: 'access_denied' });
    expect(await auditTypes(server, 'device.denied')).toContainEqual(expect.objectContaining({ accountId: fixture.accountId }));
  });

  it('cancelling on the confirmation page refuses the device too', async () => {
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    const agent = new UserAgent(server.issuer);
    const confirm = await enterCode(server, agent, started.user_code);
    const done = await agent.post(formAction(confirm.html), { xsrf: hiddenField(confirm.html, 'xsrf'), user_code: started.user_code, abort: 'yes' });
    expect(done.html).toContain('Your device was not connected');
    await expect(oidc.pollDeviceAuthorizationGrant(device, started)).rejects.toMatchObject({ error: 'access_denied' });
  });

  it('an approved code cannot be entered again', async () => {
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    const agent = new UserAgent(server.issuer);
    await approveOrDeny(agent, await enterCode(server, agent, started.user_code), 'allow');
    const again = await enterCode(server, new UserAgent(server.issuer), started.user_code);
    expect(again.status).toBe(400);
    expect(again.html).toContain('That code has already been used');
  });

  it('a wrong code is answered in plain words and audited', async () => {
    const page = await enterCode(server, new UserAgent(server.issuer), 'BCDF-GHJK');
    expect(page.status).toBe(400);
    expect(page.html).toContain('That code is not right');
    // what was typed stays in the field
    expect(page.html).toContain('value="BCDF-GHJK"');
    expect(await auditTypes(server, 'device.code_failed')).toContainEqual(expect.objectContaining({ reason: 'not_found' }));
  });

  it('a post without the page\'s form token is answered with the code page, not an error, and counts as no guess', async () => {
    const before = (await auditTypes(server, 'device.code_failed')).length;
    const agent = new UserAgent(server.issuer);
    await agent.get(`${server.issuer}/device`);
    const page = await agent.post(`${server.issuer}/device`, { xsrf: 'forged', user_code: 'BCDF-GHJK' });
    expect(page.status).toBe(400);
    expect(page.html).toContain('This page had expired. Enter the code again.');
    expect(page.html).not.toContain('That code is not right');
    expect((await auditTypes(server, 'device.code_failed')).length).toBe(before);
  });

  it('an expired code is refused on the page and at the token endpoint', async () => {
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    const provider = server.provider;
    const code = await provider.DeviceCode.find(started.device_code);
    const stored = await provider.DeviceCode.adapter.find(code!.jti);
    await provider.DeviceCode.adapter.upsert(code!.jti, { ...stored!, exp: Math.floor(Date.now() / 1000) - 5 }, 60);

    const page = await enterCode(server, new UserAgent(server.issuer), started.user_code);
    expect(page.status).toBe(400);
    expect(page.html).toContain('That code has expired');
    await expect(oidc.pollDeviceAuthorizationGrant(device, started)).rejects.toMatchObject({ error: 'expired_token' });
  });

  it('polling again before the interval is answered slow_down', async () => {
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    const poll = () =>
      fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: started.device_code, client_id: device.clientMetadata().client_id }),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as { error?: string } }));
    // the first poll is answered on its merits, however soon it comes
    expect(await poll()).toEqual({ status: 400, body: expect.objectContaining({ error: 'authorization_pending' }) });
    expect(await poll()).toEqual({ status: 400, body: expect.objectContaining({ error: 'slow_down' }) });
  });

  it('the device authorization endpoint is rate limited per address and client', async () => {
    const response = await fetch(`${server.issuer}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: device.clientMetadata().client_id, scope: 'openid' }) });
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-policy')).toBe('60;w=60');
    expect(response.headers.get('cache-control')).toContain('no-store');
  });

  it('a client without the device grant type is refused', async () => {
    const webApp = await discover(server, fixture);
    // the engine's answer (RFC 8628 §3.2 leaves the code to RFC 6749 §5.2)
    await expect(oidc.initiateDeviceAuthorization(webApp, { scope: 'openid' })).rejects.toMatchObject({
      error: 'invalid_request',
      error_description: `${DEVICE_CODE_GRANT_TYPE} is not allowed for this client`,
    });
  });
});

describe.each(availableBackends())('guessing user codes on %s', (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(backend, {
      ...DEVICE_ENV,
      POSTERN_DEVICE_CODE_BROWSER_FAILURES: '3',
      POSTERN_DEVICE_CODE_IP_FAILURES: '5',
      POSTERN_RATE_LIMIT_DEVICE: '12/1h',
      POSTERN_DEVICE_POLL_INTERVAL: '2',
    });
  });
  afterAll(() => server?.close());

  it('locks a browser, then the address, and the real code is not looked up while locked', async () => {
    const device = await deviceClient(server);
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    const guesser = new UserAgent(server.issuer);
    let page = await guesser.get(`${server.issuer}/device`);
    // each answer carries the form token for the next try
    const guess = async (userCode: string) => (page = await guesser.post(`${server.issuer}/device`, { xsrf: hiddenField(page.html, 'xsrf'), user_code: userCode }));
    for (const code of ['BBBB-BBBB', 'CCCC-CCCC', 'DDDD-DDDD']) {
      await guess(code);
      expect(page.status).toBe(400);
      expect(page.html).toContain('That code is not right');
    }
    // the fourth try from this browser is refused before any lookup, even with the right code
    await guess(started.user_code);
    expect(page.status).toBe(429);
    expect(page.html).toContain('Please wait');
    expect(await auditTypes(server, 'device.code_locked')).toContainEqual(expect.objectContaining({ scope: 'browser' }));

    // another browser on the same address may try until the address's threshold
    const other = new UserAgent(server.issuer);
    page = await enterCode(server, other, 'FFFF-FFFF');
    expect(page.status).toBe(400);
    page = await other.post(formAction(page.html), { xsrf: hiddenField(page.html, 'xsrf'), user_code: 'GGGG-GGGG' });
    expect(page.status).toBe(400);
    expect(await auditTypes(server, 'device.code_locked')).toContainEqual(expect.objectContaining({ scope: 'ip' }));
    page = await enterCode(server, new UserAgent(server.issuer), started.user_code);
    expect(page.status).toBe(429);
  });

  it('a device told slow_down is answered again once it waits the interval', async () => {
    const device = await deviceClient(server, 'Slow TV');
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    expect(started.interval).toBe(2);
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const poll = async () => {
      const response = await fetch(`${server.issuer}/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: started.device_code, client_id: device.clientMetadata().client_id }),
      });
      return ((await response.json()) as { error: string }).error;
    };
    expect(await poll()).toBe('authorization_pending');
    await wait(1000);
    expect(await poll()).toBe('slow_down');
    // the refused poll did not move the mark: an interval after the answered one, it is answered
    await wait(1100);
    expect(await poll()).toBe('authorization_pending');
  });

  it('posts to /device are rate limited per address', async () => {
    const post = async () => {
      const response = await fetch(`${server.issuer}/device`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'user_code=BCDF-GHJK' });
      await response.text();
      return response;
    };
    let response = await post();
    expect(response.headers.get('ratelimit-policy')).toBe('12;w=3600');
    for (let i = 0; i < 12 && response.headers.get('ratelimit-remaining') !== '0'; i += 1) response = await post();
    expect(response.headers.get('ratelimit-remaining')).toBe('0');
    response = await post();
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('with the device flow off (the default)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded');
  });
  afterAll(() => server?.close());

  it('discovery names no device authorization endpoint and /device serves nothing', async () => {
    const metadata = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata).not.toHaveProperty('device_authorization_endpoint');
    expect(metadata.grant_types_supported).not.toContain(DEVICE_CODE_GRANT_TYPE);
    expect((await fetch(`${server.issuer}/device`)).status).toBe(404);
    expect((await fetch(`${server.issuer}/device/auth`, { method: 'POST', body: new URLSearchParams({ client_id: 'x' }) })).status).toBe(404);
  });
});
