/** The command line was wrong: reported as one line, exit code 2, optionally followed by usage text. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly usage: string | undefined;

  constructor(message: string, options?: { usage?: string }) {
    super(message);
    this.usage = options?.usage;
  }
}

/** The person at the prompt gave up (Ctrl-C, Ctrl-D): exit code 130, as a shell reports SIGINT. */
export class Cancelled extends Error {
  override name = 'Cancelled';
}

/** Input the CLI itself refuses (a password too short, two entries that differ): exit code 1. */
export class InvalidInput extends Error {
  override name = 'InvalidInput';
}
