import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { API, discover, signInAndExchange, useSeededServer } from '../support/relying-party.ts';

const BILLING = 'https://billing.example.test';
const INACTIVE = { active: false };

describe.each(availableBackends())('who may introspect a token, on %s', (backend) => {
  const t = useSeededServer(backend);
  /** confidential, but neither the tokens' client nor named by any API */
  let bystander: oidc.Configuration;
  /** named by the API as an introspector of its tokens */
  let gateway: oidc.Configuration;
  let tokens: { opaque: string; jwt: string; refresh: string; clientCredentials: string; clientCredentialsOpaque: string; billing: string };

  async function confidentialClient(name: string) {
    const { client, clientSecret } = await t.server.services.clients.create({ name, type: 'confidential', grantTypes: ['client_credentials'] });
    return { clientId: client.clientId, config: await discover(t.server, { clientId: client.clientId, clientSecret: clientSecret! }) };
  }

  beforeAll(async () => {
    await t.server.services.resourceServers.create({ identifier: BILLING, name: 'Billing', access: 'open', scopes: [{ scope: 'invoices:read' }] });
    bystander = (await confidentialClient('Bystander')).config;
    const named = await confidentialClient('API gateway');
    gateway = named.config;
    await t.server.services.resourceServers.setIntrospectors(API, [named.clientId]);

    const plain = await signInAndExchange(t.server, t.config, t.fixture);
    const api = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid offline_access read' });
    tokens = {
      opaque: plain.tokens.access_token,
      jwt: api.tokens.access_token,
      refresh: api.tokens.refresh_token!,
      clientCredentials: (await oidc.clientCredentialsGrant(t.config, { scope: 'read' })).access_token,
      clientCredentialsOpaque: (await oidc.clientCredentialsGrant(t.config, {})).access_token,
      billing: (await oidc.clientCredentialsGrant(t.config, { scope: 'invoices:read', resource: BILLING })).access_token,
    };
    expect(tokens.jwt.split('.')).toHaveLength(3);
    expect(tokens.opaque.split('.')).toHaveLength(1);
    expect(tokens.clientCredentialsOpaque.split('.')).toHaveLength(1);
  });

  it('answers another confidential client inactive for every token it has no business with', async () => {
    const answers: Record<string, unknown> = {};
    for (const [kind, token] of Object.entries(tokens)) answers[kind] = await oidc.tokenIntrospection(bystander, token);
    expect(answers).toEqual(Object.fromEntries(Object.keys(tokens).map((kind) => [kind, INACTIVE])));
  });

  it("answers an API's named introspector for that API's access tokens, and for nothing else", async () => {
    expect(await oidc.tokenIntrospection(gateway, tokens.jwt)).toMatchObject({ active: true, sub: t.fixture.accountId, client_id: t.fixture.clientId, aud: API, scope: 'read' });
    expect(await oidc.tokenIntrospection(gateway, tokens.clientCredentials)).toMatchObject({ active: true, sub: t.fixture.clientId, client_id: t.fixture.clientId, aud: API });
    expect(await oidc.tokenIntrospection(gateway, tokens.refresh)).toEqual(INACTIVE);
    expect(await oidc.tokenIntrospection(gateway, tokens.opaque)).toEqual(INACTIVE);
    expect(await oidc.tokenIntrospection(gateway, tokens.clientCredentialsOpaque)).toEqual(INACTIVE);
    expect(await oidc.tokenIntrospection(gateway, tokens.billing)).toEqual(INACTIVE);
  });

  it("answers the token's own client for each of its tokens; client-credentials tokens name the client as subject", async () => {
    expect(await oidc.tokenIntrospection(t.config, tokens.opaque)).toMatchObject({ active: true, sub: t.fixture.accountId });
    expect(await oidc.tokenIntrospection(t.config, tokens.jwt)).toMatchObject({ active: true, sub: t.fixture.accountId, aud: API });
    expect(await oidc.tokenIntrospection(t.config, tokens.refresh)).toMatchObject({ active: true, sub: t.fixture.accountId });
    expect(await oidc.tokenIntrospection(t.config, tokens.clientCredentials)).toMatchObject({ active: true, sub: t.fixture.clientId, client_id: t.fixture.clientId });
    expect(await oidc.tokenIntrospection(t.config, tokens.clientCredentialsOpaque)).toMatchObject({ active: true, sub: t.fixture.clientId, client_id: t.fixture.clientId });
    expect(await oidc.tokenIntrospection(t.config, tokens.billing)).toMatchObject({ active: true, sub: t.fixture.clientId, aud: BILLING });
  });

  it('stops answering an introspector as soon as the API no longer names it', async () => {
    const { clientId, config } = await confidentialClient('Former gateway');
    await t.server.services.resourceServers.setIntrospectors(BILLING, [clientId]);
    expect(await oidc.tokenIntrospection(config, tokens.billing)).toMatchObject({ active: true, aud: BILLING });
    await t.server.services.resourceServers.setIntrospectors(BILLING, []);
    expect(await oidc.tokenIntrospection(config, tokens.billing)).toEqual(INACTIVE);
  });
});
