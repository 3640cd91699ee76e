import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { logLines } from './support/log-capture.ts';

describe('logger redaction', () => {
  it('hides secrets in the places they travel but keeps an error\'s code', () => {
    const { lines, sink } = logLines();
    const logger = createLogger('info', sink);
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    logger.error({ err }, 'storage failed');
    logger.info({ query: { code: 'the-authorization-code' }, form: { code: 'a-form-code', client_secret: 's3cret' }, ctx: { params: { code: 'nested-code' } } }, 'request');
    logger.info({ body: { device_code: 'the-device-code' }, params: { user_code: 'BCDF-GHJK' } }, 'device');
    const [failure, request] = lines.map((line) => JSON.parse(line) as Record<string, Record<string, unknown>>);
    expect(failure!.err!.code).toBe('ECONNREFUSED');
    const text = lines.join('');
    for (const secret of ['the-authorization-code', 'a-form-code', 's3cret', 'nested-code', 'the-device-code', 'BCDF-GHJK']) expect(text).not.toContain(secret);
    expect(request!.query!.code).toBe('[Redacted]');
  });
});
