import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { BACKCHANNEL_LOGOUT_EVENT, LogoutListener } from '../support/logout-listener.ts';
import { UserAgent } from '../support/user-agent.ts';
import { authorizationRequest, confirmLogout, errorOf, exchange, follow, POST_LOGOUT, signInThrough, useConformanceSetup, verifyIdToken } from './support.ts';

/**
 * The Back-Channel Logout certification plan (oidcc-backchannel-rp-initiated-logout-certification-test-plan,
 * response type code, static client): the module signs in, logs out through the end-session
 * endpoint, expects a logout token at the client's back-channel logout URI that validates as the
 * specification says (the listener checks signature, iss, aud, iat, jti, events, sid, no nonce),
 * and then expects prompt=none to fail.
 */
const backend = availableBackends().at(-1)!;

describe(`Back-Channel Logout plan on ${backend}`, () => {
  const s = useConformanceSetup(backend);
  let listener: LogoutListener;

  beforeAll(async () => {
    listener = await LogoutListener.start({ issuer: s.server.issuer, jwksUri: new URL('/jwks', s.server.issuer).href, clientId: s.client.clientId });
    await s.server.services.clients.setBackchannelLogout(s.client.clientId, { uri: listener.uri, sessionRequired: true });
  });
  afterAll(() => listener?.down());

  it('oidcc-discovery-endpoint-verification (back-channel plan): back-channel logout and its sid are advertised', () => {
    expect(s.client.config.serverMetadata()).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
  });

  it('oidcc-backchannel-rp-initiated-logout: the logout token reaches the client, valid as specified, then prompt=none fails', async () => {
    const agent = new UserAgent(s.server.issuer);
    const flow = authorizationRequest(s.client);
    const tokens = await exchange(s.client, await signInThrough(s, agent, flow), flow);
    const { payload: idToken } = await verifyIdToken(s, s.client, tokens.id_token!);
    expect(idToken.sid).toEqual(expect.any(String));
    const before = listener.accepted.length;

    const done = await confirmLogout(agent, await follow(agent, new URL(`/session/end?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent(POST_LOGOUT)}&state=bc`, s.server.issuer)));
    expect(new URL(done.url).searchParams.get('state')).toBe('bc');

    await expect.poll(() => listener.accepted.length, { timeout: 20_000 }).toBe(before + 1);
    expect(listener.rejected).toEqual([]);
    const logoutToken = listener.accepted.at(-1)!;
    expect(logoutToken).toMatchObject({ iss: s.server.issuer, aud: s.client.clientId, sub: s.accountId, sid: idToken.sid, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } });
    expect(logoutToken).not.toHaveProperty('nonce');

    const again = authorizationRequest(s.client, { prompt: 'none' });
    expect(errorOf(await follow(agent, again.url))).toMatchObject({ error: 'login_required' });
  });
});
