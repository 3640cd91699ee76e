import * as oidc from 'openid-client';
import { loadConfig } from '../../../src/config.ts';
import { createServices, openStorage } from '../../../src/services.ts';
import { API, REDIRECT_URI, signIn, startAuthorization, type Fixture } from '../../support/relying-party.ts';
import { UserAgent } from '../../support/user-agent.ts';

/**
 * Provisioning through Postern's own domain services, against the suite's own database and
 * Redis (migrating them on the way): a confidential client allowed every grant the load uses,
 * the default API with `read`, and one user.
 */
export async function provision(target: { databaseUrl: string; redisUrl: string; masterKey: string }): Promise<Fixture> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: target.databaseUrl,
    REDIS_URL: target.redisUrl,
    POSTERN_MASTER_KEY: target.masterKey,
    POSTERN_ARGON2_MEMORY_KIB: '1024',
    POSTERN_ARGON2_ITERATIONS: '1',
  });
  const storage = await openStorage(config);
  try {
    const services = await createServices(config, storage);
    await services.signingKeys.ensureCurrent();
    const { client, clientSecret } = await services.clients.create({
      name: 'Fault App',
      type: 'confidential',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    });
    await services.resourceServers.create({ identifier: API, name: 'Fault API', isDefault: true, scopes: [{ scope: 'read', description: 'Read your data' }] });
    const username = 'alice';
    const password = 'correct horse battery staple';
    const account = await services.accounts.create({ username, email: 'alice@example.test', emailVerified: true, name: 'Alice Example' }, password);
    return { clientId: client.clientId, clientSecret: clientSecret!, username, password, accountId: account.id };
  } finally {
    await storage.close();
  }
}

export interface ChainStart {
  refreshToken: string;
  accessToken: string;
}

/**
 * `count` refresh-token chains from real sign-ins through the pages (code + PKCE, each in its own
 * browser session, hence its own grant), scope `openid offline_access read`.
 */
export async function signInChains(issuer: string, fixture: Fixture, count: number, concurrency = 4): Promise<ChainStart[]> {
  const config = await oidc.discovery(new URL(issuer), fixture.clientId, fixture.clientSecret, oidc.ClientSecretBasic(fixture.clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
  const chains: ChainStart[] = new Array(count);
  let taken = 0;
  const worker = async () => {
    while (taken < count) {
      const index = taken++;
      const start = await startAuthorization(config, { scope: 'openid offline_access read' });
      const callback = await signIn(new UserAgent(issuer), start.url, fixture);
      const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
      if (!tokens.refresh_token) throw new Error('the sign-in gave no refresh token (offline_access not granted?)');
      chains[index] = { refreshToken: tokens.refresh_token, accessToken: tokens.access_token };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return chains;
}
