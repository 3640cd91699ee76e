import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger } from 'pino';

/** Structured JSON logs. Anything that could carry a secret is redacted at the source. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.client_secret',
  // an authorization code travels as `code` in a query, form or parameter object; `err.code` (ECONNREFUSED, SQLSTATE) stays readable
  'query.code',
  'body.code',
  'form.code',
  'params.code',
  '*.query.code',
  '*.body.code',
  '*.form.code',
  '*.params.code',
  '*.code_verifier',
  '*.refresh_token',
  '*.access_token',
  '*.id_token',
  '*.token',
  // the device flow's (RFC 8628): a device code is a bearer credential, a user code the key a person types
  '*.device_code',
  '*.user_code',
];

/**
 * Without a destination, lines go to stdout asynchronously: under load, lines written while
 * one write is in flight leave together, and what is buffered is flushed when the process exits.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'postern',
      level,
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * The logger for the one line per request. Its fields are fixed and none can carry a secret
 * (the path is logged without its query), so it skips the redaction pass every other line gets.
 */
export function accessLogger(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}
