import { describe, expect, it } from 'vitest';
import { engineRouteKey, matchesEngineRoute } from '../../src/oidc/engine-path.ts';

describe('engine route matching', () => {
  const introspection = matchesEngineRoute('/token/introspection');

  it('matches every spelling the engine serves: case, one trailing slash', () => {
    for (const path of ['/token/introspection', '/token/introspection/', '/TOKEN/Introspection', '/Token/INTROSPECTION/']) {
      expect(introspection(path)).toBe(true);
    }
  });

  it('does not match other routes or two trailing slashes (the engine serves neither)', () => {
    for (const path of ['/token', '/token/introspection//', '/token/introspectionx', '/token//introspection']) {
      expect(introspection(path)).toBe(false);
    }
  });

  it('folds non-ASCII characters as the engine does', () => {
    // U+212A KELVIN SIGN lower-cases to ASCII "k", but the engine keeps it: not the same route
    expect(engineRouteKey('/\u212Aey')).not.toBe(engineRouteKey('/key'));
  });
});
