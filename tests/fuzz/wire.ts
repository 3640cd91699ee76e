import type { FuzzCase } from './cases.ts';
import type { RawRequest } from './raw-http.ts';

/** The request a case stands for, with its placeholders filled, ready for the socket and for a report. */
export interface WireRequest {
  raw: RawRequest;
  requestId: string;
  /** the head as sent, and the body's first bytes, for a failure report */
  head: string;
  bodyPreview: string;
  bodyLength: number;
}

export const requestIdOf = (seed: number, id: number) => `fz-${seed}-${id}`;

export function fill(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => values[name] ?? whole);
}

export function toWire(fuzzCase: FuzzCase, seed: number, values: Readonly<Record<string, string>>): WireRequest {
  const requestId = requestIdOf(seed, fuzzCase.id);
  const all: Record<string, string> = { ...values, requestId };
  const isHead = fuzzCase.method === 'HEAD';
  if (fuzzCase.rawHead !== undefined) {
    const head = fill(fuzzCase.rawHead, all);
    const bytes = fuzzCase.body === null ? Buffer.alloc(0) : Buffer.from(fill(fuzzCase.body, all), 'latin1');
    return { raw: { head, body: { kind: 'bytes', bytes }, after: fuzzCase.after, isHead }, requestId, head, bodyPreview: bytes.subarray(0, 2000).toString('latin1'), bodyLength: bytes.length };
  }

  const lines = [`${fuzzCase.method} ${fill(fuzzCase.target, all)} ${fuzzCase.version}`];
  if (fuzzCase.auto.host) lines.push(`Host: ${all.host}`);
  for (const [name, value] of fuzzCase.headers) lines.push(`${name}: ${fill(value, all)}`);
  const body = fuzzCase.body === null ? null : Buffer.from(fill(fuzzCase.body, all), 'latin1');
  let raw: RawRequest['body'] = { kind: 'none' };
  let bodyLength = 0;
  if (fuzzCase.large) {
    const { size, chunked } = fuzzCase.large;
    lines.push(chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`);
    raw = { kind: 'large', prefix: body ?? Buffer.alloc(0), size, fill: 'a', chunked, chunkSize: 16 * 1024 };
    bodyLength = size;
  } else if (body !== null) {
    let bytes: Buffer = body;
    if (fuzzCase.framing.kind === 'length') lines.push(`Content-Length: ${Math.max(0, body.length + fuzzCase.framing.delta)}`);
    if (fuzzCase.framing.kind === 'chunked') {
      lines.push('Transfer-Encoding: chunked');
      bytes = chunk(body);
    }
    raw = { kind: 'bytes', bytes };
    bodyLength = bytes.length;
  }
  if (fuzzCase.auto.requestId) lines.push(`X-Request-Id: ${requestId}`);
  if (fuzzCase.auto.connection) lines.push('Connection: close');
  const head = `${lines.join('\r\n')}\r\n\r\n`;
  const preview = raw.kind === 'bytes' ? raw.bytes.subarray(0, 2000).toString('latin1') : raw.kind === 'large' ? `${raw.prefix.subarray(0, 2000).toString('latin1')}aaaa…` : '';
  return { raw: { head, body: raw, after: fuzzCase.after, isHead }, requestId, head, bodyPreview: preview, bodyLength };
}

/** The body as chunked transfer coding, in up to three chunks. */
function chunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  const size = Math.max(1, Math.ceil(body.length / 3));
  for (let offset = 0; offset < body.length; offset += size) {
    const piece = body.subarray(offset, offset + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** A request as a report shows it: escaped, long runs shortened. */
export function describeWire(wire: WireRequest): string {
  const shorten = (text: string) => text.replace(/(.)\1{199,}/gs, (run, char: string) => `${char.repeat(20)}…[${run.length} × ${JSON.stringify(char)}]`);
  const head = shorten(wire.head).slice(0, 3000);
  const body = wire.bodyLength > 0 ? shorten(wire.bodyPreview).slice(0, 600) + (wire.bodyLength > wire.bodyPreview.length ? `…[${wire.bodyLength} bytes in all]` : '') : '';
  return JSON.stringify(head + body);
}
