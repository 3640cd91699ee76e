import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../src/domain/errors.ts';
import { applyProfileChanges } from '../../src/domain/profile-claims.ts';

describe('applyProfileChanges', () => {
  it('sets, normalises and removes the standard claims', () => {
    const profile = applyProfileChanges(
      {},
      { nickname: '  Al ', website: 'https://alice.example/', birthdate: '0000-04-23', zoneinfo: 'Europe/Paris', locale: 'en_gb', phone_number: '+44 20 7946 0958', address: { locality: 'London', country: 'UK' } },
    );
    expect(profile).toEqual({ nickname: 'Al', website: 'https://alice.example/', birthdate: '0000-04-23', zoneinfo: 'Europe/Paris', locale: 'en-GB', phone_number: '+442079460958', phone_number_verified: false, address: { locality: 'London', country: 'UK' } });
    expect(applyProfileChanges(profile, { nickname: null, address: null, phone_number: '' })).toEqual({ website: 'https://alice.example/', birthdate: '0000-04-23', zoneinfo: 'Europe/Paris', locale: 'en-GB' });
  });

  it('keeps a verified phone verified until the number changes', () => {
    const verified = applyProfileChanges({}, { phone_number: '+14155550100', phone_number_verified: true });
    expect(verified.phone_number_verified).toBe(true);
    expect(applyProfileChanges(verified, { nickname: 'x' }).phone_number_verified).toBe(true);
    expect(applyProfileChanges(verified, { phone_number: '+1 415 555 0100' }).phone_number_verified).toBe(true);
    expect(applyProfileChanges(verified, { phone_number: '+14155550199' }).phone_number_verified).toBe(false);
  });

  it.each([
    [{ website: 'http://alice.example/' }, /https/],
    [{ picture: 'javascript:alert(1)' }, /https/],
    [{ birthdate: '1990-02-30' }, /real date/],
    [{ birthdate: '23/04/1990' }, /YYYY/],
    [{ zoneinfo: 'Mars/Olympus' }, /time zone/],
    [{ locale: 'not a tag!' }, /language tag/],
    [{ phone_number: '020 7946 0958' }, /international/],
    [{ nickname: 'a'.repeat(201) }, /200/],
    [{ nickname: 'bell\u0007' }, /control/],
    [{ address: { planet: 'Earth' } }, /not an address field/],
    [{ address: 'London' }, /object/],
    [{ phone_number_verified: 'yes' }, /true or false/],
    [{ email: 'x@example.com' }, /not a profile claim/],
  ])('refuses %j', (change, message) => {
    expect(() => applyProfileChanges({}, change as never)).toThrow(InvalidRequest);
    expect(() => applyProfileChanges({}, change as never)).toThrow(message);
  });
});
