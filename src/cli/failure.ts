import { ConfigError } from '../config.ts';
import { DomainError } from '../domain/errors.ts';
import { Cancelled, InvalidInput, UsageError } from './errors.ts';

export interface Failure {
  /** one line, without the `postern: ` prefix */
  message: string;
  /** text to print after the line (usage), if any */
  detail: string | undefined;
  exitCode: number;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** Every failure becomes one line and an exit code: 2 for usage, 130 for a cancelled prompt, 1 otherwise. */
export function describeFailure(error: unknown): Failure {
  if (error instanceof UsageError) return { message: firstLine(error.message), detail: error.usage, exitCode: 2 };
  if (error instanceof Cancelled) return { message: firstLine(error.message), detail: undefined, exitCode: 130 };
  if (error instanceof DomainError || error instanceof ConfigError || error instanceof InvalidInput) {
    return { message: firstLine(error.message), detail: undefined, exitCode: 1 };
  }
  const reason = error instanceof Error ? firstLine(error.message) || error.name : String(error);
  return { message: `failed: ${reason}`, detail: undefined, exitCode: 1 };
}
