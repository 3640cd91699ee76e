import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { API, discover, REDIRECT_URI, startAuthorization, useSeededServer, type Fixture } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

const CRM = 'https://crm.example.test';
const PASSWORD = 'correct horse battery staple';
const CRM_SCOPES = 'openid offline_access contacts:read contacts:write';

describe.each(availableBackends())('roles and permissions on %s', (backend) => {
  const t = useSeededServer(backend);
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  beforeAll(async () => {
    jwks = createRemoteJWKSet(new URL('/jwks', t.server.issuer));
    const { resourceServers, roles } = t.server.services;
    await resourceServers.create({
      identifier: CRM,
      name: 'CRM',
      access: 'roles',
      scopes: [{ scope: 'contacts:read', description: 'Read your contacts' }, { scope: 'contacts:write', description: 'Change your contacts' }],
    });
    await roles.create({ name: 'crm-reader', permissions: [{ resourceServer: CRM, scope: 'contacts:read' }] });
    await roles.create({ name: 'crm-writer', permissions: [{ resourceServer: CRM, scope: 'contacts:write' }] });
    // a role on another API: never named in the CRM's tokens
    await roles.create({ name: 'example-writer', permissions: [{ resourceServer: API, scope: 'write' }] });
  });

  async function user(username: string, ...roleNames: string[]): Promise<Fixture> {
    const account = await t.server.services.accounts.create({ username, email: `${username}@example.test`, emailVerified: true }, PASSWORD);
    for (const name of roleNames) await t.server.services.roles.grant(name, { kind: 'account', id: account.id });
    return { ...t.fixture, username, password: PASSWORD, accountId: account.id };
  }

  const grant = (name: string, accountId: string) => t.server.services.roles.grant(name, { kind: 'account', id: accountId });
  const revoke = (name: string, accountId: string) => t.server.services.roles.revoke(name, { kind: 'account', id: accountId });

  /** Signs in (when the agent is not yet) and stops at the consent page, if one is shown. */
  async function untilConsent(agent: UserAgent, url: URL, who: Fixture): Promise<Page> {
    let page = await agent.get(url.toString());
    if (page.status !== 0 && page.html.includes('name="password"')) {
      page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: who.username, password: who.password });
    }
    return page;
  }

  /** The consent page's list of what the application will be able to do. */
  function offered(page: Page): string[] {
    expect(page.html).toContain('wants to access your account');
    return [...page.html.matchAll(/<li>([^<]+)<\/li>/g)].map((match) => match[1]!.trim());
  }

  async function allow(agent: UserAgent, page: Page): Promise<URL> {
    const done = await agent.post(formAction(page.html, 1), { csrf: hiddenField(page.html, 'csrf') });
    expect(done.status, done.html.slice(0, 300)).toBe(0);
    return new URL(done.url);
  }

  async function authorize(config: oidc.Configuration, agent: UserAgent, who: Fixture, parameters: Record<string, string>) {
    const start = await startAuthorization(config, parameters);
    const consent = await untilConsent(agent, start.url, who);
    const callback = await allow(agent, consent);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    return { offered: offered(consent), tokens };
  }

  async function accessToken(token: string, audience = CRM): Promise<JWTPayload> {
    return (await jwtVerify(token, jwks, { issuer: t.server.issuer, audience, typ: 'at+jwt', algorithms: ['RS256'] })).payload;
  }

  it('a user without the role is neither offered the scope nor given it', async () => {
    const bob = await user('bob', 'crm-reader');
    const { offered: lines, tokens } = await authorize(t.config, new UserAgent(t.server.issuer), bob, { scope: CRM_SCOPES, resource: CRM });
    expect(lines).toContain('Read your contacts');
    expect(lines).not.toContain('Change your contacts');
    expect(tokens.scope).toBe('contacts:read');
    expect(await accessToken(tokens.access_token)).toMatchObject({ sub: bob.accountId, scope: 'contacts:read', roles: ['crm-reader'] });
  });

  it('a role given later does not widen a refresh beyond the consent; the next authorization asks for it alone', async () => {
    const erin = await user('erin', 'crm-reader');
    const agent = new UserAgent(t.server.issuer);
    const first = await authorize(t.config, agent, erin, { scope: CRM_SCOPES, resource: CRM });
    expect(first.tokens.scope).toBe('contacts:read');

    await grant('crm-writer', erin.accountId);
    const refreshed = await oidc.refreshTokenGrant(t.config, first.tokens.refresh_token!);
    expect(refreshed.scope).toBe('contacts:read');
    // the roles claim says what the user holds now, the scope what the user consented to
    expect(await accessToken(refreshed.access_token)).toMatchObject({ scope: 'contacts:read', roles: ['crm-reader', 'crm-writer'] });

    const again = await authorize(t.config, agent, erin, { scope: CRM_SCOPES, resource: CRM });
    expect(again.offered).toContain('Change your contacts');
    expect(again.offered).not.toContain('Read your contacts');
    expect(again.tokens.scope).toBe('contacts:read contacts:write');
  });

  it('revoking a role narrows the next refresh; giving it back widens it again, up to the consent', async () => {
    const carol = await user('carol', 'crm-reader', 'crm-writer');
    const { offered: lines, tokens } = await authorize(t.config, new UserAgent(t.server.issuer), carol, { scope: CRM_SCOPES, resource: CRM });
    expect(lines).toEqual(expect.arrayContaining(['Read your contacts', 'Change your contacts']));
    expect(tokens.scope).toBe('contacts:read contacts:write');

    await revoke('crm-writer', carol.accountId);
    const narrowed = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    expect(narrowed.scope).toBe('contacts:read');
    expect(await accessToken(narrowed.access_token)).toMatchObject({ scope: 'contacts:read', roles: ['crm-reader'] });
    // a refresh may not ask for what the roles no longer allow and get it
    const asked = await oidc.refreshTokenGrant(t.config, narrowed.refresh_token!, { scope: 'openid offline_access contacts:read contacts:write' });
    expect(asked.scope).toBe('contacts:read');

    await grant('crm-writer', carol.accountId);
    const widened = await oidc.refreshTokenGrant(t.config, asked.refresh_token!);
    expect(widened.scope).toBe('contacts:read contacts:write');
    expect(await accessToken(widened.access_token)).toMatchObject({ scope: 'contacts:read contacts:write', roles: ['crm-reader', 'crm-writer'] });

    await revoke('crm-reader', carol.accountId);
    await revoke('crm-writer', carol.accountId);
    const none = await oidc.refreshTokenGrant(t.config, widened.refresh_token!);
    expect(none.scope ?? '').toBe('');
    const payload = await accessToken(none.access_token);
    expect(payload.scope).toBeUndefined();
    expect(payload.roles).toBeUndefined();
  });

  it('an access token keeps its permissions until it expires; introspection answers with what the roles allow now', async () => {
    const ivan = await user('ivan', 'crm-reader', 'crm-writer');
    const { tokens } = await authorize(t.config, new UserAgent(t.server.issuer), ivan, { scope: CRM_SCOPES, resource: CRM });
    expect(await oidc.tokenIntrospection(t.config, tokens.access_token)).toMatchObject({ active: true, scope: 'contacts:read contacts:write', roles: ['crm-reader', 'crm-writer'] });

    await revoke('crm-writer', ivan.accountId);
    // verified offline, the token still says what it was issued with
    expect(await accessToken(tokens.access_token)).toMatchObject({ scope: 'contacts:read contacts:write', roles: ['crm-reader', 'crm-writer'] });
    const narrowed = await oidc.tokenIntrospection(t.config, tokens.access_token);
    expect(narrowed).toMatchObject({ active: true, sub: ivan.accountId, aud: CRM, scope: 'contacts:read', roles: ['crm-reader'] });

    await revoke('crm-reader', ivan.accountId);
    const none = await oidc.tokenIntrospection(t.config, tokens.access_token);
    expect(none.active).toBe(true);
    expect(none).not.toHaveProperty('scope');
    expect(none).not.toHaveProperty('roles');
    // the refresh token's answer is about the grant, not about roles
    expect(await oidc.tokenIntrospection(t.config, tokens.refresh_token!)).toMatchObject({ active: true, scope: 'openid offline_access contacts:read contacts:write' });

    // a role given back does not widen a token beyond what it was issued with
    await grant('crm-reader', ivan.accountId);
    await grant('crm-writer', ivan.accountId);
    await grant('example-writer', ivan.accountId);
    expect(await oidc.tokenIntrospection(t.config, tokens.access_token)).toMatchObject({ scope: 'contacts:read contacts:write', roles: ['crm-reader', 'crm-writer'] });
  });

  it('puts the roles claim in the ID token and at userinfo only with the roles scope', async () => {
    const dave = await user('dave', 'crm-reader', 'example-writer');
    const withRoles = await authorize(t.config, new UserAgent(t.server.issuer), dave, { scope: 'openid roles' });
    expect(withRoles.offered).toContain('Know your roles');
    expect(decodeJwt(withRoles.tokens.id_token!).roles).toEqual(['crm-reader', 'example-writer']);
    expect(await oidc.fetchUserInfo(t.config, withRoles.tokens.access_token, dave.accountId)).toMatchObject({ sub: dave.accountId, roles: ['crm-reader', 'example-writer'] });

    const without = await authorize(t.config, new UserAgent(t.server.issuer), dave, { scope: 'openid profile' });
    expect(decodeJwt(without.tokens.id_token!)).not.toHaveProperty('roles');
    expect(await oidc.fetchUserInfo(t.config, without.tokens.access_token, dave.accountId)).not.toHaveProperty('roles');

    // an access token for an API names only the roles that give something on that API
    const api = await authorize(t.config, new UserAgent(t.server.issuer), dave, { scope: `${CRM_SCOPES} roles`, resource: CRM });
    expect(await accessToken(api.tokens.access_token)).toMatchObject({ roles: ['crm-reader'] });
    expect(decodeJwt(api.tokens.id_token!).roles).toEqual(['crm-reader', 'example-writer']);
    // the ID token issued at refresh says what the user holds then
    await revoke('example-writer', dave.accountId);
    const refreshed = await oidc.refreshTokenGrant(t.config, api.tokens.refresh_token!);
    expect(decodeJwt(refreshed.id_token!).roles).toEqual(['crm-reader']);
  });

  it('an open API grants its scopes to every user, with or without roles', async () => {
    const frank = await user('frank');
    const { tokens } = await authorize(t.config, new UserAgent(t.server.issuer), frank, { scope: 'openid read write', resource: API });
    expect(tokens.scope).toBe('read write');
    expect(await accessToken(tokens.access_token, API)).not.toHaveProperty('roles');
  });

  it('intersects what the roles allow with what the client may ask for', async () => {
    const { client, clientSecret } = await t.server.services.clients.create({
      name: 'Read-only CRM app',
      type: 'confidential',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'offline_access', 'contacts:read'],
    });
    const config = await discover(t.server, { clientId: client.clientId, clientSecret: clientSecret! });
    const gina = await user('gina', 'crm-reader', 'crm-writer');
    const { offered: lines, tokens } = await authorize(config, new UserAgent(t.server.issuer), gina, { scope: CRM_SCOPES, resource: CRM });
    expect(lines).toContain('Read your contacts');
    expect(lines).not.toContain('Change your contacts');
    expect(tokens.scope).toBe('contacts:read');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.scope).toBe('contacts:read');

    // and the other way: what the client may ask for but the user's roles do not give
    const hank = await user('hank', 'crm-writer');
    const writer = await authorize(config, new UserAgent(t.server.issuer), hank, { scope: CRM_SCOPES, resource: CRM });
    expect(writer.offered).not.toContain('Read your contacts');
    expect(writer.offered).not.toContain('Change your contacts');
    expect(writer.tokens.scope ?? '').toBe('');
  });

  it('a first-party client skips consent, also for scopes that roles given since allow', async () => {
    const { client, clientSecret } = await t.server.services.clients.create({
      name: 'Own CRM app',
      type: 'confidential',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      firstParty: true,
    });
    const config = await discover(t.server, { clientId: client.clientId, clientSecret: clientSecret! });
    const judy = await user('judy', 'crm-reader');
    const agent = new UserAgent(t.server.issuer);
    const signIn = async () => {
      const start = await startAuthorization(config, { scope: CRM_SCOPES, resource: CRM, prompt: 'login' });
      const page = await untilConsent(agent, start.url, judy);
      expect(page.status, page.html.slice(0, 300)).toBe(0);
      return oidc.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    };
    expect((await signIn()).scope).toBe('contacts:read');
    await grant('crm-writer', judy.accountId);
    expect((await signIn()).scope).toBe('contacts:read contacts:write');
  });

  it('gives a client-credentials client what its own roles allow, within its allowance', async () => {
    const { roles, clients } = t.server.services;
    const { client, clientSecret } = await clients.create({ name: 'CRM sync', type: 'confidential', grantTypes: ['client_credentials'] });
    const worker = await discover(t.server, { clientId: client.clientId, clientSecret: clientSecret! });
    const parameters = { scope: 'contacts:read contacts:write', resource: CRM };

    const before = await oidc.clientCredentialsGrant(worker, parameters);
    expect(before.scope).toBeUndefined();
    expect(await accessToken(before.access_token)).not.toHaveProperty('scope');

    await roles.grant('crm-reader', { kind: 'client', id: client.clientId });
    const granted = await oidc.clientCredentialsGrant(worker, parameters);
    expect(granted.scope).toBe('contacts:read');
    expect(await accessToken(granted.access_token)).toMatchObject({ sub: client.clientId, scope: 'contacts:read', roles: ['crm-reader'] });

    // the users' roles are not the client's: the seeded client holds none
    expect((await oidc.clientCredentialsGrant(t.config, parameters)).scope).toBeUndefined();

    const limited = await clients.create({ name: 'CRM reader', type: 'confidential', grantTypes: ['client_credentials'], scopes: ['contacts:read'] });
    await roles.grant('crm-reader', { kind: 'client', id: limited.client.clientId });
    await roles.grant('crm-writer', { kind: 'client', id: limited.client.clientId });
    const limitedConfig = await discover(t.server, { clientId: limited.client.clientId, clientSecret: limited.clientSecret! });
    expect((await oidc.clientCredentialsGrant(limitedConfig, parameters)).scope).toBe('contacts:read');

    await roles.revoke('crm-reader', { kind: 'client', id: client.clientId });
    expect((await oidc.clientCredentialsGrant(worker, parameters)).scope).toBeUndefined();
    const introspected = await oidc.tokenIntrospection(worker, granted.access_token);
    expect(introspected).toMatchObject({ active: true, sub: client.clientId });
    expect(introspected).not.toHaveProperty('scope');
  });
});
