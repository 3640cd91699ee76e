import { describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../src/oidc/metadata-documents/private-addresses.ts';
import { hostAllowlist } from '../../src/oidc/metadata-documents/client-metadata-documents.ts';
import { isNativeRedirectUri, redirectUriPattern } from '../../src/oidc/registration/redirect-policy.ts';

describe('private addresses', () => {
  it('refuses loopback, private, link-local, shared, reserved and mapped forms', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a9fe:a9fe', 'ff02::1', 'not-an-ip']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
  });
  it('allows public addresses', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });
});

describe('metadata document host allowlist', () => {
  it('matches exact names and names below a *. entry, nothing else', () => {
    const allowed = hostAllowlist(['agents.example.com', '*.tools.example']);
    expect(allowed('agents.example.com')).toBe(true);
    expect(allowed('AGENTS.example.com')).toBe(true);
    expect(allowed('a.tools.example')).toBe(true);
    expect(allowed('tools.example')).toBe(false);
    expect(allowed('eviltools.example')).toBe(false);
    expect(allowed('agents.example.com.evil.test')).toBe(false);
  });
});

describe('registration redirect URI policy', () => {
  it('native redirect URIs: http loopback on any port and private-use schemes with a dot', () => {
    for (const uri of ['http://127.0.0.1:1234/cb', 'http://[::1]:80/cb', 'http://localhost/cb', 'com.example.app:/cb']) expect(isNativeRedirectUri(uri), uri).toBe(true);
    for (const uri of ['https://app.example.com/cb', 'http://example.com/cb', 'myapp:/cb', 'http://user@127.0.0.1/cb', 'javascript:alert(1)', 'http://127.0.0.1.evil.test/cb']) expect(isNativeRedirectUri(uri), uri).toBe(false);
  });
  it('a * in the authority stands for labels or port digits only; a pattern without a path allows any path', () => {
    const port = redirectUriPattern('http://127.0.0.1:*');
    expect(port('http://127.0.0.1:8123/callback')).toBe(true);
    expect(port('http://127.0.0.1:8123')).toBe(true);
    expect(port('http://127.0.0.1:8123@evil.test/')).toBe(false);
    const sub = redirectUriPattern('https://*.example.com/callback');
    expect(sub('https://a.example.com/callback')).toBe(true);
    expect(sub('https://evil.test/x.example.com/callback')).toBe(false);
    expect(sub('https://a.example.com/callback/more')).toBe(false);
    const path = redirectUriPattern('https://app.example.com/cb/*');
    expect(path('https://app.example.com/cb/one?x=1')).toBe(true);
    expect(path('https://app.example.com/other')).toBe(false);
  });
});
