import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Cancelled, InvalidInput } from '../../src/cli/errors.ts';
import { newPasswordCheck } from '../../src/cli/password-rules.ts';
import { readFirstLine, readNewPassword, type PasswordInput } from '../../src/cli/read-password.ts';
import { PasswordPolicy } from '../../src/domain/password-policy.ts';

const check = newPasswordCheck(new PasswordPolicy({ minLength: 12 }), { username: 'alice' });

function fakeTerminal() {
  const input = new PassThrough() as PassThrough & PasswordInput;
  const rawModes: boolean[] = [];
  input.isTTY = true;
  input.setRawMode = (mode: boolean) => rawModes.push(mode);
  let written = '';
  const output = { write: (text: string) => (written += text) };
  return { input, output, rawModes, written: () => written };
}

/** Types `keys` one chunk at a time, as a terminal in raw mode delivers them. */
async function type(input: PassThrough, ...chunks: string[]) {
  for (const chunk of chunks) {
    await new Promise((resolve) => setImmediate(resolve));
    input.write(chunk);
  }
}

describe('readNewPassword at a terminal', () => {
  it('reads the password twice without echo and leaves raw mode', async () => {
    const terminal = fakeTerminal();
    const password = readNewPassword(terminal, check);
    await type(terminal.input, 'correct horse', ' battery\r', 'correct horse battery\r');
    await expect(password).resolves.toBe('correct horse battery');
    expect(terminal.written()).toBe('New password: \nRepeat the password: \n');
    expect(terminal.rawModes).toEqual([true, false, true, false]);
  });

  it('applies backspace and Ctrl-U, and ignores arrow keys', async () => {
    const terminal = fakeTerminal();
    const password = readNewPassword(terminal, check);
    await type(terminal.input, 'garbage\u0015', 'long passwordX\u007f', '\u001b[D', '\r', 'long password\r');
    await expect(password).resolves.toBe('long password');
  });

  it('refuses two entries that differ', async () => {
    const terminal = fakeTerminal();
    const password = readNewPassword(terminal, check);
    await type(terminal.input, 'long password one\r', 'long password two\r');
    await expect(password).rejects.toThrow(new InvalidInput('the two passwords differ'));
  });

  it('refuses a short password before asking for it again', async () => {
    const terminal = fakeTerminal();
    const password = readNewPassword(terminal, check);
    await type(terminal.input, 'short\r');
    await expect(password).rejects.toMatchObject({ reason: 'too_short', message: 'Use at least 12 characters.' });
    expect(terminal.written()).toBe('New password: \n');
  });

  it('refuses a common password, or one containing the username, before asking for it again', async () => {
    for (const [typed, reason] of [['qwertyuiopasdfgh', 'common'], ['Alice in Wonderland', 'contains_identity']]) {
      const terminal = fakeTerminal();
      const password = readNewPassword(terminal, check);
      await type(terminal.input, `${typed}\r`);
      await expect(password).rejects.toMatchObject({ reason });
      expect(terminal.written()).toBe('New password: \n');
    }
  });

  it('cancels on Ctrl-C and restores the terminal', async () => {
    const terminal = fakeTerminal();
    const password = readNewPassword(terminal, check);
    await type(terminal.input, 'secr', '\u0003');
    await expect(password).rejects.toThrow(Cancelled);
    expect(terminal.rawModes).toEqual([true, false]);
  });
});

describe('readFirstLine from a pipe', () => {
  it('returns the first line without its line ending, whatever the chunking', async () => {
    const input = new PassThrough();
    const line = readFirstLine(input);
    const bytes = Buffer.from('pass phrase with ü\r\nsecond line\n');
    const middleOfU = bytes.indexOf(0xc3) + 1;
    input.write(bytes.subarray(0, middleOfU));
    input.write(bytes.subarray(middleOfU));
    await expect(line).resolves.toBe('pass phrase with ü');
  });

  it('returns everything when the stream ends without a newline', async () => {
    const input = new PassThrough();
    const line = readFirstLine(input);
    input.end('no newline at all');
    await expect(line).resolves.toBe('no newline at all');
  });
});
