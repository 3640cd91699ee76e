import { UsageError } from './errors.ts';

/** Options every command accepts. `--help` is handled by the dispatcher before parsing. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
} as const;

/**
 * Runs a `parseArgs` call and turns its errors (unknown option, missing value, stray argument)
 * into a one-line UsageError naming the command.
 */
export function parseOrUsage<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      const message = (error as Error).message.split('\n')[0]!.split('. ')[0]!;
      throw new UsageError(`${command}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`);
    }
    throw error;
  }
}

export function requireOption(command: string, value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${command}: ${flag} is required`);
  return value;
}

/** Exactly one positional argument, named in the message when it is missing. */
export function onePositional(command: string, positionals: string[], name: string): string {
  if (positionals.length === 0) throw new UsageError(`${command}: missing ${name}`);
  if (positionals.length > 1) throw new UsageError(`${command}: expected one ${name}, got ${positionals.length} arguments`);
  return positionals[0]!;
}

export function seconds(command: string, value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${command}: ${flag} must be a whole number of seconds, at least 1, got "${value}"`);
  return Number(value);
}

/** True when `--help` or `-h` appears before a `--` terminator. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}
