import type { PasswordInput } from './read-password.ts';

export interface TextSink {
  write(text: string): unknown;
}

export interface CliIo {
  stdin: PasswordInput;
  stdout: TextSink;
  stderr: TextSink;
}

export interface CommandContext {
  io: CliIo;
}

export interface Command {
  /** one line for the listing in `postern --help` */
  summary: string;
  /** the full text for `--help` */
  usage: string;
  run(args: string[], context: CommandContext): Promise<void>;
}

export interface CommandGroup {
  summary: string;
  commands: Readonly<Record<string, Command>>;
}
