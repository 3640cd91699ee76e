import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { startDocumentServer, type DocumentServer } from '../support/https-document-server.ts';
import { REDIRECT_URI, seed, signIn, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { UserAgent } from '../support/user-agent.ts';

const documentFor = (path: string, extra: Record<string, unknown> = {}) => (origin: string) =>
  JSON.stringify({ client_id: `${origin}${path}`, client_name: 'Agent via metadata document', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], ...extra });

/** What the engine makes of a client_id: the client, or the refusal's description. */
async function resolve(server: TestServer, clientId: string): Promise<{ clientId?: string; refused?: string }> {
  try {
    const client = await server.provider.Client.find(clientId);
    return client ? { clientId: client.clientId } : { refused: 'not found' };
  } catch (error) {
    const { error_description: description, cause } = error as { error_description?: string; cause?: unknown };
    return { refused: `${description ?? (error as Error).message}${cause instanceof Error ? `: ${cause.message}${cause.cause instanceof Error ? `: ${cause.cause.message}` : ''}` : ''}` };
  }
}

describe.each(availableBackends())('client ID metadata documents on %s', (backend) => {
  let documents: DocumentServer;
  let server: TestServer;
  let guarded: TestServer;
  let fixture: Fixture;

  beforeAll(async () => {
    documents = await startDocumentServer();
    const env = { POSTERN_CLIENT_METADATA_DOCUMENTS: 'true', POSTERN_CLIENT_METADATA_DOCUMENT_HOSTS: 'localhost', POSTERN_CLIENT_METADATA_DOCUMENT_CA_FILE: documents.caFile };
    // the test server is on loopback: only this explicit test setting lets the fetch reach it
    server = await startTestServer(backend, { ...env, POSTERN_CLIENT_METADATA_DOCUMENT_ALLOW_PRIVATE_ADDRESSES_FOR_TESTING: 'true' });
    guarded = await startTestServer(backend, { ...env, POSTERN_CLIENT_METADATA_DOCUMENT_HOSTS: 'localhost,127.0.0.1' });
    fixture = await seed(server);
    documents.routes.set('/agent.json', { body: documentFor('/agent.json'), headers: { 'cache-control': 'max-age=600' } });
  });
  afterAll(async () => {
    await server?.close();
    await guarded?.close();
    await documents?.close();
  });

  it('advertises the feature in discovery', async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.client_id_metadata_document_supported).toBe(true);
  });

  it('signs a user in for a client known only by its metadata document URL, fetched once while cached', async () => {
    const clientId = `${documents.origin}/agent.json`;
    const config = await oidc.discovery(new URL(server.issuer), clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'cimd', prompt: 'consent' });
    const callback = await signIn(new UserAgent(server.issuer), url, fixture);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'cimd' });
    expect(tokens.claims()).toMatchObject({ sub: fixture.accountId, aud: clientId });
    expect(documents.hits.get('/agent.json')).toBe(1);
    // not stored as a registration
    expect((await server.services.clients.list()).map((client) => client.clientId)).not.toContain(clientId);
  });

  it('refuses hosts off the allowlist, redirects, oversized documents, secrets and operator-only metadata', async () => {
    expect((await resolve(server, `https://127.0.0.1:${documents.port}/agent.json`)).refused).toMatch(/fetch not allowed/);
    documents.routes.set('/moved.json', { status: 302, headers: { location: '/agent.json' } });
    expect((await resolve(server, `${documents.origin}/moved.json`)).refused).toMatch(/unexpected response status 302|fetch failed/);
    const large = documentFor('/large.json', { client_name: 'x'.repeat(6000) });
    documents.routes.set('/large.json', { body: large, headers: { 'content-length': String(Buffer.byteLength(large(documents.origin))) } });
    expect((await resolve(server, `${documents.origin}/large.json`)).refused).toMatch(/response too large/);
    // without a declared length the engine stops reading past the limit (and reports it less clearly)
    documents.routes.set('/streamed.json', { body: documentFor('/streamed.json', { client_name: 'x'.repeat(6000) }), headers: { 'transfer-encoding': 'chunked' } });
    expect((await resolve(server, `${documents.origin}/streamed.json`)).refused).toMatch(/fetch failed/);
    documents.routes.set('/secret.json', { body: documentFor('/secret.json', { token_endpoint_auth_method: 'client_secret_basic' }) });
    expect((await resolve(server, `${documents.origin}/secret.json`)).refused).toMatch(/shared-secret/);
    documents.routes.set('/first-party.json', { body: documentFor('/first-party.json', { first_party: true }) });
    expect((await resolve(server, `${documents.origin}/first-party.json`)).refused).toMatch(/not allowed/);
    documents.routes.set('/exchange.json', { body: documentFor('/exchange.json', { token_exchange_audiences: ['https://api.example.test'] }) });
    expect((await resolve(server, `${documents.origin}/exchange.json`)).refused).toMatch(/not allowed/);
    documents.routes.set('/other.json', { body: documentFor('/agent.json') });
    expect((await resolve(server, `${documents.origin}/other.json`)).refused).toMatch(/does not match/);
    expect((await resolve(server, `http://localhost:${documents.port}/agent.json`)).refused).toBe('not found');
  });

  it('gives up on a server that does not answer in time', async () => {
    documents.routes.set('/hung.json', { body: documentFor('/hung.json'), delayMs: 10_000 });
    expect((await resolve(server, `${documents.origin}/hung.json`)).refused).toMatch(/fetch failed/);
  });

  it('without the test setting, refuses names that resolve to loopback and loopback literals, before connecting', async () => {
    const before = documents.hits.get('/guarded.json') ?? 0;
    documents.routes.set('/guarded.json', { body: documentFor('/guarded.json') });
    expect((await resolve(guarded, `${documents.origin}/guarded.json`)).refused).toMatch(/resolves to a loopback, private or link-local address/);
    expect((await resolve(guarded, `https://127.0.0.1:${documents.port}/guarded.json`)).refused).toMatch(/is a loopback, private or link-local address/);
    expect(documents.hits.get('/guarded.json') ?? 0).toBe(before);
  });
});
