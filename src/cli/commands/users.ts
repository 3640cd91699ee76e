import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.ts';
import type { Account } from '../../domain/accounts.ts';
import { PasswordPolicy, type PasswordOwner } from '../../domain/password-policy.ts';
import { NotFound } from '../../domain/errors.ts';
import { findAccount } from '../account-lookup.ts';
import { COMMON_OPTIONS, onePositional, parseOrUsage, requireOption } from '../args.ts';
import type { Command, CommandContext, CommandGroup } from '../command.ts';
import { UsageError } from '../errors.ts';
import { withServices } from '../open-services.ts';
import { formatFields, formatTable, listOf, timestamp, writeJson, yesNo } from '../output.ts';
import { newPasswordCheck } from '../password-rules.ts';
import { readNewPassword } from '../read-password.ts';
import { profile, profileFields } from './user-profile.ts';

const PASSWORD_INPUT = `The password is never taken from the command line, where it would land in shell history and
the process list: pipe it as the first line of stdin, or type it twice at the prompt. Passwords
need at least POSTERN_PASSWORD_MIN_LENGTH characters (12 unless set) and at most 1024; common
passwords and passwords containing the username or email address are refused.`;

function accountFields(account: Account, roles?: string[]): Array<[string, string]> {
  return [
    ['id', account.id],
    ['username', account.username],
    ['email', account.email ?? '-'],
    ['email verified', yesNo(account.emailVerified)],
    ['name', account.name ?? '-'],
    ...profileFields(account),
    ['password', account.hasPassword ? 'set' : 'none'],
    ['disabled', yesNo(account.disabled)],
    ...(roles ? [['roles', listOf(roles, 'none')] as [string, string]] : []),
    ['created', timestamp(account.createdAt)],
    ['updated', timestamp(account.updatedAt)],
  ];
}

/** Catches `--password hunter2` before parseArgs does, with the reason instead of "unknown option". */
function refusePasswordFlag(command: string, args: readonly string[]): void {
  const end = args.indexOf('--');
  const flags = end === -1 ? args : args.slice(0, end);
  if (flags.some((arg) => arg === '--password' || arg.startsWith('--password=') || arg === '-p')) {
    throw new UsageError(`${command}: passwords are never taken from the command line; pipe one line on stdin or answer the prompt`);
  }
}

function promptFor(context: CommandContext) {
  return { input: context.io.stdin, output: context.io.stderr };
}

/** The policy the server enforces, so a refused password is reported before it is typed again. */
function readPasswordFor(context: CommandContext, owner: PasswordOwner): Promise<string> {
  const policy = new PasswordPolicy({ minLength: loadConfig().security.passwordMinLength });
  return readNewPassword(promptFor(context), newPasswordCheck(policy, owner));
}

const create: Command = {
  summary: 'create a user account (password from stdin or a prompt)',
  usage: `Usage: postern user create --username USERNAME [options]

Creates a user account.

${PASSWORD_INPUT}

Options:
  --username USERNAME   sign-in name: letters, digits and . _ @ + - (required)
  --email EMAIL         email address (also accepted at sign-in)
  --name NAME           full name, released with the profile scope
  --email-verified      mark the email address as verified
  --no-password         create the account without a password (set one later with
                        postern user set-password)
  --json                print JSON instead of text

Example:
  printf '%s\\n' 'a long passphrase' | postern user create --username alice --email alice@example.com
`,
  async run(args, context) {
    refusePasswordFlag('user create', args);
    const { values } = parseOrUsage('user create', () =>
      parseArgs({
        args,
        strict: true,
        options: {
          ...COMMON_OPTIONS,
          username: { type: 'string' },
          email: { type: 'string' },
          name: { type: 'string' },
          'email-verified': { type: 'boolean' },
          'no-password': { type: 'boolean' },
        },
      }),
    );
    const username = requireOption('user create', values.username, '--username');
    // asked before storage opens: nobody should wait on the database to type a password
    const password = values['no-password'] ? undefined : await readPasswordFor(context, { username, email: values.email });
    const account = await withServices(async ({ accounts, audit }) => {
      const created = await accounts.create({ username, email: values.email, name: values.name, emailVerified: values['email-verified'] }, password);
      await audit.record({ type: 'account.created', accountId: created.id, details: { via: 'cli' } });
      return created;
    });
    if (values.json) return writeJson(context.io.stdout, account);
    context.io.stdout.write(formatFields(accountFields(account)));
    if (!account.hasPassword) {
      context.io.stdout.write(`\nNo password: the account cannot sign in until postern user set-password ${account.username}\n`);
    }
  },
};

const list: Command = {
  summary: 'list user accounts',
  usage: `Usage: postern user list [--json]

Lists user accounts, oldest first.
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('user list', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const all = await withServices(({ accounts }) => accounts.list());
    if (values.json) return writeJson(io.stdout, all);
    if (all.length === 0) return void io.stdout.write('no users\n');
    io.stdout.write(
      formatTable(
        ['ID', 'USERNAME', 'EMAIL', 'VERIFIED', 'PASSWORD', 'DISABLED'],
        all.map((a) => [a.id, a.username, a.email ?? '-', yesNo(a.emailVerified), a.hasPassword ? 'set' : 'none', yesNo(a.disabled)]),
      ),
    );
  },
};

const show: Command = {
  summary: 'show one user account',
  usage: `Usage: postern user show ID|USERNAME|EMAIL [--json]

Shows one user account, found by id, username or email address, with the roles it holds.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('user show', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const idOrLogin = onePositional('user show', positionals, 'ID, USERNAME or EMAIL');
    const { account, roles } = await withServices(async (services) => {
      const found = await findAccount(services.accounts, idOrLogin);
      return { account: found, roles: (await services.roles.permissionsFor(found.id)).names };
    });
    if (values.json) return writeJson(io.stdout, { ...account, roles });
    io.stdout.write(formatFields(accountFields(account, roles)));
  },
};

const remove: Command = {
  summary: 'delete a user account and its grants, refresh tokens and sessions',
  usage: `Usage: postern user delete ID|USERNAME|EMAIL [--json]

Deletes a user account with every grant, refresh token and session stored for it.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('user delete', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const idOrLogin = onePositional('user delete', positionals, 'ID, USERNAME or EMAIL');
    const account = await withServices(async ({ accounts, audit }) => {
      const found = await findAccount(accounts, idOrLogin);
      await accounts.delete(found.id);
      await audit.record({ type: 'account.deleted', accountId: found.id, details: { via: 'cli', username: found.username } });
      return found;
    });
    if (values.json) return writeJson(io.stdout, { deleted: true, id: account.id, username: account.username });
    io.stdout.write(`deleted user ${account.username} (${account.id})\n`);
  },
};

const setPassword: Command = {
  summary: "set a user's password (from stdin or a prompt)",
  usage: `Usage: postern user set-password ID|USERNAME|EMAIL [--json]

Sets a new password for an account, found by id, username or email address.

${PASSWORD_INPUT}

Example:
  printf '%s\\n' 'another long passphrase' | postern user set-password alice
`,
  async run(args, context) {
    refusePasswordFlag('user set-password', args);
    const { values, positionals } = parseOrUsage('user set-password', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const idOrLogin = onePositional('user set-password', positionals, 'ID, USERNAME or EMAIL');
    // the account is looked up first, so a mistyped name fails before anyone types a password
    const account = await withServices(async ({ accounts, audit }) => {
      const found = await findAccount(accounts, idOrLogin);
      await accounts.setPassword(found.id, await readPasswordFor(context, found));
      await audit.record({ type: 'account.password_set', accountId: found.id, details: { via: 'cli' } });
      return found;
    });
    if (values.json) return writeJson(context.io.stdout, { passwordSet: true, id: account.id, username: account.username });
    context.io.stdout.write(`password set for ${account.username}\n`);
  },
};

const passkeys: Command = {
  summary: "list a user's passkeys, or remove one",
  usage: `Usage: postern user passkeys ID|USERNAME|EMAIL [--remove CREDENTIAL_ID] [--json]

Lists the passkeys of an account, found by id, username or email address: credential id, name,
when each was added and last used. With --remove, removes that passkey: it signs in no more.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('user passkeys', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: { ...COMMON_OPTIONS, remove: { type: 'string' } } }),
    );
    const idOrLogin = onePositional('user passkeys', positionals, 'ID, USERNAME or EMAIL');
    const removing = values.remove;
    const outcome = await withServices(async (services) => {
      const found = await findAccount(services.accounts, idOrLogin);
      if (removing === undefined) return { account: found, list: await services.passkeys.list(found.id) };
      if (!(await services.passkeys.remove(found.id, removing))) throw new NotFound(`${found.username} has no passkey ${removing}`);
      await services.audit.record({ type: 'passkey.removed', accountId: found.id, actor: 'cli', details: { via: 'cli', credential: removing } });
      return { account: found, list: undefined };
    });
    if (!outcome.list) {
      if (values.json) return writeJson(io.stdout, { removed: true, id: removing, account: outcome.account.id });
      return void io.stdout.write(`removed passkey ${removing} of ${outcome.account.username}\n`);
    }
    if (values.json) return writeJson(io.stdout, outcome.list);
    if (outcome.list.length === 0) return void io.stdout.write(`${outcome.account.username} has no passkeys\n`);
    io.stdout.write(
      formatTable(
        ['ID', 'NAME', 'ADDED', 'LAST USED'],
        outcome.list.map((passkey) => [passkey.id, passkey.name, timestamp(passkey.createdAt), passkey.lastUsedAt ? timestamp(passkey.lastUsedAt) : 'never']),
      ),
    );
  },
};

export const userCommands: CommandGroup = {
  summary: 'user accounts that sign in to applications',
  commands: { create, list, show, profile, delete: remove, 'set-password': setPassword, passkeys },
};
