import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createMailer } from '../../src/mail/mailer.ts';
import { extractLink, readOutbox, waitForMail } from '../support/outbox.ts';

const FROM = 'Postern <no-reply@login.example.test>';
const ISSUER = 'http://localhost:3000';

let root: string;
afterAll(() => (root ? rm(root, { recursive: true, force: true }) : undefined));

async function outboxMailer() {
  root ??= await mkdtemp(join(tmpdir(), 'postern-outbox-'));
  const dir = join(await mkdtemp(join(root, 'case-')), 'nested', 'outbox');
  const mailer = createMailer({ smtpUrl: undefined, from: FROM, outboxDir: dir, logLinks: false }, 'test', createLogger('silent'));
  return { dir, mailer };
}

describe('outbox', () => {
  it('writes each message as one private JSON file in a private directory it creates', async () => {
    const { dir, mailer } = await outboxMailer();
    const before = Date.now();
    await mailer.send({ to: 'alice@example.test', subject: 'Verify your email', text: `Open ${ISSUER}/verify-email?token=abc`, html: '<p>hi</p>' });

    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-[0-9a-f]{12}\.json$/);
    const file = join(dir, names[0]!);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(record).toEqual({
      to: 'alice@example.test',
      from: FROM,
      subject: 'Verify your email',
      text: `Open ${ISSUER}/verify-email?token=abc`,
      html: '<p>hi</p>',
      language: null,
      sentAt: expect.any(String),
    });
    expect(Date.parse(record.sentAt as string)).toBeGreaterThanOrEqual(before);
  });

  it('leaves no partial files behind, even for many messages sent at once, and readOutbox returns them oldest first', async () => {
    const { dir, mailer } = await outboxMailer();
    await mailer.send({ to: 'first@example.test', subject: 'one', text: 'one' });
    await sleep(5);
    await Promise.all(Array.from({ length: 20 }, (_, i) => mailer.send({ to: `user${i}@example.test`, subject: `burst ${i}`, text: 'x'.repeat(100_000) })));
    await sleep(5);
    await mailer.send({ to: 'last@example.test', subject: 'last', text: 'last' });

    const names = await readdir(dir);
    expect(names).toHaveLength(22);
    expect(names.every((name) => name.endsWith('.json') && !name.startsWith('.'))).toBe(true);
    const messages = await readOutbox(dir);
    expect(messages).toHaveLength(22);
    expect(messages[0]!.to).toBe('first@example.test');
    expect(messages.at(-1)!.to).toBe('last@example.test');
    expect(messages.filter((message) => message.text.length === 100_000)).toHaveLength(20);
  });

  it('reads an outbox that does not exist yet as empty', async () => {
    const { dir } = await outboxMailer();
    expect(await readOutbox(dir)).toEqual([]);
  });
});

describe('test helpers', () => {
  it('waitForMail returns the newest message for the recipient and subject, waiting for it to arrive', async () => {
    const { dir, mailer } = await outboxMailer();
    await mailer.send({ to: 'bob@example.test', subject: 'Reset your password', text: `Open ${ISSUER}/reset-password?token=old` });
    await mailer.send({ to: 'carol@example.test', subject: 'Reset your password', text: `Open ${ISSUER}/reset-password?token=carol` });
    await sleep(5);
    const since = new Date();
    const later = sleep(200).then(() => mailer.send({ to: 'Bob@Example.test', subject: 'Reset your password', text: `Open ${ISSUER}/reset-password?token=new.` }));

    const mail = await waitForMail(dir, { to: 'bob@example.test', subject: /reset/i, since }, 5000);
    await later;
    expect(mail.text).toContain('token=new');
    expect(extractLink(mail, '/reset-password')).toBe(`${ISSUER}/reset-password?token=new`);
    expect((await waitForMail(dir, { to: 'bob@example.test' }, 0)).text).toContain('token=new');
  });

  it('waitForMail fails after the timeout, naming what the outbox holds', async () => {
    const { dir, mailer } = await outboxMailer();
    await mailer.send({ to: 'dave@example.test', subject: 'Verify your email', text: 'x' });
    await expect(waitForMail(dir, { to: 'dave@example.test', subject: /reset/i }, 200)).rejects.toThrow(/no mail to dave@example.test matching \/reset\/i.*dave@example.test: Verify your email/);
    await expect(waitForMail(dir, { to: 'erin@example.test' }, 100)).rejects.toThrow(/no mail to erin@example.test/);
  });

  it('extractLink picks the first link with the given path or absolute prefix', () => {
    const message = {
      text: `See ${ISSUER}/help for help.\nVerify: ${ISSUER}/verify-email?token=one (expires soon)\nOr ${ISSUER}/verify-email?token=two\n`,
    };
    expect(extractLink(message, '/verify-email')).toBe(`${ISSUER}/verify-email?token=one`);
    expect(extractLink(message, `${ISSUER}/verify`)).toBe(`${ISSUER}/verify-email?token=one`);
    expect(extractLink(message, ISSUER)).toBe(`${ISSUER}/help`);
    expect(() => extractLink(message, '/reset-password')).toThrow(/no link starting with \/reset-password/);
  });
});
