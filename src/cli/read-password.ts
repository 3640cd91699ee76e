import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Cancelled, InvalidInput } from './errors.ts';

/** process.stdin, or any readable shaped like it (the tests pass a PassThrough). */
export type PasswordInput = Readable & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };

export interface PasswordPrompt {
  input: PasswordInput;
  /** where prompts go: stderr, so stdout stays clean for --json */
  output: { write(text: string): unknown };
}

const MAX_PIPED_BYTES = 64 * 1024;
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const ESCAPE = '\u001b';
const BACKSPACES = new Set(['\u007f', '\b']);

/**
 * A new password, never from argv: the first line of stdin when it is piped (newline stripped),
 * otherwise typed twice at a prompt without echo. `check` throws for a password it refuses, before
 * the prompt asks for it again.
 */
export async function readNewPassword(prompt: PasswordPrompt, check: (password: string) => void): Promise<string> {
  if (!prompt.input.isTTY) {
    const password = await readFirstLine(prompt.input);
    check(password);
    return password;
  }
  const first = await readHidden(prompt, 'New password: ');
  check(first);
  const second = await readHidden(prompt, 'Repeat the password: ');
  if (first !== second) throw new InvalidInput('the two passwords differ');
  return first;
}

/** The first line of a piped stream, without its line ending; the rest of the stream is left unread. */
export function readFirstLine(input: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let text = '';
    let bytes = 0;
    const finish = (line: string) => {
      cleanup();
      resolve(line.replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer | string) => {
      bytes += chunk.length;
      text += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const newline = text.indexOf('\n');
      if (newline !== -1) return finish(text.slice(0, newline));
      if (bytes > MAX_PIPED_BYTES) {
        cleanup();
        reject(new InvalidInput(`no line ending in the first ${MAX_PIPED_BYTES} bytes of stdin: pipe the password as one line`));
      }
    };
    const onEnd = () => finish(text + decoder.end());
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      input.pause();
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
}

/** One line typed in raw mode, nothing echoed. Backspace and Ctrl-U edit; Ctrl-C and Ctrl-D (on an empty line) cancel. */
export function readHidden({ input, output }: PasswordPrompt, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: Buffer | string) => {
      const text = String(chunk);
      // arrow and function keys arrive as one escape sequence per chunk: ignore it whole
      if (text.startsWith(ESCAPE)) return;
      for (const char of text) {
        if (char === '\r' || char === '\n') return done(() => resolve(value));
        if (char === CTRL_C || (char === CTRL_D && value === '')) return done(() => reject(new Cancelled('cancelled')));
        if (BACKSPACES.has(char)) value = [...value].slice(0, -1).join('');
        else if (char === CTRL_U) value = '';
        else if (char >= ' ') value += char;
      }
    };
    const onEnd = () => done(() => reject(new Cancelled('cancelled: input closed')));
    const done = (settle: () => void) => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      settle();
    };
    output.write(label);
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  });
}
