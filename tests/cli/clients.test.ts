import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientSummary } from '../../src/domain/clients.ts';
import { availableBackends } from '../support/backends.ts';
import { createSandbox, errorLines, parseJson, type Sandbox } from './support/cli.ts';

type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };
type Client = Json<ClientSummary>;

const REDIRECT_URI = 'http://localhost:8080/callback';

describe.each(availableBackends())('postern client on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;
  let confidentialId: string;
  let secret: string;
  let publicId: string;

  beforeAll(async () => {
    cli = await createSandbox(backend);
  });
  afterAll(() => cli?.cleanup());

  it('creates a confidential client and prints its secret once, with a warning', async () => {
    const result = await cli.run(['client', 'create', '--name', 'Example App', '--redirect-uri', REDIRECT_URI, '--first-party']);
    expect(result.code, result.stderr).toBe(0);
    const line = (label: string) => new RegExp(`^${label} +(\\S.*)$`, 'm').exec(result.stdout)?.[1];
    confidentialId = line('client id')!;
    secret = line('client secret')!;
    expect(confidentialId).toMatch(/^[0-9a-f]{32}$/);
    expect(secret).toMatch(/^[\w-]{43}$/);
    expect(result.stdout.split(secret)).toHaveLength(2);
    expect(result.stdout).toMatch(/type +confidential/);
    expect(result.stdout).toMatch(/first party +yes/);
    expect(result.stdout).toContain('cannot be shown again');
  });

  it('creates a public client with --json: no secret', async () => {
    const client = parseJson<Client & { clientSecret?: string }>(
      await cli.run(['client', 'create', '--name', 'Single-page App', '--public', '--redirect-uri', REDIRECT_URI, '--scope', 'read', '--json']),
    );
    expect(client).toMatchObject({ name: 'Single-page App', type: 'public', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token'], scopes: ['read'] });
    expect(client).not.toHaveProperty('clientSecret');
    publicId = client.clientId;
  });

  it('lists and shows clients without ever showing the secret again', async () => {
    const listed = await cli.run(['client', 'list', '--json']);
    expect(parseJson<Client[]>(listed).map((c) => [c.clientId, c.type])).toEqual([
      [confidentialId, 'confidential'],
      [publicId, 'public'],
    ]);
    const shown = await cli.run(['client', 'show', confidentialId, '--json']);
    expect(parseJson<Client>(shown)).toMatchObject({ clientId: confidentialId, name: 'Example App', firstParty: true, redirectUris: [REDIRECT_URI] });
    expect(listed.stdout + shown.stdout).not.toContain(secret);
  });

  it('refuses an http redirect URI off loopback in one line, exit 1', async () => {
    const result = await cli.run(['client', 'create', '--name', 'Bad', '--redirect-uri', 'http://app.example.com/callback']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(errorLines(result)).toEqual(['postern: redirect_uris: "http://app.example.com/callback" must use https (http is allowed for localhost only)']);
  });

  it('creates a device client and sets an application\'s grant types with client grant-types', async () => {
    const grant = 'urn:ietf:params:oauth:grant-type:device_code';
    const device = parseJson<Client>(await cli.run(['client', 'create', '--name', 'TV', '--public', '--grant-type', grant, '--grant-type', 'refresh_token', '--json']));
    expect(device).toMatchObject({ type: 'public', grantTypes: [grant, 'refresh_token'], redirectUris: [] });
    const changed = parseJson<Client>(await cli.run(['client', 'grant-types', device.clientId, grant, '--json']));
    expect(changed.grantTypes).toEqual([grant]);
    const text = await cli.run(['client', 'grant-types', device.clientId, grant, 'refresh_token']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/grant types +urn:ietf:params:oauth:grant-type:device_code, refresh_token/);
    const refused = await cli.run(['client', 'grant-types', device.clientId, 'refresh_token']);
    expect(refused.code).toBe(1);
    expect(errorLines(refused)).toEqual([`postern: refresh_token needs authorization_code or ${grant} as well`]);
    const usage = await cli.run(['client', 'grant-types', device.clientId]);
    expect(usage.code).toBe(2);
  });

  it('refuses a public client with client_credentials in one line, exit 1', async () => {
    const result = await cli.run(['client', 'create', '--name', 'Service', '--public', '--grant-type', 'client_credentials']);
    expect(result.code).toBe(1);
    expect(errorLines(result)).toEqual(['postern: a public client cannot use client_credentials: it has no secret']);
  });

  it('refuses a missing --name or an unknown option as a usage error, exit 2', async () => {
    const missing = await cli.run(['client', 'create', '--public']);
    expect(missing.code).toBe(2);
    expect(errorLines(missing)).toEqual(['postern: client create: --name is required']);
    const unknown = await cli.run(['client', 'create', '--name', 'X', '--secret', 'abc']);
    expect(unknown.code).toBe(2);
    expect(errorLines(unknown)).toEqual(["postern: client create: unknown option '--secret'"]);
  });

  it('relaxes PKCE for a confidential client with a nonce (client pkce), shown by client show, never for a public one', async () => {
    const relaxed = parseJson<Client>(await cli.run(['client', 'pkce', confidentialId, 'nonce_instead', '--json']));
    expect(relaxed).toMatchObject({ clientId: confidentialId, pkcePolicy: 'nonce_instead', tokenEndpointAuthMethod: 'client_secret_basic' });
    expect((await cli.run(['client', 'show', confidentialId])).stdout).toMatch(/^pkce +may be left out of a request that carries a nonce \(nonce_instead\)$/m);
    const refused = await cli.run(['client', 'pkce', publicId, 'nonce_instead']);
    expect(refused.code).toBe(1);
    expect(errorLines(refused)).toEqual(['postern: a public client always uses PKCE: it cannot prove at the token endpoint that it asked for the code']);
    const unknown = await cli.run(['client', 'pkce', confidentialId, 'off']);
    expect(unknown.code).toBe(2);
    expect((await cli.run(['client', 'pkce', confidentialId, 'required'])).stdout).toMatch(/^pkce +required$/m);
  });

  it('requires DPoP and PAR of a client (create --require-dpop --require-par, update --dpop/--par), shown by client show', async () => {
    const strict = parseJson<Client>(await cli.run(['client', 'create', '--name', 'Strict App', '--redirect-uri', REDIRECT_URI, '--require-dpop', '--require-par', '--json']));
    expect(strict).toMatchObject({ dpopBoundAccessTokens: true, requirePushedAuthorizationRequests: true });
    const shown = (await cli.run(['client', 'show', strict.clientId])).stdout;
    expect(shown).toMatch(/^dpop +required \(tokens bound to its key\)$/m);
    expect(shown).toMatch(/^pushed requests +required$/m);
    const relaxed = parseJson<Client>(await cli.run(['client', 'update', strict.clientId, '--dpop', 'optional', '--json']));
    expect(relaxed).toMatchObject({ dpopBoundAccessTokens: false, requirePushedAuthorizationRequests: true });
    expect(parseJson<Client>(await cli.run(['client', 'update', strict.clientId, '--par', 'optional', '--dpop', 'required', '--json']))).toMatchObject({ dpopBoundAccessTokens: true, requirePushedAuthorizationRequests: false });
    const wrong = await cli.run(['client', 'update', strict.clientId, '--dpop', 'sometimes']);
    expect(wrong.code).toBe(2);
    expect(errorLines(wrong)).toEqual(['postern: client update: --dpop is required or optional']);
    const nothing = await cli.run(['client', 'update', strict.clientId]);
    expect(nothing.code).toBe(2);
  });

  it('sets the APIs a client may exchange tokens for (--token-exchange-audience), and clears them (--no-token-exchange)', async () => {
    const api = parseJson<Client>(await cli.run(['client', 'create', '--name', 'Orders API', '--grant-type', 'client_credentials', '--token-exchange-audience', 'https://billing.example.test', '--json']));
    expect(api).toMatchObject({ tokenExchangeAudiences: ['https://billing.example.test'], grantTypes: ['client_credentials'] });
    expect((await cli.run(['client', 'show', api.clientId])).stdout).toMatch(/^token exchange for +https:\/\/billing\.example\.test$/m);
    const two = parseJson<Client>(await cli.run(['client', 'update', api.clientId, '--token-exchange-audience', 'https://a.example.test', '--token-exchange-audience', 'https://b.example.test', '--json']));
    expect(two.tokenExchangeAudiences).toEqual(['https://a.example.test', 'https://b.example.test']);
    expect(parseJson<Client>(await cli.run(['client', 'update', api.clientId, '--no-token-exchange', '--json'])).tokenExchangeAudiences).toEqual([]);
    const refused = await cli.run(['client', 'create', '--name', 'SPA', '--public', '--redirect-uri', REDIRECT_URI, '--token-exchange-audience', 'https://a.example.test']);
    expect(refused.code).toBe(1);
    expect(errorLines(refused)).toEqual(['postern: a public client cannot exchange tokens: it cannot authenticate']);
  });

  it('creates a client that authenticates with client_secret_post', async () => {
    const client = parseJson<Client>(await cli.run(['client', 'create', '--name', 'Post App', '--redirect-uri', REDIRECT_URI, '--token-endpoint-auth-method', 'client_secret_post', '--pkce-policy', 'nonce_instead', '--json']));
    expect(client).toMatchObject({ tokenEndpointAuthMethod: 'client_secret_post', pkcePolicy: 'nonce_instead' });
    const refused = await cli.run(['client', 'create', '--name', 'X', '--public', '--redirect-uri', REDIRECT_URI, '--token-endpoint-auth-method', 'client_secret_post']);
    expect(refused.code).toBe(1);
  });

  it('deletes a client; afterwards it is not found', async () => {
    expect(parseJson(await cli.run(['client', 'delete', publicId, '--json']))).toEqual({ deleted: true, clientId: publicId });
    const gone = await cli.run(['client', 'show', publicId]);
    expect(gone.code).toBe(1);
    expect(errorLines(gone)).toEqual([`postern: no client ${publicId}`]);
  });
});
