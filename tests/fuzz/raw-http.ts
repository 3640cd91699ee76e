import { connect, type Socket } from 'node:net';

/**
 * An HTTP/1.1 exchange over a bare socket, so that anything can be sent: any method token, any
 * bytes in the request line and headers, duplicated or missing framing headers, bodies that do
 * not match their Content-Length, and connections dropped halfway.
 */
export interface RawRequest {
  /** the request line and the header lines as written, with the blank line that ends them (if any) */
  head: string;
  body: RawBody;
  /** what the client does once it has written everything: wait for the answer, half-close, or drop */
  after: 'wait' | 'end' | 'destroy';
  /** HEAD answers carry no body: the reader must know */
  isHead: boolean;
}

export type RawBody =
  | { kind: 'none' }
  | { kind: 'bytes'; bytes: Buffer }
  /** `prefix`, then `fill` up to `size` bytes in all, sent in `chunkSize` pieces, each framed as a chunk when `chunked` */
  | { kind: 'large'; prefix: Buffer; size: number; fill: string; chunked: boolean; chunkSize: number };

export interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  /** the first bytes of the body (at most BODY_KEPT) */
  body: Buffer;
}

export type RawOutcome =
  | { kind: 'response'; response: RawResponse; ms: number }
  | { kind: 'no-response'; reason: 'closed' | 'reset' | 'timeout'; detail: string; ms: number };

const BODY_KEPT = 64 * 1024;

export function header(response: RawResponse, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return response.headers.find(([key]) => key.toLowerCase() === wanted)?.[1];
}

/** Sends `request` to host:port and reads one response (1xx interim answers are skipped). */
export function exchange(host: string, port: number, request: RawRequest, timeoutMs: number): Promise<RawOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    let received: Buffer = Buffer.alloc(0);
    let settled = false;
    let response: RawResponse | undefined;
    let socketError: NodeJS.ErrnoException | undefined;

    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      if (response) finish({ kind: 'response', response, ms: elapsed() });
      else finish({ kind: 'no-response', reason: 'timeout', detail: `no answer within ${timeoutMs} ms`, ms: elapsed() });
    }, timeoutMs);

    /** Parses what has arrived; returns true once one whole final response is in. */
    const parse = (closed: boolean): boolean => {
      for (;;) {
        if (!response) {
          const end = received.indexOf('\r\n\r\n');
          if (end === -1) return false;
          const lines = received.subarray(0, end).toString('latin1').split('\r\n');
          const statusLine = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
          if (!statusLine) {
            received = Buffer.alloc(0);
            return false;
          }
          const status = Number(statusLine[1]);
          const headers = lines.slice(1).map((line): [string, string] => {
            const colon = line.indexOf(':');
            return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
          });
          received = received.subarray(end + 4);
          if (status >= 100 && status < 200) continue;
          response = { status, headers, body: Buffer.alloc(0) };
        }
        const framed = frame(response, received, request.isHead);
        if (framed.complete || closed) {
          response.body = framed.body.subarray(0, BODY_KEPT);
          return true;
        }
        response.body = framed.body.subarray(0, BODY_KEPT);
        return false;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (parse(false)) finish({ kind: 'response', response: response!, ms: elapsed() });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socketError ??= error;
    });
    socket.on('close', () => {
      if (response || parse(true)) {
        if (!response) return finish({ kind: 'no-response', reason: 'closed', detail: 'closed mid-answer', ms: elapsed() });
        return finish({ kind: 'response', response, ms: elapsed() });
      }
      const reset = socketError && ['ECONNRESET', 'EPIPE'].includes(socketError.code ?? '');
      finish({
        kind: 'no-response',
        reason: reset ? 'reset' : 'closed',
        detail: socketError ? `${socketError.code}: ${socketError.message}` : 'connection closed before any answer',
        ms: elapsed(),
      });
    });
    socket.once('connect', () => {
      void write(socket, request, () => settled || response !== undefined).then(() => {
        if (settled) return;
        if (request.after === 'end') socket.end();
        else if (request.after === 'destroy') {
          // the client gives up: nothing will be read, the answer (if any) only shows in the server log
          finish({ kind: 'no-response', reason: 'closed', detail: 'client dropped the connection', ms: elapsed() });
        }
      });
    });
  });
}

async function write(socket: Socket, request: RawRequest, stop: () => boolean): Promise<void> {
  const put = (bytes: Buffer) =>
    new Promise<void>((resolve) => {
      if (socket.destroyed || !socket.writable) return resolve();
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      // wait for 'drain' when the buffer is full; 'close' too, which ends any wait
      if (socket.write(bytes)) return done();
      socket.on('drain', done);
      socket.on('close', done);
    });
  const { body } = request;
  await put(Buffer.from(request.head, 'latin1'));
  if (body.kind === 'bytes' && body.bytes.length > 0) await put(body.bytes);
  if (body.kind === 'large') {
    const filler = Buffer.alloc(body.chunkSize, body.fill, 'latin1');
    let left = body.size;
    let first = true;
    while (left > 0 && !stop() && !socket.destroyed) {
      const piece = first ? Buffer.concat([body.prefix, filler]).subarray(0, Math.min(left, body.chunkSize)) : filler.subarray(0, Math.min(left, body.chunkSize));
      first = false;
      left -= piece.length;
      await put(body.chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
    }
    if (body.chunked && left === 0 && !stop()) await put(Buffer.from('0\r\n\r\n'));
  }
}

function frame(response: RawResponse, data: Buffer, isHead: boolean): { complete: boolean; body: Buffer } {
  if (isHead || response.status === 204 || response.status === 304) return { complete: true, body: Buffer.alloc(0) };
  const encoding = header(response, 'transfer-encoding');
  if (encoding && /chunked/i.test(encoding)) {
    const parts: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', offset);
      if (lineEnd === -1) return { complete: false, body: Buffer.concat(parts) };
      const size = Number.parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return { complete: true, body: Buffer.concat(parts) };
      if (size === 0) return { complete: data.indexOf('\r\n', lineEnd + 2) !== -1, body: Buffer.concat(parts) };
      if (data.length < lineEnd + 2 + size + 2) return { complete: false, body: Buffer.concat(parts) };
      parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
  }
  const length = header(response, 'content-length');
  if (length !== undefined) {
    const expected = Number(length);
    return { complete: data.length >= expected, body: data.subarray(0, expected) };
  }
  return { complete: false, body: data };
}
