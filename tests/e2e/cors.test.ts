import { describe, expect, it } from 'vitest';
import { REDIRECT_URI, useSeededServer } from '../support/relying-party.ts';

describe('CORS', () => {
  const t = useSeededServer('embedded');
  const appOrigin = new URL(REDIRECT_URI).origin;

  async function tokenCall(clientId: string, origin: string, secret?: string) {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', origin };
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'unknown', client_id: clientId });
    if (secret) headers.authorization = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
    return fetch(new URL('/token', t.server.issuer), { method: 'POST', headers, body });
  }

  it('lets a public client call the token endpoint from its redirect URI origin only', async () => {
    const { client } = await t.server.services.clients.create({ name: 'SPA', type: 'public', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token'] });
    expect((await tokenCall(client.clientId, appOrigin)).headers.get('access-control-allow-origin')).toBe(appOrigin);
    expect((await tokenCall(client.clientId, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives confidential clients no CORS at the token endpoint', async () => {
    const response = await tokenCall(t.fixture.clientId, appOrigin, t.fixture.clientSecret);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('never answers CORS at the authorization endpoint', async () => {
    const response = await fetch(new URL(`/auth?client_id=${t.fixture.clientId}`, t.server.issuer), { headers: { origin: appOrigin }, redirect: 'manual' });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
