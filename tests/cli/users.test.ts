import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../src/domain/accounts.ts';
import { availableBackends } from '../support/backends.ts';
import { createSandbox, errorLines, parseJson, type Sandbox } from './support/cli.ts';

type AccountJson = Omit<Account, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

const CHECK_PASSWORD = join(import.meta.dirname, 'support/check-password.ts');
const ADD_PASSKEY = join(import.meta.dirname, 'support/add-passkey.ts');
const FIRST = 'a long passphrase';
const SECOND = 'another long passphrase';

describe.each(availableBackends())('postern user on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;
  let alice: AccountJson;

  beforeAll(async () => {
    cli = await createSandbox(backend);
  });
  afterAll(() => cli?.cleanup());

  it('creates a user with the password piped on stdin', async () => {
    alice = parseJson<AccountJson>(
      await cli.run(['user', 'create', '--username', 'alice', '--email', 'alice@example.com', '--name', 'Alice Example', '--email-verified', '--json'], `${FIRST}\n`),
    );
    expect(alice).toMatchObject({ username: 'alice', email: 'alice@example.com', emailVerified: true, name: 'Alice Example', hasPassword: true, disabled: false });
    expect(alice.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creates a user without a password when asked to', async () => {
    const bob = parseJson<AccountJson>(await cli.run(['user', 'create', '--username', 'bob', '--no-password', '--json']));
    expect(bob).toMatchObject({ username: 'bob', email: null, hasPassword: false });
  });

  it('refuses an empty or short password before touching the database, exit 1', async () => {
    const empty = await cli.run(['user', 'create', '--username', 'carol'], '\n');
    expect(empty.code).toBe(1);
    expect(errorLines(empty)).toEqual(['postern: refusing an empty password']);
    const short = await cli.run(['user', 'create', '--username', 'carol'], 'short\n');
    expect(short.code).toBe(1);
    expect(errorLines(short)).toEqual(['postern: Use at least 12 characters.']);
  });

  it('refuses a common password and one containing the username or email, for create and set-password, exit 1', async () => {
    const common = await cli.run(['user', 'create', '--username', 'carol'], 'qwertyuiopasdfgh\n');
    expect(common.code).toBe(1);
    expect(errorLines(common)).toEqual(['postern: This password is one of the most common passwords and easy to guess; choose another.']);
    const named = await cli.run(['user', 'create', '--username', 'carol', '--email', 'c.jones@example.com'], 'C.Jones rides again\n');
    expect(named.code).toBe(1);
    expect(errorLines(named)).toEqual(['postern: The password must not contain your username or email address.']);
    const reset = await cli.run(['user', 'set-password', 'alice'], 'ALICE-in-wonderland\n');
    expect(reset.code).toBe(1);
    expect(errorLines(reset)).toEqual(['postern: The password must not contain your username or email address.']);
    const check = await cli.runScript(CHECK_PASSWORD, ['alice'], JSON.stringify([FIRST, 'ALICE-in-wonderland']));
    expect(JSON.parse(check.stdout)).toEqual([true, false]);
  });

  it('never takes a password from argv: there is no such option, exit 2', async () => {
    for (const args of [['--password', 'hunter2hunter2'], ['--password=hunter2hunter2']]) {
      const result = await cli.run(['user', 'create', '--username', 'dave', ...args], `${FIRST}\n`);
      expect(result.code).toBe(2);
      expect(errorLines(result)).toEqual(['postern: user create: passwords are never taken from the command line; pipe one line on stdin or answer the prompt']);
    }
  });

  it('sets a new password from stdin, found by email; the new one signs in, the old one no longer does', async () => {
    const result = await cli.run(['user', 'set-password', 'ALICE@example.com'], `${SECOND}\r\nignored second line\n`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('password set for alice\n');
    const check = await cli.runScript(CHECK_PASSWORD, ['alice'], JSON.stringify([SECOND, FIRST, `${SECOND}\r`, `${SECOND}\n`]));
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual([true, false, false, false]);
  });

  it('shows a user by id and by username', async () => {
    const byId = await cli.run(['user', 'show', alice.id]);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toMatch(/^username +alice$/m);
    expect(byId.stdout).toMatch(/^password +set$/m);
    expect(parseJson<AccountJson>(await cli.run(['user', 'show', 'alice', '--json'])).id).toBe(alice.id);
  });

  it('sets profile claims (user profile), shown by user show; refuses a bad value in one line, exit 1', async () => {
    const result = await cli.run(['user', 'profile', 'alice', '--nickname', 'Al', '--phone', '+44 20 7946 0958', '--phone-verified', 'yes', '--locality', 'London', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(parseJson<Record<string, unknown>>(result)).toMatchObject({ nickname: 'Al', phone_number: '+442079460958', phone_number_verified: true, address: { locality: 'London' } });
    const shown = await cli.run(['user', 'show', 'alice']);
    expect(shown.stdout).toMatch(/^nickname +Al$/m);
    expect(shown.stdout).toMatch(/^phone verified +yes$/m);
    expect(shown.stdout).toMatch(/^address locality +London$/m);
    const refused = await cli.run(['user', 'profile', 'alice', '--website', 'http://alice.example']);
    expect(refused.code).toBe(1);
    expect(errorLines(refused)).toEqual(['postern: website must be an absolute https URL']);
    expect((await cli.run(['user', 'profile', 'alice'])).code).toBe(2);
  });

  it("lists a user's passkeys and removes one (user passkeys)", async () => {
    expect((await cli.run(['user', 'passkeys', 'alice'])).stdout).toBe('alice has no passkeys\n');
    const added = await cli.runScript(ADD_PASSKEY, ['alice', 'Laptop']);
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout;
    const listed = await cli.run(['user', 'passkeys', 'alice']);
    expect(listed.stdout).toMatch(new RegExp(`^${id} +Laptop +\\S.* +never$`, 'm'));
    expect(parseJson<Array<{ id: string; name: string }>>(await cli.run(['user', 'passkeys', 'alice', '--json']))).toMatchObject([{ id, name: 'Laptop' }]);
    const wrong = await cli.run(['user', 'passkeys', 'alice', '--remove', 'nope']);
    expect(wrong.code).toBe(1);
    expect(errorLines(wrong)).toEqual(['postern: alice has no passkey nope']);
    expect(parseJson(await cli.run(['user', 'passkeys', 'alice', '--remove', id, '--json']))).toMatchObject({ removed: true, id });
    expect(parseJson<unknown[]>(await cli.run(['user', 'passkeys', 'alice', '--json']))).toEqual([]);
  });

  it('deletes a user; the list no longer has it', async () => {
    expect(parseJson(await cli.run(['user', 'delete', 'bob', '--json']))).toMatchObject({ deleted: true, username: 'bob' });
    const remaining = parseJson<AccountJson[]>(await cli.run(['user', 'list', '--json']));
    expect(remaining.map((a) => a.username)).toEqual(['alice']);
    const gone = await cli.run(['user', 'delete', 'bob']);
    expect(gone.code).toBe(1);
    expect(errorLines(gone)).toEqual(['postern: no account "bob"']);
  });
});
