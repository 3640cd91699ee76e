import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { REDIRECT_URI } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';
import { authorizationRequest, errorOf, exchange, follow, PROFILE, signInThrough, useConformanceSetup, verifyIdToken, withPkce, type ConformanceSetup, type Rp } from './support.ts';

/**
 * The OpenID Connect Basic OP certification plan (oidcc-basic-certification-test-plan, response
 * type code, static clients, client_secret_basic and client_secret_post), one test per module,
 * each named after it and checking what the module checks. The production tier when it is
 * configured, the embedded one otherwise.
 */
const backend = availableBackends().at(-1)!;

describe(`OpenID Connect Basic OP plan on ${backend}`, () => {
  const s = useConformanceSetup(backend);

  async function signedIn(rp: Rp = s.client, parameters: Record<string, string | undefined> = {}, agent = new UserAgent(s.server.issuer)) {
    const flow = authorizationRequest(rp, parameters);
    const callback = await signInThrough(s, agent, flow);
    const tokens = await exchange(rp, callback, flow);
    return { agent, flow, callback, tokens };
  }

  async function userinfo(rp: Rp, accessToken: string) {
    return oidc.fetchUserInfo(rp.config, accessToken, s.accountId);
  }

  it('oidcc-server: code flow with client_secret_basic, an RS256 ID token with iss, aud, sub, exp, iat, nonce; state returned', async () => {
    const { tokens, callback, flow } = await signedIn();
    expect(callback.searchParams.get('state')).toBe(flow.state);
    expect(callback.searchParams.get('iss')).toBe(s.server.issuer);
    const { payload } = await verifyIdToken(s, s.client, tokens.id_token!);
    expect(payload).toMatchObject({ iss: s.server.issuer, aud: s.client.clientId, sub: s.accountId, nonce: flow.nonce });
    expect(payload.exp! > payload.iat!).toBe(true);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
  });

  it('oidcc-response-type-missing: a request without response_type is refused', async () => {
    const url = authorizationRequest(s.client).url;
    url.searchParams.delete('response_type');
    const answer = errorOf(await follow(new UserAgent(s.server.issuer), url));
    expect(['invalid_request', 'unsupported_response_type']).toContain(answer.error);
  });

  it('oidcc-idtoken-signature: the ID token is RS256, names its key, and verifies against the JWKS', async () => {
    const { tokens } = await signedIn();
    const { alg, kid } = await verifyIdToken(s, s.client, tokens.id_token!);
    expect(alg).toBe('RS256');
    const jwks = (await (await fetch(new URL('/jwks', s.server.issuer))).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toContain(kid);
  });

  it('oidcc-userinfo-get: userinfo answers a GET with the bearer token', async () => {
    const { tokens } = await signedIn();
    const response = await fetch(new URL('/me', s.server.issuer), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ sub: s.accountId });
  });

  it('oidcc-userinfo-post-header: userinfo answers a POST with the bearer token in the header', async () => {
    const { tokens } = await signedIn();
    const response = await fetch(new URL('/me', s.server.issuer), { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ sub: s.accountId });
  });

  it('oidcc-userinfo-post-body: userinfo answers a POST with the access token in the form body', async () => {
    const { tokens } = await signedIn();
    const response = await fetch(new URL('/me', s.server.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: tokens.access_token }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ sub: s.accountId });
  });

  it('oidcc-ensure-request-without-nonce-succeeds-for-code-flow: without nonce a code flow succeeds with PKCE; with neither it is refused (by design)', async () => {
    const agent = new UserAgent(s.server.issuer);
    const flow = await withPkce(s.client, { nonce: undefined });
    const tokens = await exchange(s.client, await signInThrough(s, agent, flow), flow);
    expect((await verifyIdToken(s, s.client, tokens.id_token!)).payload.nonce).toBeUndefined();
    // the module's own request carries neither: Postern refuses it (README: Certification)
    const bare = authorizationRequest(s.client, { nonce: undefined });
    expect(errorOf(await follow(agent, bare.url))).toMatchObject({ error: 'invalid_request', redirected: true });
  });

  it('oidcc-scope-profile: the profile scope releases the profile claims', async () => {
    const { tokens } = await signedIn(s.client, { scope: 'openid profile' });
    const claims = await userinfo(s.client, tokens.access_token);
    const { phone_number: _p, phone_number_verified: _v, address: _a, ...profile } = PROFILE;
    expect(claims).toMatchObject({ ...profile, preferred_username: 'connie' });
    expect(claims.updated_at).toBeTypeOf('number');
  });

  it('oidcc-scope-email: the email scope releases email and email_verified', async () => {
    const { tokens } = await signedIn(s.client, { scope: 'openid email' });
    expect(await userinfo(s.client, tokens.access_token)).toMatchObject({ email: 'connie@example.test', email_verified: true });
  });

  it('oidcc-scope-address: the address scope releases the address', async () => {
    const { tokens } = await signedIn(s.client, { scope: 'openid address' });
    expect(await userinfo(s.client, tokens.access_token)).toMatchObject({ address: PROFILE.address });
  });

  it('oidcc-scope-phone: the phone scope releases phone_number and phone_number_verified', async () => {
    const { tokens } = await signedIn(s.client, { scope: 'openid phone' });
    expect(await userinfo(s.client, tokens.access_token)).toMatchObject({ phone_number: PROFILE.phone_number, phone_number_verified: true });
  });

  it('oidcc-scope-all: profile, email, address and phone together release them all', async () => {
    const { tokens } = await signedIn(s.client, { scope: 'openid profile email address phone' });
    expect(await userinfo(s.client, tokens.access_token)).toMatchObject({ ...PROFILE, email: 'connie@example.test' });
  });

  it('oidcc-ensure-other-scope-order-succeeds: scopes in another order (email openid) work the same', async () => {
    const { tokens } = await signedIn(s.client, { scope: 'email openid' });
    expect(await userinfo(s.client, tokens.access_token)).toMatchObject({ email: 'connie@example.test' });
  });

  it('oidcc-display-page: display=page is accepted', async () => {
    const { tokens } = await signedIn(s.client, { display: 'page' });
    expect(tokens.id_token).toBeTypeOf('string');
  });

  it('oidcc-display-popup: display=popup is accepted', async () => {
    const { tokens } = await signedIn(s.client, { display: 'popup' });
    expect(tokens.id_token).toBeTypeOf('string');
  });

  it('oidcc-prompt-login: prompt=login asks for the password again though a session exists, and auth_time moves', async () => {
    const first = await signedIn();
    const before = (await verifyIdToken(s, s.client, first.tokens.id_token!)).payload.auth_time as number;
    await sleep(1100);
    const flow = authorizationRequest(s.client, { prompt: 'login' });
    const page = await follow(first.agent, flow.url);
    expect(page.html).toContain('name="password"');
    const tokens = await exchange(s.client, await signInThrough(s, first.agent, flow), flow);
    expect((await verifyIdToken(s, s.client, tokens.id_token!)).payload.auth_time as number).toBeGreaterThan(before);
  });

  it('oidcc-prompt-none-not-logged-in: prompt=none without a session is answered login_required', async () => {
    const flow = authorizationRequest(s.client, { prompt: 'none' });
    expect(errorOf(await follow(new UserAgent(s.server.issuer), flow.url))).toMatchObject({ error: 'login_required', redirected: true, state: flow.state });
  });

  it('oidcc-prompt-none-logged-in: prompt=none with a session returns a code without any page', async () => {
    const first = await signedIn();
    const flow = authorizationRequest(s.client, { prompt: 'none' });
    const page = await follow(first.agent, flow.url);
    expect(page.status).toBe(0);
    const tokens = await exchange(s.client, new URL(page.url), flow);
    expect(tokens.claims()?.sub).toBe(s.accountId);
  });

  it('oidcc-max-age-1: max_age=1 after more than a second asks for the password again; auth_time is in the ID token', async () => {
    const first = await signedIn();
    await sleep(2100);
    const flow = authorizationRequest(s.client, { max_age: '1' });
    expect((await follow(first.agent, flow.url)).html).toContain('name="password"');
    const tokens = await exchange(s.client, await signInThrough(s, first.agent, flow), flow);
    const { payload } = await verifyIdToken(s, s.client, tokens.id_token!);
    expect(payload.auth_time).toBeTypeOf('number');
    expect(Date.now() / 1000 - (payload.auth_time as number)).toBeLessThan(60);
  });

  it('oidcc-max-age-10000: max_age=10000 within the session signs in without a page; auth_time is the first sign-in', async () => {
    const first = await signedIn();
    const authTime = (await verifyIdToken(s, s.client, first.tokens.id_token!)).payload.auth_time;
    const flow = authorizationRequest(s.client, { max_age: '10000' });
    const page = await follow(first.agent, flow.url);
    expect(page.status).toBe(0);
    const tokens = await exchange(s.client, new URL(page.url), flow);
    expect((await verifyIdToken(s, s.client, tokens.id_token!)).payload.auth_time).toBe(authTime);
  });

  it('oidcc-ensure-request-with-unknown-parameter-succeeds: an unknown parameter is ignored', async () => {
    const { tokens } = await signedIn(s.client, { extra_parameter_from_conformance: 'value' });
    expect(tokens.id_token).toBeTypeOf('string');
  });

  it('oidcc-id-token-hint: prompt=none with the previous ID token as id_token_hint returns the same subject', async () => {
    const first = await signedIn();
    const flow = authorizationRequest(s.client, { prompt: 'none', id_token_hint: first.tokens.id_token! });
    const page = await follow(first.agent, flow.url);
    expect(page.status).toBe(0);
    const tokens = await exchange(s.client, new URL(page.url), flow);
    expect(tokens.claims()?.sub).toBe(s.accountId);
  });

  it('oidcc-login-hint: login_hint fills in the username on the sign-in page', async () => {
    const flow = authorizationRequest(s.client, { login_hint: 'connie' });
    const page = await follow(new UserAgent(s.server.issuer), flow.url);
    expect(page.html).toMatch(/name="login"[^>]*value="connie"|value="connie"[^>]*name="login"/);
  });

  it('oidcc-ui-locales: ui_locales is accepted', async () => {
    const { tokens } = await signedIn(s.client, { ui_locales: 'se' });
    expect(tokens.id_token).toBeTypeOf('string');
  });

  it('oidcc-claims-locales: claims_locales is accepted', async () => {
    const { tokens } = await signedIn(s.client, { claims_locales: 'se', scope: 'openid profile' });
    expect(await userinfo(s.client, tokens.access_token)).toMatchObject({ name: PROFILE.name });
  });

  it('oidcc-ensure-request-with-acr-values-succeeds: acr_values is accepted and acr returned', async () => {
    const { tokens } = await signedIn(s.client, { acr_values: '1 2' });
    expect((await verifyIdToken(s, s.client, tokens.id_token!)).payload.acr).toBeTypeOf('string');
  });

  it('oidcc-codereuse: a code used twice is refused the second time', async () => {
    const agent = new UserAgent(s.server.issuer);
    const flow = authorizationRequest(s.client);
    const callback = await signInThrough(s, agent, flow);
    await exchange(s.client, callback, flow);
    await expect(exchange(s.client, callback, flow)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('oidcc-codereuse-30seconds: a code used again later is refused and the access token issued with it is revoked', async () => {
    const agent = new UserAgent(s.server.issuer);
    const flow = authorizationRequest(s.client, { scope: 'openid profile' });
    const callback = await signInThrough(s, agent, flow);
    const tokens = await exchange(s.client, callback, flow);
    expect((await userinfo(s.client, tokens.access_token)).sub).toBe(s.accountId);
    // the module waits 30 s first; what it checks is that the second use fails and revokes
    await expect(exchange(s.client, callback, flow)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(userinfo(s.client, tokens.access_token)).rejects.toBeDefined();
  });

  it('oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri gets an error page, never a redirect', async () => {
    const flow = authorizationRequest(s.client, { redirect_uri: 'https://attacker.example/callback' });
    const answer = errorOf(await follow(new UserAgent(s.server.issuer), flow.url));
    expect(answer.redirected).toBe(false);
    expect(answer.error).toBe('invalid_redirect_uri');
  });

  it('oidcc-server-client-secret-post: the code flow with client_secret_post', async () => {
    const { tokens, flow } = await signedIn(s.client2);
    const { payload } = await verifyIdToken(s, s.client2, tokens.id_token!);
    expect(payload).toMatchObject({ aud: s.client2.clientId, sub: s.accountId, nonce: flow.nonce });
  });

  it('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: request_uri is rejected as unsupported', async () => {
    expect(s.client.config.serverMetadata().request_uri_parameter_supported).toBeFalsy();
    const flow = authorizationRequest(s.client, { request_uri: 'https://rp.example/request.jwt' });
    const answer = errorOf(await follow(new UserAgent(s.server.issuer), flow.url));
    expect(['request_uri_not_supported', 'invalid_request_uri', 'invalid_request']).toContain(answer.error);
  });

  it('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: an unsigned request object is rejected', async () => {
    expect(s.client.config.serverMetadata().request_object_signing_alg_values_supported).not.toContain('none');
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ client_id: s.client.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', nonce: 'n', state: 's' })).toString('base64url');
    const flow = authorizationRequest(s.client, { request: `${header}.${body}.` });
    const answer = errorOf(await follow(new UserAgent(s.server.issuer), flow.url));
    expect(['request_not_supported', 'invalid_request_object']).toContain(answer.error);
  });

  it('oidcc-claims-essential: an essential claim asked for with the claims parameter is released at userinfo', async () => {
    const claims = JSON.stringify({ userinfo: { name: { essential: true } } });
    const { tokens } = await signedIn(s.client, { claims });
    expect(await userinfo(s.client, tokens.access_token)).toMatchObject({ name: PROFILE.name });
  });

  it('oidcc-ensure-request-object-with-redirect-uri: a request object is processed (unsigned ones are refused, so the module is skipped)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ client_id: s.client.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid' })).toString('base64url');
    const url = new URL('/auth', s.server.issuer);
    url.searchParams.set('client_id', s.client.clientId);
    url.searchParams.set('request', `${header}.${body}.`);
    const answer = errorOf(await follow(new UserAgent(s.server.issuer), url));
    expect(answer.redirected).toBe(false);
    expect(answer.error).toBe('invalid_request_object');
  });

  it('oidcc-refresh-token: offline_access with prompt=consent gives a refresh token that yields new tokens for the same subject', async () => {
    const { tokens } = await signedIn(s.client, { scope: 'openid offline_access', prompt: 'consent' });
    expect(tokens.refresh_token).toBeTypeOf('string');
    const refreshed = await oidc.refreshTokenGrant(s.client.config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.claims()?.sub).toBe(s.accountId);
    expect(refreshed.claims()?.iss).toBe(s.server.issuer);
    // the old refresh token was rotated; used by another client it is refused
    await expect(oidc.refreshTokenGrant(s.client2.config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('oidcc-ensure-request-with-valid-pkce-succeeds: PKCE S256 sent and checked', async () => {
    const agent = new UserAgent(s.server.issuer);
    const flow = await withPkce(s.client);
    const callback = await signInThrough(s, agent, flow);
    const tokens = await exchange(s.client, callback, flow);
    expect(tokens.id_token).toBeTypeOf('string');
  });

  it('oidcc-ensure-post-request-succeeds: the authorization request sent as a form POST works', async () => {
    const agent = new UserAgent(s.server.issuer);
    const flow = authorizationRequest(s.client);
    const params = Object.fromEntries(flow.url.searchParams);
    let page = await agent.post(new URL('/auth', s.server.issuer).toString(), params);
    page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: s.user.username, password: s.user.password });
    if (page.status !== 0) page = await agent.post(formAction(page.html, 1), { csrf: hiddenField(page.html, 'csrf') });
    expect(page.status).toBe(0);
    const tokens = await exchange(s.client, new URL(page.url), flow);
    expect(tokens.claims()?.sub).toBe(s.accountId);
  });

  it('oidcc-discovery-endpoint-verification (config plan): discovery lists what the Basic OP plan relies on', async () => {
    const metadata = (await (await fetch(new URL('/.well-known/openid-configuration', s.server.issuer))).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: s.server.issuer,
      response_types_supported: ['code'],
      subject_types_supported: expect.arrayContaining(['public']),
      id_token_signing_alg_values_supported: expect.arrayContaining(['RS256']),
      token_endpoint_auth_methods_supported: expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
      scopes_supported: expect.arrayContaining(['openid', 'profile', 'email', 'address', 'phone']),
      claims_parameter_supported: true,
      end_session_endpoint: expect.any(String),
    });
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) expect(String(metadata[endpoint])).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  });
});
