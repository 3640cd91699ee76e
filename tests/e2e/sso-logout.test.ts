import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { discover, useSeededServer, POST_LOGOUT_REDIRECT_URI, seed, signInAndExchange, startAuthorization } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';

describe.each(availableBackends())('single sign-on and logout on %s', (backend) => {
  const t = useSeededServer(backend);

  it('signs a second client in without asking for the password again', async () => {
    const agent = new UserAgent(t.server.issuer);
    await signInAndExchange(t.server, t.config, t.fixture, {}, agent);
    const second = await seed(t.server, { clientName: 'Second App', firstParty: true });
    const secondConfig = await discover(t.server, second);
    const start = await startAuthorization(secondConfig, { prompt: '' });
    const page = await agent.get(start.url.toString());
    // first-party: no password form, no consent page, straight back to the application
    expect(page.status).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(secondConfig, new URL(page.url), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    expect(tokens.claims()?.sub).toBe(t.fixture.accountId);
  });

  it('asks a browser without the session for the password', async () => {
    const start = await startAuthorization(t.config);
    const page = await new UserAgent(t.server.issuer).get(start.url.toString());
    expect(page.html).toContain('name="password"');
  });

  it('signs out through RP-initiated logout after confirmation, ending SSO and the session-bound tokens', async () => {
    const agent = new UserAgent(t.server.issuer);
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid profile' }, agent);
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(true);
    const logoutUrl = oidc.buildEndSessionUrl(t.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: 'bye' });
    const confirm = await agent.get(logoutUrl.toString());
    expect(confirm.html).toContain('op.logoutForm');
    const action = /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"|<form[^>]*action="([^"]+)"[^>]*id="op.logoutForm"/.exec(confirm.html);
    const target = (action?.[1] ?? action?.[2])!;
    const done = await agent.post(target, { xsrf: hiddenField(confirm.html, 'xsrf'), logout: 'yes' });
    expect(done.status).toBe(0);
    const landed = new URL(done.url);
    expect(`${landed.origin}${landed.pathname}`).toBe(POST_LOGOUT_REDIRECT_URI);
    expect(landed.searchParams.get('state')).toBe('bye');
    // the session is gone: the next authorization asks for the password again
    const again = await agent.get((await startAuthorization(t.config)).url.toString());
    expect(again.html).toContain('name="password"');
    // tokens without offline_access expire with the session
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
    const ended = await t.server.storage.db('audit_events').where({ type: 'session.ended', account_id: t.fixture.accountId });
    expect(ended.map((row: { details: unknown }) => row.details)).toContainEqual({ via: 'logout' });
  });

  it('refuses a post_logout_redirect_uri that is not registered', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const url = oidc.buildEndSessionUrl(t.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/after' });
    const page = await new UserAgent(t.server.issuer).get(url.toString());
    expect(page.status).toBe(400);
    expect(page.html).toContain('post_logout_redirect_uri');
    expect(formAction).toBeTypeOf('function');
  });
});
