import type { KoaContextWithOIDC } from 'oidc-provider';
import { describe, expect, it } from 'vitest';
import { engineErrorPage } from '../../src/oidc/configuration/error-page.ts';
import { REDIRECT_URI, useSeededServer } from '../support/relying-party.ts';

describe('the way back to the application on an engine error page', () => {
  const t = useSeededServer('embedded');

  /** The part of the engine's context the page reads, around the fixture's real client. */
  async function contextWith(params: Record<string, unknown>, retryAfter = '') {
    const client = await t.server.provider.Client.find(t.fixture.clientId);
    return {
      oidc: { client, params, issuer: t.server.issuer },
      response: { get: (name: string) => (name === 'Retry-After' ? retryAfter : '') },
      state: { requestId: 'req-1' },
    } as unknown as KoaContextWithOIDC;
  }

  it('links a registered redirect URI with the error, the state and the issuer', async () => {
    const page = engineErrorPage(await contextWith({ redirect_uri: REDIRECT_URI, state: 'abc' }), { error: 'invalid_request', error_description: 'missing required parameter' });
    const back = new URL(page.backLink!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(Object.fromEntries(back.searchParams)).toEqual({ error: 'invalid_request', state: 'abc', iss: t.server.issuer });
    expect(page.clientName).toBe('Example App');
    expect(page.technical).toBe('missing required parameter');
  });

  it('never links a redirect URI the client did not register, nor any when the redirect URI or client is the error', async () => {
    expect(engineErrorPage(await contextWith({ redirect_uri: 'https://evil.example.test/cb' }), { error: 'invalid_request' }).backLink).toBeUndefined();
    expect(engineErrorPage(await contextWith({ redirect_uri: `${REDIRECT_URI}/more` }), { error: 'invalid_request' }).backLink).toBeUndefined();
    expect(engineErrorPage(await contextWith({ redirect_uri: REDIRECT_URI }), { error: 'invalid_redirect_uri' }).backLink).toBeUndefined();
    expect(engineErrorPage(await contextWith({ redirect_uri: REDIRECT_URI, response_mode: 'form_post' }), { error: 'invalid_request' }).backLink).toBeUndefined();
    expect(engineErrorPage(await contextWith({}), { error: 'invalid_request' }).backLink).toBeUndefined();
  });

  it('gives a wait in whole minutes', async () => {
    expect(engineErrorPage(await contextWith({}, '5'), { error: 'temporarily_unavailable' }).retryAfterMinutes).toBe(1);
    expect(engineErrorPage(await contextWith({}, '150'), { error: 'temporarily_unavailable' }).retryAfterMinutes).toBe(3);
    expect(engineErrorPage(await contextWith({}), { error: 'temporarily_unavailable' }).retryAfterMinutes).toBeUndefined();
  });
});
