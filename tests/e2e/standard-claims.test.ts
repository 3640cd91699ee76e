import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { signIn, startAuthorization, useSeededServer } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';

const PROFILE = {
  given_name: 'Alice',
  family_name: 'Example',
  nickname: 'Al',
  website: 'https://alice.example/',
  picture: 'https://alice.example/me.png',
  birthdate: '1990-04-23',
  zoneinfo: 'Europe/London',
  locale: 'en-GB',
  phone_number: '+442079460958',
  phone_number_verified: true,
  address: { street_address: '1 Example Street', locality: 'London', postal_code: 'EC1A 1AA', country: 'United Kingdom' },
};

describe.each(availableBackends())('standard claims and the claims parameter on %s', (backend) => {
  const t = useSeededServer(backend);

  async function exchange(parameters: Record<string, string>, onConsent?: (html: string) => void) {
    const start = await startAuthorization(t.config, parameters);
    const agent = new UserAgent(t.server.issuer);
    let page = await agent.get(start.url.toString());
    page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: t.fixture.username, password: t.fixture.password });
    onConsent?.(page.html);
    // the consent page again, through the usual path to the callback
    const callback = await signIn(agent, new URL(page.url), t.fixture);
    return oidc.authorizationCodeGrant(t.config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  }

  it('offers the address and phone scopes and the claims parameter in discovery', async () => {
    const metadata = t.config.serverMetadata();
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['profile', 'email', 'address', 'phone']));
    expect(metadata.claims_parameter_supported).toBe(true);
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(['nickname', 'picture', 'birthdate', 'zoneinfo', 'locale', 'phone_number', 'phone_number_verified', 'address']));
  });

  it('releases every standard claim at userinfo with profile, email, address and phone', async () => {
    await t.server.services.accounts.updateProfile(t.fixture.accountId, PROFILE);
    const tokens = await exchange({ scope: 'openid profile email address phone' });
    const userinfo = await oidc.fetchUserInfo(t.config, tokens.access_token, t.fixture.accountId);
    expect(userinfo).toMatchObject({ ...PROFILE, sub: t.fixture.accountId, email: 'alice@example.test', preferred_username: 'alice' });
    expect(userinfo.updated_at).toBeTypeOf('number');
  });

  it('gives only what the scopes cover: no phone or address with profile alone', async () => {
    const tokens = await exchange({ scope: 'openid profile' });
    const userinfo = await oidc.fetchUserInfo(t.config, tokens.access_token, t.fixture.accountId);
    expect(userinfo).toMatchObject({ nickname: 'Al', zoneinfo: 'Europe/London' });
    expect(userinfo).not.toHaveProperty('phone_number');
    expect(userinfo).not.toHaveProperty('address');
    expect(userinfo).not.toHaveProperty('email');
  });

  it('puts essential claims asked for with the claims parameter in the ID token, after consent naming them', async () => {
    const claims = JSON.stringify({ id_token: { email: { essential: true }, phone_number: null }, userinfo: { address: { essential: true } } });
    let consent = '';
    const tokens = await exchange({ scope: 'openid', claims }, (html) => (consent = html));
    expect(consent).toContain('Your email address');
    expect(consent).toContain('Your phone number');
    expect(consent).toContain('Your postal address');
    expect(consent).not.toContain('Your name, username');
    expect(tokens.claims()).toMatchObject({ email: 'alice@example.test', phone_number: PROFILE.phone_number });
    expect(tokens.claims()).not.toHaveProperty('nickname');
    const userinfo = await oidc.fetchUserInfo(t.config, tokens.access_token, t.fixture.accountId);
    expect(userinfo).toMatchObject({ address: PROFILE.address });
    expect(userinfo).not.toHaveProperty('email');
  });

  it('refuses a malformed claims parameter with invalid_request', async () => {
    const start = await startAuthorization(t.config, { claims: '{"id_token": "email"}' });
    const page = await new UserAgent(t.server.issuer).follow(start.url.toString());
    expect(new URL(page.url).searchParams.get('error')).toBe('invalid_request');
  });
});
