import { parseArgs } from 'node:util';
import { parseDuration } from '../../config.ts';
import { COMMON_OPTIONS, onePositional, parseOrUsage } from '../args.ts';
import type { Command, CommandGroup } from '../command.ts';
import { UsageError } from '../errors.ts';
import { withServices } from '../open-services.ts';
import { formatFields, formatTable, timestamp, writeJson } from '../output.ts';

const create: Command = {
  summary: 'make an initial access token for dynamic client registration',
  usage: `Usage: postern registration-token create [--description TEXT] [--ttl DURATION] [--uses N] [--json]

Makes an initial access token (RFC 7591 §3): with POSTERN_CLIENT_REGISTRATION=token, an
application registers itself at the registration endpoint with it as a Bearer token. The value
is printed once; only its hash is kept.

Options:
  --description TEXT   who it is for (shown in listings)
  --ttl DURATION       how long it stays valid: 30m, 12h, 7d… (default 1d, at most 365d)
  --uses N             how many registrations it allows (default: any number until it expires)
  --json               print JSON instead of text
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('registration-token create', () =>
      parseArgs({ args, strict: true, options: { ...COMMON_OPTIONS, description: { type: 'string' }, ttl: { type: 'string' }, uses: { type: 'string' } } }),
    );
    let ttlSeconds: number | undefined;
    if (values.ttl !== undefined) {
      try {
        ttlSeconds = parseDuration(values.ttl, '--ttl') ?? undefined;
      } catch (error) {
        throw new UsageError(`registration-token create: ${(error as Error).message}`);
      }
      if (ttlSeconds === undefined) throw new UsageError('registration-token create: --ttl cannot be off');
    }
    if (values.uses !== undefined && !/^\d{1,7}$/.test(values.uses)) throw new UsageError(`registration-token create: --uses must be a whole number, got "${values.uses}"`);
    const { token, value } = await withServices(async ({ initialAccessTokens, audit }) => {
      const made = await initialAccessTokens.create({ description: values.description, ttlSeconds, maxUses: values.uses === undefined ? undefined : Number(values.uses) });
      await audit.record({ type: 'registration_token.created', actor: 'cli', details: { via: 'cli', id: made.token.id, expiresAt: made.token.expiresAt.toISOString(), maxUses: made.token.usesLeft } });
      return made;
    });
    if (values.json) return writeJson(io.stdout, { ...token, value });
    io.stdout.write(
      formatFields([
        ['id', token.id],
        ['token', value],
        ['expires', timestamp(token.expiresAt)],
        ['uses', token.usesLeft === null ? 'any number' : String(token.usesLeft)],
      ]),
    );
    io.stdout.write('The token is shown only now: hand it to the application, which sends it as a Bearer token to the registration endpoint.\n');
  },
};

const list: Command = {
  summary: 'list initial access tokens (never their values)',
  usage: `Usage: postern registration-token list [--json]

Lists initial access tokens, oldest first, with their expiry and uses. Values are never shown.
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('registration-token list', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const all = await withServices(({ initialAccessTokens }) => initialAccessTokens.list());
    if (values.json) return writeJson(io.stdout, all);
    if (all.length === 0) return void io.stdout.write('no initial access tokens\n');
    const now = Date.now();
    io.stdout.write(
      formatTable(
        ['ID', 'DESCRIPTION', 'CREATED', 'EXPIRES', 'USED', 'USES LEFT'],
        all.map((t) => [t.id, t.description || '-', timestamp(t.createdAt), `${timestamp(t.expiresAt)}${t.expiresAt.getTime() <= now ? ' (expired)' : ''}`, String(t.uses), t.usesLeft === null ? 'any' : String(t.usesLeft)]),
      ),
    );
  },
};

const revoke: Command = {
  summary: 'revoke an initial access token',
  usage: `Usage: postern registration-token revoke ID [--json]

Revokes an initial access token at once. Clients it registered stay registered.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('registration-token revoke', () => parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }));
    const id = onePositional('registration-token revoke', positionals, 'ID');
    await withServices(async ({ initialAccessTokens, audit }) => {
      await initialAccessTokens.revoke(id);
      await audit.record({ type: 'registration_token.revoked', actor: 'cli', details: { via: 'cli', id } });
    });
    if (values.json) return writeJson(io.stdout, { revoked: id });
    io.stdout.write(`initial access token ${id} revoked\n`);
  },
};

export const registrationTokenCommands: CommandGroup = {
  summary: 'initial access tokens for dynamic client registration (RFC 7591)',
  commands: { create, list, revoke },
};
