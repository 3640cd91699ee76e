import { wantsHelp } from './args.ts';
import type { Command, CommandContext, CommandGroup } from './command.ts';
import { adminClientCommands } from './commands/admin-clients.ts';
import { apiCommands } from './commands/apis.ts';
import { clientCommands } from './commands/clients.ts';
import { keyCommands } from './commands/keys.ts';
import { masterKeyCommands } from './commands/master-key.ts';
import { logoutDeliveryCommands } from './commands/logout-deliveries.ts';
import { migrate } from './commands/migrate.ts';
import { reseal } from './commands/reseal.ts';
import { registrationTokenCommands } from './commands/registration-tokens.ts';
import { roleCommands } from './commands/roles.ts';
import { userCommands } from './commands/users.ts';
import { UsageError } from './errors.ts';
import { describeFailure } from './failure.ts';
import { formatRows } from './output.ts';

const TOP_LEVEL: Readonly<Record<string, Command | CommandGroup>> = {
  migrate,
  reseal,
  client: clientCommands,
  user: userCommands,
  api: apiCommands,
  role: roleCommands,
  'admin-client': adminClientCommands,
  keys: keyCommands,
  'master-key': masterKeyCommands,
  'logout-deliveries': logoutDeliveryCommands,
  'registration-token': registrationTokenCommands,
};

function isGroup(entry: Command | CommandGroup): entry is CommandGroup {
  return 'commands' in entry;
}

function listing(rows: Array<[string, string]>): string {
  return formatRows(rows, '  ');
}

function groupUsage(name: string, group: CommandGroup): string {
  const rows = Object.entries(group.commands).map(([sub, command]): [string, string] => [`${name} ${sub}`, command.summary]);
  const summary = `${group.summary.charAt(0).toUpperCase()}${group.summary.slice(1)}.`;
  return `Usage: postern ${name} <command> [options]\n\n${summary}\n\nCommands:\n${listing(rows)}\nRun postern ${name} <command> --help for the options of each.\n`;
}

export const USAGE = `Usage: postern <command> [options]

Provisions Postern: applications, users, APIs and roles. Reads the same environment as the server
(DATABASE_URL, or embedded PGlite in POSTERN_DATA_DIR, default ./data; POSTERN_MASTER_KEY,
POSTERN_MASTER_KEY_FILE or keys/master.key). While a server runs on the embedded database, the
command runs in that server, through the command socket in its data directory.

Commands:
${listing(
  Object.entries(TOP_LEVEL).flatMap(([name, entry]): Array<[string, string]> =>
    isGroup(entry) ? Object.entries(entry.commands).map(([sub, command]) => [`${name} ${sub}`, command.summary]) : [[name, entry.summary]],
  ),
)}
Every command takes --help, and --json for output meant for scripts.
`;

async function dispatch(argv: string[], context: CommandContext): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError('no command given', { usage: USAGE });
  if (name === '--help' || name === '-h' || name === 'help') return void context.io.stdout.write(USAGE);
  const entry = Object.hasOwn(TOP_LEVEL, name) ? TOP_LEVEL[name] : undefined;
  if (!entry) throw new UsageError(`unknown command "${name}"`, { usage: USAGE });

  if (!isGroup(entry)) {
    if (wantsHelp(rest)) return void context.io.stdout.write(entry.usage);
    return entry.run(rest, context);
  }
  const [subName, ...args] = rest;
  if (subName === undefined) throw new UsageError(`${name}: no command given`, { usage: groupUsage(name, entry) });
  if (subName === '--help' || subName === '-h' || subName === 'help') return void context.io.stdout.write(groupUsage(name, entry));
  const command = Object.hasOwn(entry.commands, subName) ? entry.commands[subName] : undefined;
  if (!command) throw new UsageError(`unknown command "${name} ${subName}"`, { usage: groupUsage(name, entry) });
  if (wantsHelp(args)) return void context.io.stdout.write(command.usage);
  return command.run(args, context);
}

/** The command a command line names (`user create`), or undefined when it names none. */
export function commandName(argv: readonly string[]): string | undefined {
  const [name, subName] = argv;
  const entry = name !== undefined && Object.hasOwn(TOP_LEVEL, name) ? TOP_LEVEL[name] : undefined;
  if (!entry) return undefined;
  if (!isGroup(entry)) return name;
  return subName !== undefined && Object.hasOwn(entry.commands, subName) ? `${name} ${subName}` : undefined;
}

/** Runs one command line and returns the exit code. Failures are reported on stderr, one line each. */
export async function run(argv: string[], context: CommandContext): Promise<number> {
  try {
    await dispatch(argv, context);
    return 0;
  } catch (error) {
    const failure = describeFailure(error);
    context.io.stderr.write(`postern: ${failure.message}\n`);
    if (failure.detail) context.io.stderr.write(`\n${failure.detail}`);
    return failure.exitCode;
  }
}
