import { describe, expect, it } from 'vitest';
import type { Client } from 'oidc-provider';
import { presentationOf } from '../../src/interactions/client-presentation.ts';
import { availableBackends } from '../support/backends.ts';
import { PNG_LOGO } from '../support/images.ts';
import { seed, startAuthorization, discover, useSeededServer } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';

const LINKS = { clientUri: 'https://app.example.test/', policyUri: 'https://app.example.test/privacy', tosUri: 'https://app.example.test/terms' };

describe.each(availableBackends())('the application on the sign-in and consent pages, on %s', (backend) => {
  const t = useSeededServer(backend);

  it('shows its logo from Postern\'s origin, its name linking to its home page, its privacy policy and terms', async () => {
    const { clients } = t.server.services;
    await clients.update(t.fixture.clientId, LINKS);
    const { logo } = await clients.setLogo(t.fixture.clientId, PNG_LOGO, 'image/png');
    const logoPath = `/client-logos/${t.fixture.clientId}/${logo!.sha256}.png`;

    const agent = new UserAgent(t.server.issuer);
    const login = await agent.get((await startAuthorization(t.config)).url.toString());
    const consent = await agent.post(formAction(login.html), { csrf: hiddenField(login.html, 'csrf'), login: t.fixture.username, password: t.fixture.password });
    expect(consent.html).toContain('wants to access your account');
    for (const page of [login.html, consent.html]) {
      expect(page).toContain(`<img class="client-logo" src="${logoPath}" alt="" width="48" height="48">`);
      expect(page).toContain('<a href="https://app.example.test/" target="_blank" rel="noopener noreferrer">Example App</a>');
      expect(page).toContain('<a href="https://app.example.test/privacy" target="_blank" rel="noopener noreferrer">Privacy policy</a>');
      expect(page).toContain('<a href="https://app.example.test/terms" target="_blank" rel="noopener noreferrer">Terms of service</a>');
      // no image from anywhere but Postern itself
      for (const [, src] of page.matchAll(/<img[^>]* src="([^"]+)"/g)) expect(src).toMatch(/^\/(?!\/)/);
    }
    expect((await fetch(`${t.server.issuer}${logoPath}`)).headers.get('content-type')).toBe('image/png');
  });

  it('an application without links or logo shows neither', async () => {
    const other = await seed(t.server, { clientName: 'Plain App', username: 'plain' });
    const agent = new UserAgent(t.server.issuer);
    const login = await agent.get((await startAuthorization(await discover(t.server, other))).url.toString());
    expect(login.html).toContain('<strong>Plain App</strong>');
    expect(login.html).not.toContain('client-logo');
    expect(login.html).not.toContain('client-links');
  });

  it('consent offers "Not you? Use another account": a CSRF-protected form that goes back to this request\'s sign-in', async () => {
    const other = await seed(t.server, { clientName: 'Switch App', username: 'switcher' });
    const config = await discover(t.server, other);
    const agent = new UserAgent(t.server.issuer);
    const start = await startAuthorization(config);
    const login = await agent.get(start.url.toString());
    const consent = await agent.post(formAction(login.html), { csrf: hiddenField(login.html, 'csrf'), login: other.username, password: other.password });
    const switchAction = formAction(consent.html, 2);
    expect(switchAction).toMatch(/^\/interaction\/[^/]+\/switch-account$/);
    expect(consent.html).toContain('Not you? Use another account</button>');

    // without the form's token: refused, the request still waiting at its consent
    const forged = await agent.post(switchAction, { csrf: 'forged' });
    expect(forged.status).toBe(403);

    const back = await agent.post(switchAction, { csrf: hiddenField(consent.html, 'csrf') });
    expect(back.status).toBe(200);
    expect(back.html).toContain('name="password"');
    expect(back.html).toContain('<strong>Switch App</strong>');
    // a new interaction of the same authorization request
    expect(formAction(back.html)).not.toBe(formAction(login.html));
  });
});

describe('what the pages take from client metadata', () => {
  const issuer = 'https://id.example.test';
  const client = (metadata: Record<string, unknown>) => ({ metadata: () => metadata }) as unknown as Client;

  it('a logo_uri anywhere but Postern\'s own logo path is not shown; links must be https (http on loopback)', () => {
    expect(presentationOf(client({ logo_uri: 'https://cdn.example.test/logo.png' }), issuer).logoUrl).toBeUndefined();
    expect(presentationOf(client({ logo_uri: `${issuer}.evil.test/client-logos/x/y.png` }), issuer).logoUrl).toBeUndefined();
    expect(presentationOf(client({ logo_uri: `${issuer}/client-logos/app/abc.png` }), issuer).logoUrl).toBe('/client-logos/app/abc.png');
    expect(presentationOf(client({ policy_uri: 'http://app.example.test/p', tos_uri: 'javascript:alert(1)', client_uri: 'http://localhost:8080/' }), issuer)).toEqual({
      logoUrl: undefined,
      policyUrl: undefined,
      termsUrl: undefined,
      homeUrl: 'http://localhost:8080/',
    });
  });
});
