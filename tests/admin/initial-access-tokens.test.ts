import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { expectProblem, useAdminServer } from './support.ts';

describe.each(availableBackends())('admin API: initial access tokens and dynamic clients on %s', (backend) => {
  const t = useAdminServer(backend, { POSTERN_CLIENT_REGISTRATION: 'token', POSTERN_RATE_LIMIT_CLIENT_REGISTRATION: '1000/1m' });

  it('makes a token shown once, lists it without its value, and revokes it, audited', async () => {
    const made = await t.call('createInitialAccessToken', 'POST', '/initial-access-tokens', { body: { description: 'partner', ttlSeconds: 3600, maxUses: 2 } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ description: 'partner', usesLeft: 2, uses: 0, value: expect.stringMatching(/^pit_/) });
    const listed = await t.call('listInitialAccessTokens', 'GET', '/initial-access-tokens');
    expect(listed.body.items.map((token: { id: string }) => token.id)).toContain(made.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(made.body.value);

    // the token registers a client, which the client listing marks as dynamic
    const registered = await fetch(`${t.server.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${made.body.value}` },
      body: JSON.stringify({ client_name: 'Self-registered', redirect_uris: ['https://app.example.test/cb'] }),
    });
    expect(registered.status).toBe(201);
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const client = await t.call('getClient', 'GET', `/clients/${clientId}`);
    expect(client.body).toMatchObject({ clientId, dynamic: true, firstUsedAt: null });
    const operators = await t.call('getClient', 'GET', `/clients/${t.admin.clientId}`);
    expect(operators.body.dynamic).toBe(false);

    expect((await t.call('revokeInitialAccessToken', 'DELETE', `/initial-access-tokens/${made.body.id}`)).status).toBe(204);
    const refused = await fetch(`${t.server.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${made.body.value}` },
      body: JSON.stringify({ redirect_uris: ['https://app.example.test/cb'] }),
    });
    expect(refused.status).toBe(401);
    const audited = await t.server.storage.db('audit_events').whereIn('type', ['registration_token.created', 'registration_token.revoked']);
    expect(audited.map((event: { actor: string }) => event.actor)).toEqual([`client:${t.admin.clientId}`, `client:${t.admin.clientId}`]);
  });

  it('refuses bad bodies and unknown ids as problems', async () => {
    expectProblem(await t.call('createInitialAccessToken', 'POST', '/initial-access-tokens', { body: { ttlSeconds: 10 } }), 400, 'validation_failed');
    expectProblem(await t.call('createInitialAccessToken', 'POST', '/initial-access-tokens', { body: { value: 'mine' } }), 400, 'validation_failed');
    expectProblem(await t.call('revokeInitialAccessToken', 'DELETE', '/initial-access-tokens/0123456789abcdef'), 404, 'not_found');
    expectProblem(await t.call('revokeInitialAccessToken', 'DELETE', '/initial-access-tokens/nope'), 400, 'validation_failed');
  });
});
