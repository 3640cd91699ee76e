import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MailSettings, RunMode } from '../../src/config.ts';
import { InvalidRequest, MailDeliveryFailed } from '../../src/domain/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { createMailer } from '../../src/mail/mailer.ts';
import { readOutbox } from '../support/outbox.ts';
import { logLines } from '../support/log-capture.ts';

const FROM = 'Postern <no-reply@login.example.test>';
const LINK = 'http://localhost:3000/reset-password?token=Zk9xQ2hVbWdLd3RzYnB4eU1uRGpHcA-one-time_secret';
const MESSAGE = {
  to: 'alice@mailbox.example.test',
  subject: 'Reset your password',
  text: `Someone asked to reset the password of your account.\n\nOpen ${LINK} to choose a new one.\n`,
};
const USER = 'postern@relay.example.test';
const PASSWORD = 'p4ss:word/with%specials';
/** as it appears in the URL: the user and password percent-encoded */
const ENCODED_PASSWORD = encodeURIComponent(PASSWORD);

function captureLogs() {
  const { lines, sink } = logLines();
  return { logger: createLogger('trace', sink), text: () => lines.join(''), entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

interface Received {
  mailFrom: string;
  rcptTo: string[];
  raw: string;
}

/** A real SMTP server on loopback that keeps what it is sent and the credentials it is given. */
async function startSmtpSink(options: SMTPServerOptions = {}) {
  const received: Received[] = [];
  const logins: { method: string; username: string | undefined; password: string | undefined }[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push({ method: auth.method, username: auth.username ?? undefined, password: auth.password ?? undefined });
      if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: auth.username });
      // echoes what it was given, as some servers do, so the logs are shown to scrub it
      else callback(new Error(`Invalid login ${auth.username} / ${auth.password}`));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        received.push({ mailFrom, rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    logins,
    url: (user = USER, password = PASSWORD) => `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Headers (unfolded, lower-case names) and the decoded text of each leaf part of a MIME message. */
function parseMime(raw: string): { headers: Map<string, string>; parts: { type: string; body: string }[] } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const body = raw.slice(split + 4);
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
  if (type.startsWith('multipart/') && boundary) {
    const parts = body.split(`--${boundary}`).slice(1, -1).map((part) => parseMime(part.replace(/^\r\n/, '').replace(/\r\n$/, '')).parts);
    return { headers, parts: parts.flat() };
  }
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  const decoded =
    encoding === 'quoted-printable'
      ? Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8')
      : encoding === 'base64'
        ? Buffer.from(body, 'base64').toString('utf8')
        : body;
  return { headers, parts: [{ type: type.split(';')[0]!, body: decoded.replace(/\r\n/g, '\n') }] };
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-mail-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function settings(overrides: Partial<MailSettings> = {}): MailSettings {
  return { smtpUrl: undefined, from: FROM, outboxDir: undefined, logLinks: false, ...overrides };
}

describe('SMTP delivery', () => {
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  beforeAll(async () => {
    sink = await startSmtpSink({ authMethods: ['PLAIN'] });
  });
  afterAll(() => sink?.close());
  afterEach(() => {
    sink.received.length = 0;
    sink.logins.length = 0;
  });

  it('sends with the credentials from the URL, from the configured sender, and logs neither them nor the body', async () => {
    const logs = captureLogs();
    const mailer = createMailer(settings({ smtpUrl: sink.url() }), 'production', logs.logger);
    await mailer.send({ ...MESSAGE, html: `<p><a href="${LINK}">Choose a new password</a></p>` });

    expect(sink.logins).toEqual([{ method: 'PLAIN', username: USER, password: PASSWORD }]);
    expect(sink.received).toHaveLength(1);
    const [mail] = sink.received;
    expect(mail!.mailFrom).toBe('no-reply@login.example.test');
    expect(mail!.rcptTo).toEqual([MESSAGE.to]);
    const { headers, parts } = parseMime(mail!.raw);
    expect(headers.get('from')).toBe(FROM);
    expect(headers.get('to')).toBe(MESSAGE.to);
    expect(headers.get('subject')).toBe(MESSAGE.subject);
    expect(parts.find((part) => part.type === 'text/plain')?.body).toBe(MESSAGE.text);
    expect(parts.find((part) => part.type === 'text/html')?.body).toContain(`href="${LINK}"`);

    expect(logs.text()).toContain('"msg":"mail sent"');
    expect(logs.text()).toContain('"toDomain":"mailbox.example.test"');
    for (const secret of [LINK, 'one-time_secret', PASSWORD, ENCODED_PASSWORD, 'alice@']) expect(logs.text()).not.toContain(secret);
  });

  it('reports a refused login as MailDeliveryFailed without logging the credentials or the URL', async () => {
    const logs = captureLogs();
    const wrong = 'wrong-' + PASSWORD;
    const url = sink.url(USER, wrong);
    const mailer = createMailer(settings({ smtpUrl: url }), 'production', logs.logger);
    const error = await mailer.send(MESSAGE).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(MailDeliveryFailed);
    expect(error).toMatchObject({ status: 503, code: 'temporarily_unavailable', expose: true });
    expect(sink.logins).toEqual([{ method: 'PLAIN', username: USER, password: wrong }]);
    expect(sink.received).toHaveLength(0);
    const [failure] = logs.entries().filter((entry) => entry.msg === 'mail delivery failed');
    expect(failure).toMatchObject({ level: 50, toDomain: 'mailbox.example.test', smtp: { host: '127.0.0.1', port: String(sink.port), errorCode: 'EAUTH', command: 'AUTH PLAIN' } });
    expect((failure!.smtp as { reason: string }).reason).toMatch(/^535 Invalid login \[secret\] \/ \[secret\]/);
    for (const secret of [url, wrong, encodeURIComponent(wrong), USER, Buffer.from(`\0${USER}\0${wrong}`).toString('base64'), LINK, MESSAGE.text]) {
      expect(logs.text()).not.toContain(secret);
    }
  });

  it('refuses a recipient list or a header smuggled into the address before anything is sent', async () => {
    const mailer = createMailer(settings({ smtpUrl: sink.url() }), 'production', captureLogs().logger);
    for (const to of ['alice@mailbox.example.test, mallory@attacker.example.test', 'alice@mailbox.example.test\r\nBcc: mallory@attacker.example.test', 'Alice <alice@mailbox.example.test>', 'alice@mailbox.example.test;mallory@attacker.example.test']) {
      await expect(mailer.send({ ...MESSAGE, to })).rejects.toBeInstanceOf(InvalidRequest);
    }
    expect(sink.received).toHaveLength(0);
  });

  it('keeps a line break in the subject from adding a header or a recipient', async () => {
    const mailer = createMailer(settings({ smtpUrl: sink.url() }), 'production', captureLogs().logger);
    await mailer.send({ ...MESSAGE, subject: 'Reset your password\r\nBcc: mallory@attacker.example.test' });
    const [mail] = sink.received;
    expect(mail!.rcptTo).toEqual([MESSAGE.to]);
    expect(parseMime(mail!.raw).headers.has('bcc')).toBe(false);
  });
});

describe('SMTP failures', () => {
  it('reports a recipient the server refuses as MailDeliveryFailed', async () => {
    const sink = await startSmtpSink({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
    });
    try {
      const logs = captureLogs();
      const mailer = createMailer(settings({ smtpUrl: `smtp://127.0.0.1:${sink.port}` }), 'production', logs.logger);
      await expect(mailer.send(MESSAGE)).rejects.toBeInstanceOf(MailDeliveryFailed);
      expect(sink.received).toHaveLength(0);
      const [failure] = logs.entries().filter((entry) => entry.msg === 'mail delivery failed');
      expect(failure).toMatchObject({ smtp: { errorCode: 'EENVELOPE', responseCode: 550, command: 'RCPT' } });
      expect(logs.text()).not.toContain(LINK);
    } finally {
      await sink.close();
    }
  });

  it('reports a server that is not there as MailDeliveryFailed, still writes the outbox, and logs no credentials', async () => {
    const closed = await startSmtpSink();
    const url = closed.url();
    await closed.close();
    const outbox = await tempDir();
    const logs = captureLogs();
    const mailer = createMailer(settings({ smtpUrl: url, outboxDir: outbox }), 'production', logs.logger);

    await expect(mailer.send(MESSAGE)).rejects.toBeInstanceOf(MailDeliveryFailed);
    const [failure] = logs.entries().filter((entry) => entry.msg === 'mail delivery failed');
    expect(failure).toMatchObject({ level: 50, smtp: { host: '127.0.0.1', port: String(closed.port) } });
    expect((failure!.smtp as { errorCode: string }).errorCode).toMatch(/^E[A-Z]+$/);
    for (const secret of [url, USER, encodeURIComponent(USER), PASSWORD, ENCODED_PASSWORD, LINK]) expect(logs.text()).not.toContain(secret);
    expect(await readOutbox(outbox)).toMatchObject([{ to: MESSAGE.to, text: MESSAGE.text }]);
  });
});

describe('without SMTP', () => {
  for (const mode of ['development', 'production', 'test'] as const) {
    it(`logs the whole message, under a field the logger does not redact, only when logLinks asks for it, in ${mode}`, async () => {
      const logs = captureLogs();
      await createMailer(settings({ logLinks: true }), mode, logs.logger).send(MESSAGE);
      const [entry] = logs.entries().filter((line) => line.mail !== undefined);
      expect(entry).toMatchObject({ level: 30, mail: { to: MESSAGE.to, subject: MESSAGE.subject, text: MESSAGE.text } });
      expect(logs.text()).not.toContain('[Redacted]');
      expect(logs.text()).toContain('one-time_secret');
    });
  }

  for (const mode of ['development', 'production', 'test'] as const) {
    it(`logs only that the message was dropped and the recipient's domain in ${mode}`, async () => {
      const logs = captureLogs();
      await createMailer(settings(), mode, logs.logger).send({ ...MESSAGE, html: `<a href="${LINK}">reset</a>` });
      const entries = logs.entries();
      expect(entries.filter((entry) => entry.msg === 'mail not sent: no SMTP configured')).toMatchObject([{ level: 40, toDomain: 'mailbox.example.test' }]);
      for (const secret of [LINK, 'one-time_secret', 'alice@', MESSAGE.subject]) expect(logs.text()).not.toContain(secret);
    });
  }

  it('still writes the outbox in production, and logs no body there either', async () => {
    const outbox = await tempDir();
    const logs = captureLogs();
    await createMailer(settings({ outboxDir: outbox }), 'production', logs.logger).send(MESSAGE);
    expect(await readOutbox(outbox)).toMatchObject([{ to: MESSAGE.to, from: FROM, subject: MESSAGE.subject, text: MESSAGE.text, html: null }]);
    expect(logs.text()).not.toContain('one-time_secret');
  });

  it('warns once at creation in production when mail can go nowhere, and not otherwise', async () => {
    const creationWarnings = async (mode: RunMode, overrides: Partial<MailSettings>) => {
      const logs = captureLogs();
      createMailer(settings(overrides), mode, logs.logger);
      return { count: logs.entries().filter((entry) => entry.level === 40).length, logs };
    };
    const nowhere = await creationWarnings('production', {});
    expect(nowhere.count).toBe(1);
    expect(nowhere.logs.text()).toContain('no SMTP configured');
    expect((await creationWarnings('production', { outboxDir: await tempDir() })).count).toBe(0);
    expect((await creationWarnings('production', { smtpUrl: 'smtp://127.0.0.1:1' })).count).toBe(0);
    expect((await creationWarnings('development', {})).count).toBe(0);
    expect((await creationWarnings('test', {})).count).toBe(0);
  });

  it('warns at creation in production when messages are written to the log', async () => {
    const logs = captureLogs();
    createMailer(settings({ smtpUrl: 'smtp://127.0.0.1:1', logLinks: true }), 'production', logs.logger);
    expect(logs.entries().filter((entry) => entry.level === 40).map((entry) => entry.msg)).toEqual([expect.stringContaining('POSTERN_MAIL_LOG_LINKS is on')]);
  });
});
