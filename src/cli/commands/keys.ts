import { parseArgs } from 'node:util';
import { KeyRotationNotReady, type SigningKeyInfo } from '../../domain/signing-keys.ts';
import { COMMON_OPTIONS, onePositional, parseOrUsage } from '../args.ts';
import type { Command, CommandGroup } from '../command.ts';
import { InvalidInput } from '../errors.ts';
import { withServices } from '../open-services.ts';
import { formatTable, timestamp, writeJson } from '../output.ts';

const LIFECYCLE = `Signing keys move next → current → previous → retired. The JWKS publishes the next, current
and previous keys: a key is published before it signs and stays published until every token it
signed has expired; a retired key stays in the database for the audit trail only. Running servers
pick up every change within seconds, without a restart.`;

function when(date: Date | undefined): string {
  return date ? timestamp(date) : '-';
}

function keyJson(key: SigningKeyInfo) {
  const { publicJwk: _publicJwk, ...rest } = key;
  return rest;
}

const list: Command = {
  summary: 'list the signing keys and where each is in its lifecycle',
  usage: `Usage: postern keys list [--json]

Lists every signing key: the current one first, then the next, the previous and the retired
ones, with when each was made (published, for a next key), began to sign, stopped signing and
left the JWKS.

${LIFECYCLE}
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('keys list', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const keys = await withServices(({ signingKeys }) => signingKeys.list());
    if (values.json) return writeJson(io.stdout, keys.map(keyJson));
    if (keys.length === 0) return void io.stdout.write('no signing keys (the server makes the first when it starts)\n');
    io.stdout.write(
      formatTable(
        ['KID', 'STATUS', 'ALG', 'CREATED', 'SIGNS SINCE', 'SIGNED UNTIL', 'RETIRED'],
        keys.map((key) => [key.kid, key.status, key.alg, when(key.createdAt), when(key.activatedAt), when(key.deactivatedAt), when(key.retiredAt)]),
      ),
    );
  },
};

const rotate: Command = {
  summary: 'make the next signing key the current one',
  usage: `Usage: postern keys rotate [--now] [--json]

The next key signs from now on, the current one becomes previous (still published), and a new
next key is published. The servers also rotate on their own every POSTERN_KEY_ROTATION_INTERVAL.

Without --now, the next key must have been published for at least the JWKS cache lifetime
(POSTERN_JWKS_MAX_AGE) plus POSTERN_KEY_CHECK_INTERVAL, so that every relying party caching the
JWKS knows it before it signs; otherwise the command says when that will be and changes nothing.

Options:
  --now    rotate even if the next key is that new (after a leak: then retire the leaked key
           with postern keys retire KID); relying parties that do not fetch the JWKS again for
           an unknown kid may refuse new tokens until their cache expires
  --json   print JSON instead of text

${LIFECYCLE}
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('keys rotate', () => parseArgs({ args, strict: true, options: { ...COMMON_OPTIONS, now: { type: 'boolean' } } }));
    const result = await withServices(({ signingKeys }) => signingKeys.rotate({ now: values.now === true })).catch((error: unknown) => {
      if (error instanceof KeyRotationNotReady) throw new InvalidInput(`${error.message} (postern keys rotate --now)`);
      throw error;
    });
    if (values.json) return writeJson(io.stdout, result);
    io.stdout.write(`rotated: ${result.current} signs now; ${result.previous} is previous (still published); ${result.next} is the next key\n`);
  },
};

const retire: Command = {
  summary: 'take a previous (or next) signing key out of the JWKS',
  usage: `Usage: postern keys retire KID [--json]

Retires a previous key: it leaves the JWKS, and tokens it signed are refused from then on, at
introspection and by relying parties once they fetch the JWKS again. The key stays in the
database, not published, for the audit trail. Previous keys are retired on their own once every
token they signed has expired; retire one earlier only when it must stop being trusted. The
current key cannot be retired: rotate first. Retiring the next key publishes a new one.

Options:
  --json   print JSON instead of text
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('keys retire', () => parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }));
    const kid = onePositional('keys retire', positionals, 'KID');
    const key = await withServices(({ signingKeys }) => signingKeys.retire(kid));
    if (values.json) return writeJson(io.stdout, keyJson(key));
    io.stdout.write(`retired ${key.kid}: no longer published; tokens it signed are refused\n`);
  },
};

export const keyCommands: CommandGroup = {
  summary: 'signing keys: list, rotate, retire',
  commands: { list, rotate, retire },
};
