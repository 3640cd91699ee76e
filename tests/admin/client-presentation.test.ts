import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { GIF_LOGO, PNG_LOGO, SVG_LOGO, WEBP_LOGO } from '../support/images.ts';
import { expectProblem, request, useAdminServer } from './support.ts';

const LINKS = { clientUri: 'https://shop.example.test/', policyUri: 'https://shop.example.test/privacy', tosUri: 'https://shop.example.test/terms' };

describe.each(availableBackends())('admin API: how a client presents itself, on %s', (backend) => {
  const t = useAdminServer(backend);

  async function newClient(body: Record<string, unknown> = {}) {
    const created = await t.call('createClient', 'POST', '/clients', { body: { name: 'Shop', type: 'public', redirectUris: ['http://localhost:9000/cb'], ...body } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { clientId: string };
  }

  const putLogo = (clientId: string, bytes: Uint8Array, type: string, token = t.admin.token) =>
    request(t.server, 'PUT', `/clients/${clientId}/logo`, { token, rawBody: bytes, headers: { 'content-type': type } });

  it('registers and changes the three links; null removes one; the engine publishes them', async () => {
    const created = await t.call('createClient', 'POST', '/clients', { body: { name: 'Shop', type: 'public', redirectUris: ['http://localhost:9000/cb'], ...LINKS } });
    expect(created.body).toMatchObject({ ...LINKS, logoUri: null });
    const path = `/clients/${created.body.clientId}`;
    const changed = await t.call('updateClient', 'PATCH', path, { body: { policyUri: null, tosUri: 'http://localhost:9000/terms' }, headers: { 'if-match': created.headers.get('etag')! } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ clientUri: LINKS.clientUri, policyUri: null, tosUri: 'http://localhost:9000/terms' });
    const metadata = (await t.server.provider.Client.find(created.body.clientId))!.metadata();
    expect(metadata).toMatchObject({ client_uri: LINKS.clientUri, tos_uri: 'http://localhost:9000/terms' });
    expect(metadata.policy_uri).toBeUndefined();
  });

  it('refuses a link that is not https (http only on loopback), or not a web address at all, and changes nothing', async () => {
    const { clientId } = await newClient(LINKS);
    const path = `/clients/${clientId}`;
    const etag = (await t.call('getClient', 'GET', path)).headers.get('etag')!;
    for (const [field, value] of [['policyUri', 'http://shop.example.test/privacy'], ['tosUri', 'javascript:alert(1)'], ['clientUri', 'ftp://shop.example.test/'], ['policyUri', 'https://user:pw@shop.example.test/']] as const) {
      const refused = await t.call('updateClient', 'PATCH', path, { body: { [field]: value }, headers: { 'if-match': etag } });
      expectProblem(refused, 400);
    }
    expectProblem(await t.call('createClient', 'POST', '/clients', { body: { name: 'Bad', type: 'public', redirectUris: ['http://localhost:9000/cb'], policyUri: 'http://evil.example.test/p' } }), 400, 'invalid_client_metadata');
    expect((await t.call('getClient', 'GET', path)).body).toMatchObject(LINKS);
  });

  it('stores a logo and serves it from its own origin by content hash: type, immutable cache, nosniff, sandbox; logo_uri is that address', async () => {
    const { clientId } = await newClient();
    const stored = await putLogo(clientId, PNG_LOGO, 'image/png');
    t.checker.check('setClientLogo', stored);
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    expect(stored.body.logoUri).toMatch(new RegExp(`^${t.server.issuer}/client-logos/${clientId}/[0-9a-f]{64}\\.png$`));
    expect(stored.headers.get('etag')).toBeTruthy();

    const served = await fetch(stored.body.logoUri);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(PNG_LOGO)).toBe(true);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(served.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect(served.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect((await t.server.provider.Client.find(clientId))!.metadata().logo_uri).toBe(stored.body.logoUri);

    // a new logo gets a new address; the old one is gone
    const replaced = await putLogo(clientId, WEBP_LOGO, 'image/webp');
    expect(replaced.body.logoUri).toMatch(/\.webp$/);
    expect((await fetch(stored.body.logoUri)).status).toBe(404);
    expect((await fetch(replaced.body.logoUri)).headers.get('content-type')).toBe('image/webp');
    // the same hash under another client, or another extension, is nothing
    expect((await fetch(replaced.body.logoUri.replace(/\.webp$/, '.png'))).status).toBe(404);

    const removed = await t.call('deleteClientLogo', 'DELETE', `/clients/${clientId}/logo`);
    expect(removed.body.logoUri).toBeNull();
    expect((await fetch(replaced.body.logoUri)).status).toBe(404);
    expect((await t.server.provider.Client.find(clientId))!.metadata().logo_uri).toBeUndefined();
  });

  it('refuses SVG, other types, a type that lies, an empty or oversized image, as problem+json; nothing is stored', async () => {
    const { clientId } = await newClient();
    const refusals: Array<[Uint8Array, string, number]> = [
      [SVG_LOGO, 'image/svg+xml', 415],
      [SVG_LOGO, 'image/png', 415],
      [GIF_LOGO, 'image/png', 415],
      [GIF_LOGO, 'image/gif', 415],
      [PNG_LOGO, 'image/webp', 415],
      [PNG_LOGO, 'application/json', 415],
      [Buffer.alloc(0), 'image/png', 400],
      [Buffer.concat([PNG_LOGO, Buffer.alloc(300 * 1024)]), 'image/png', 413],
    ];
    for (const [bytes, type, status] of refusals) {
      const answer = await putLogo(clientId, bytes, type);
      expectProblem(answer, status);
      t.checker.check('setClientLogo', answer);
    }
    expect((await t.call('getClient', 'GET', `/clients/${clientId}`)).body.logoUri).toBeNull();
    expectProblem(await putLogo('no-such-client', PNG_LOGO, 'image/png'), 404, 'not_found');
    expectProblem(await putLogo(clientId, PNG_LOGO, 'image/png', ''), 401);
  });
});
