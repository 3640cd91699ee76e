import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { useSeededServer } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

const PASSWORD = 'a sturdy old passphrase here';

describe.each(availableBackends())('the profile page at /account/profile on %s', (backend) => {
  const t = useSeededServer(backend);
  const url = (path: string) => new URL(path, t.server.issuer).toString();

  async function signedIn(username: string): Promise<{ agent: UserAgent; accountId: string; page: Page }> {
    const account = await t.server.services.accounts.create({ username, email: `${username}@example.test`, emailVerified: true, name: 'Robin Example' }, PASSWORD);
    const agent = new UserAgent(t.server.issuer);
    let page = await agent.get(url('/account/profile'));
    page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: username, password: PASSWORD });
    expect(new URL(page.url).pathname).toBe('/account/profile');
    return { agent, accountId: account.id, page };
  }

  function fields(page: Page, overrides: Record<string, string>): Record<string, string> {
    const values: Record<string, string> = {};
    for (const match of page.html.matchAll(/<input id="[^"]+" name="([^"]+)" type="[^"]+" value="([^"]*)"/g)) values[match[1]!] = match[2]!;
    return { ...values, csrf: hiddenField(page.html, 'csrf'), ...overrides };
  }

  it('shows the stored profile and saves what the person changes; a new phone number is not verified', async () => {
    const { agent, accountId, page } = await signedIn('robin');
    expect(page.html).toContain('value="Robin Example"');
    const saved = await agent.post(formAction(page.html), fields(page, { nickname: 'Rob', phone_number: '+33 1 23 45 67 89', address_locality: 'Lyon', address_country: 'France', zoneinfo: 'Europe/Paris' }));
    expect(new URL(saved.url).pathname).toBe('/account');
    expect(saved.html).toContain('Your profile was saved');
    const account = await t.server.services.accounts.findById(accountId);
    expect(account!.profile).toEqual({ nickname: 'Rob', phone_number: '+33123456789', phone_number_verified: false, zoneinfo: 'Europe/Paris', address: { locality: 'Lyon', country: 'France' } });
    const again = await agent.get(url('/account/profile'));
    expect(again.html).toContain('value="Rob"');
    expect(again.html).toContain('Not verified');
    const audit = await t.server.storage.db('audit_events').where({ account_id: accountId, type: 'account.profile_updated' });
    expect(audit).toHaveLength(1);
  });

  it('refuses an invalid value with the reason on the page and changes nothing', async () => {
    const { agent, accountId, page } = await signedIn('casey');
    const before = await t.server.services.accounts.findById(accountId);
    const refused = await agent.post(formAction(page.html), fields(page, { nickname: 'Case', website: 'javascript:alert(1)' }));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('website must be an absolute https URL');
    expect(refused.html).toContain('value="Case"');
    const after = await t.server.services.accounts.findById(accountId);
    expect(after!.profile).toEqual({});
    expect(after!.updatedAt).toEqual(before!.updatedAt);
  });

  it('refuses a form posted without the CSRF field', async () => {
    const { agent, accountId, page } = await signedIn('drew');
    const { csrf: _dropped, ...withoutCsrf } = fields(page, { nickname: 'Dee' });
    const refused = await agent.post(formAction(page.html), withoutCsrf);
    expect(refused.status).toBe(403);
    expect((await t.server.services.accounts.findById(accountId))!.profile).toEqual({});
  });
});
