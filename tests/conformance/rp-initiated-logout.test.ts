import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { UserAgent, type Page } from '../support/user-agent.ts';
import { authorizationRequest, confirmLogout, errorOf, exchange, follow, POST_LOGOUT, POST_LOGOUT_WITH_QUERY, signInThrough, useConformanceSetup } from './support.ts';

/**
 * The RP-Initiated Logout certification plan (oidcc-rp-initiated-logout-certification-test-plan,
 * response type code, static client), one test per module, named after it. Each module signs in,
 * calls the end-session endpoint as the module does, and — where the module expects a logout —
 * checks that prompt=none then fails with login_required.
 */
const backend = availableBackends().at(-1)!;

describe(`RP-Initiated Logout plan on ${backend}`, () => {
  const s = useConformanceSetup(backend);

  async function signedIn() {
    const agent = new UserAgent(s.server.issuer);
    const flow = authorizationRequest(s.client);
    const tokens = await exchange(s.client, await signInThrough(s, agent, flow), flow);
    return { agent, idToken: tokens.id_token! };
  }

  function endSession(parameters: Record<string, string>) {
    const url = new URL('/session/end', s.server.issuer);
    for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
    return url;
  }

  async function expectSignedOut(agent: UserAgent) {
    const flow = authorizationRequest(s.client, { prompt: 'none' });
    expect(errorOf(await follow(agent, flow.url))).toMatchObject({ error: 'login_required' });
  }

  async function expectStillSignedIn(agent: UserAgent) {
    const flow = authorizationRequest(s.client, { prompt: 'none' });
    expect((await follow(agent, flow.url)).status).toBe(0);
  }

  const landing = (page: Page) => {
    const url = new URL(page.url);
    return { at: `${url.origin}${url.pathname}`, query: Object.fromEntries(url.searchParams) };
  };

  it('oidcc-rp-initiated-logout: with id_token_hint, post_logout_redirect_uri and state the user is signed out and sent back with the state', async () => {
    const { agent, idToken } = await signedIn();
    const done = await confirmLogout(agent, await follow(agent, oidc.buildEndSessionUrl(s.client.config, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT, state: 'st-1' })));
    expect(done.status).toBe(0);
    expect(landing(done)).toEqual({ at: POST_LOGOUT, query: { state: 'st-1' } });
    await expectSignedOut(agent);
  });

  it('oidcc-rp-initiated-logout-no-state: without state the user is sent back without one', async () => {
    const { agent, idToken } = await signedIn();
    const done = await confirmLogout(agent, await follow(agent, endSession({ id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT })));
    expect(landing(done)).toEqual({ at: POST_LOGOUT, query: {} });
    await expectSignedOut(agent);
  });

  it('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: a registered URI with a query keeps it, state is added', async () => {
    const { agent, idToken } = await signedIn();
    const done = await confirmLogout(agent, await follow(agent, endSession({ id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_WITH_QUERY, state: 'st-2' })));
    expect(landing(done)).toEqual({ at: POST_LOGOUT, query: { from: 'op', state: 'st-2' } });
    await expectSignedOut(agent);
  });

  it('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: an unregistered post_logout_redirect_uri gets an error page, no redirect, session kept', async () => {
    const { agent, idToken } = await signedIn();
    const page = await follow(agent, endSession({ id_token_hint: idToken, post_logout_redirect_uri: 'https://attacker.example/logged-out', state: 'x' }));
    expect(page.status).toBe(400);
    expect(errorOf(page)).toMatchObject({ error: 'invalid_request', redirected: false });
    await expectStillSignedIn(agent);
  });

  it('oidcc-rp-initiated-logout-modified-id-token-hint: an ID token hint with a broken signature gets an error page, no redirect', async () => {
    const { agent, idToken } = await signedIn();
    const [header, payload, signature] = idToken.split('.');
    const modified = `${header}.${payload}.${signature!.slice(0, -4)}${signature!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const page = await follow(agent, endSession({ id_token_hint: modified, post_logout_redirect_uri: POST_LOGOUT, state: 'x' }));
    expect(errorOf(page)).toMatchObject({ redirected: false });
    expect(page.status).toBe(400);
    await expectStillSignedIn(agent);
  });

  it('oidcc-rp-initiated-logout-bad-id-token-hint: a hint that is not an ID token gets an error page, no redirect', async () => {
    const { agent } = await signedIn();
    const page = await follow(agent, endSession({ id_token_hint: 'not-a-jwt', post_logout_redirect_uri: POST_LOGOUT, state: 'x' }));
    expect(errorOf(page)).toMatchObject({ redirected: false });
    expect(page.status).toBe(400);
    await expectStillSignedIn(agent);
  });

  it('oidcc-rp-initiated-logout-no-id-token-hint: a post_logout_redirect_uri without id_token_hint or client_id is not followed', async () => {
    const { agent } = await signedIn();
    const page = await follow(agent, endSession({ post_logout_redirect_uri: POST_LOGOUT, state: 'x' }));
    expect(page.status).not.toBe(0);
    expect(page.status).toBeLessThan(500);
  });

  it('oidcc-rp-initiated-logout-no-params: the end-session endpoint without parameters asks, then signs out without a redirect', async () => {
    const { agent } = await signedIn();
    const done = await confirmLogout(agent, await follow(agent, endSession({})));
    expect(done.status).toBe(200);
    await expectSignedOut(agent);
  });

  it('oidcc-rp-initiated-logout-no-post-logout-redirect-uri: with only id_token_hint the user is signed out and stays at Postern', async () => {
    const { agent, idToken } = await signedIn();
    const done = await confirmLogout(agent, await follow(agent, endSession({ id_token_hint: idToken })));
    expect(done.status).toBe(200);
    await expectSignedOut(agent);
  });

  it('oidcc-rp-initiated-logout-only-state: state alone changes nothing: signed out at Postern, no redirect', async () => {
    const { agent } = await signedIn();
    const done = await confirmLogout(agent, await follow(agent, endSession({ state: 'only' })));
    expect(done.status).toBe(200);
    await expectSignedOut(agent);
  });

  it('oidcc-discovery-endpoint-verification (logout plan): end_session_endpoint is advertised', () => {
    expect(s.client.config.serverMetadata().end_session_endpoint).toBe(new URL('/session/end', s.server.issuer).toString());
  });
});
