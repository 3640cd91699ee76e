import { parseArgs } from 'node:util';
import type { Account, AccountProfileChanges } from '../../domain/accounts.ts';
import { ADDRESS_FIELDS, type AddressClaim } from '../../domain/profile-claims.ts';
import { findAccount } from '../account-lookup.ts';
import { COMMON_OPTIONS, onePositional, parseOrUsage } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { withServices } from '../open-services.ts';
import { formatFields, writeJson, yesNo } from '../output.ts';

/** Command-line option → claim. */
const CLAIM_OPTIONS = {
  name: 'name',
  'given-name': 'given_name',
  'family-name': 'family_name',
  'middle-name': 'middle_name',
  nickname: 'nickname',
  'profile-url': 'profile',
  picture: 'picture',
  website: 'website',
  gender: 'gender',
  birthdate: 'birthdate',
  zoneinfo: 'zoneinfo',
  locale: 'locale',
  phone: 'phone_number',
} as const satisfies Record<string, keyof AccountProfileChanges>;

const ADDRESS_OPTIONS: Record<string, keyof AddressClaim> = {
  'address-formatted': 'formatted',
  street: 'street_address',
  locality: 'locality',
  region: 'region',
  'postal-code': 'postal_code',
  country: 'country',
};

export function profileFields(account: Account): Array<[string, string]> {
  const { address, phone_number_verified: phoneVerified, ...claims } = account.profile;
  const fields: Array<[string, string]> = [
    ['given name', account.givenName ?? '-'],
    ['family name', account.familyName ?? '-'],
    ...Object.entries(claims).map(([claim, value]) => [claim.replace(/_/g, ' '), String(value)] as [string, string]),
  ];
  if (account.profile.phone_number !== undefined) fields.push(['phone verified', yesNo(phoneVerified === true)]);
  for (const field of ADDRESS_FIELDS) if (address?.[field]) fields.push([`address ${field.replace(/_/g, ' ')}`, address[field]!]);
  return fields;
}

export const profile: Command = {
  summary: "set a user's name and standard profile claims (phone, address, …)",
  usage: `Usage: postern user profile ID|USERNAME|EMAIL [options]

Sets the claims applications receive with the profile, phone and address scopes. An empty
value removes a claim ("--nickname ''"). Changing the phone number marks it unverified unless
--phone-verified is given.

Options:
  --name, --given-name, --family-name, --middle-name, --nickname TEXT
  --profile-url URL, --picture URL, --website URL    https URLs
  --gender TEXT
  --birthdate DATE        YYYY-MM-DD, YYYY, or 0000-MM-DD
  --zoneinfo ZONE         a time zone name such as Europe/Paris
  --locale TAG            a language tag such as en-GB
  --phone NUMBER          international format: +44 20 7946 0958
  --phone-verified yes|no
  --street, --locality, --region, --postal-code, --country, --address-formatted TEXT
  --json                  print JSON
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('user profile', () =>
      parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: {
          ...COMMON_OPTIONS,
          ...Object.fromEntries([...Object.keys(CLAIM_OPTIONS), ...Object.keys(ADDRESS_OPTIONS), 'phone-verified'].map((name) => [name, { type: 'string' as const }])),
        },
      }),
    );
    const idOrLogin = onePositional('user profile', positionals, 'ID, USERNAME or EMAIL');
    const given = values as Record<string, string | boolean | undefined>;
    const changes: AccountProfileChanges = {};
    for (const [option, claim] of Object.entries(CLAIM_OPTIONS)) {
      const value = given[option];
      if (typeof value === 'string') (changes as Record<string, string | null>)[claim] = value === '' ? null : value;
    }
    const address: Record<string, string | null> = {};
    for (const [option, field] of Object.entries(ADDRESS_OPTIONS)) {
      const value = given[option];
      if (typeof value === 'string') address[field] = value === '' ? null : value;
    }
    const verified = given['phone-verified'];
    if (verified !== undefined) {
      if (verified !== 'yes' && verified !== 'no') throw new UsageError('user profile: --phone-verified is yes or no');
      changes.phone_number_verified = verified === 'yes';
    }
    if (Object.keys(changes).length === 0 && Object.keys(address).length === 0) throw new UsageError('user profile: nothing to change; see --help');
    const account = await withServices(async ({ accounts, audit }) => {
      const found = await findAccount(accounts, idOrLogin);
      if (Object.keys(address).length > 0) {
        const merged = { ...found.profile.address, ...address };
        changes.address = Object.values(merged).some((value) => value) ? (merged as AddressClaim) : null;
      }
      const updated = await accounts.updateProfile(found.id, changes);
      await audit.record({ type: 'account.profile_updated', accountId: found.id, details: { via: 'cli', claims: Object.keys(changes) } });
      return updated;
    });
    if (values.json) return writeJson(io.stdout, { id: account.id, username: account.username, name: account.name, given_name: account.givenName, family_name: account.familyName, ...account.profile });
    io.stdout.write(formatFields([['username', account.username], ['name', account.name ?? '-'], ...profileFields(account)]));
  },
};
