import { loadConfig } from '../../src/config.ts';
import { createServices, openStorage } from '../../src/services.ts';

export const BENCH_API = 'https://api.bench.test';
export const BENCH_REDIRECT_URI = 'http://localhost:8080/callback';
export const BENCH_USERNAME = 'bench';
export const BENCH_PASSWORD = 'correct horse battery staple';

export interface PosternFixture {
  clientId: string;
  clientSecret: string;
}

/**
 * Seeds Postern through its own services, with the exact environment the server gets: one
 * confidential first-party client (consent skipped), one user with an argon2id password
 * (the configured OWASP defaults), the default API with scope `read`, and the signing key
 * (made here so that clustered workers starting later all find the same one).
 */
export async function seedPostern(env: Record<string, string>): Promise<PosternFixture> {
  const config = loadConfig(env);
  const storage = await openStorage(config, { kv: false });
  try {
    const services = await createServices(config, storage);
    await services.signingKeys.ensureCurrent();
    await services.resourceServers.create({ identifier: BENCH_API, name: 'Bench API', isDefault: true, access: 'open', scopes: [{ scope: 'read', description: 'Read' }] });
    await services.accounts.create({ username: BENCH_USERNAME, email: `${BENCH_USERNAME}@bench.test`, emailVerified: true, name: 'Bench User' }, BENCH_PASSWORD);
    const { client, clientSecret } = await services.clients.create({
      name: 'Bench App',
      type: 'confidential',
      redirectUris: [BENCH_REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      firstParty: true,
    });
    return { clientId: client.clientId, clientSecret: clientSecret! };
  } finally {
    await storage.close();
  }
}
