import { join } from 'node:path';
import type { Socket } from 'node:net';

/**
 * The command socket's protocol: one JSON object per line, each way. The client sends `run`, then
 * stdin chunks as the server asks for them; the server streams the command's output, asks for
 * input (and, for a terminal, for raw mode around a password prompt), and ends with `exit`.
 */
export const PROTOCOL_VERSION = 1;

/** Inside the data directory, which is private to the user running the server. */
export const SOCKET_FILE = 'postern.sock';

/** sun_path holds 108 bytes on Linux, the terminating NUL included (104 on macOS). */
const MAX_SOCKET_PATH_BYTES = 103;

export type ClientMessage =
  | { type: 'run'; version: number; argv: string[]; stdinIsTTY: boolean }
  | { type: 'stdin'; data: string }
  | { type: 'stdin-end' };

export type ServerMessage =
  | { type: 'stdout'; data: string }
  | { type: 'stderr'; data: string }
  /** one more chunk of stdin, please */
  | { type: 'read' }
  /** put the terminal in raw mode (no echo) or back */
  | { type: 'raw'; on: boolean }
  | { type: 'exit'; code: number };

/** The command socket of an embedded data directory, or undefined when its path is too long for a socket. */
export function commandSocketPath(dataDir: string): string | undefined {
  const path = join(dataDir, SOCKET_FILE);
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES ? path : undefined;
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** A line longer than this is not a message either side sends: stdin arrives in chunks of at most 64 KiB. */
const MAX_LINE_BYTES = 1024 * 1024;

export function send(socket: Socket, message: ClientMessage | ServerMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onMessage` with each line received, parsed; a line that is not JSON, or too long, is a ProtocolError. */
export function receive(socket: Socket, onMessage: (message: unknown) => void, onError: (error: ProtocolError) => void): void {
  let buffered = '';
  let failed = false;
  const fail = (error: ProtocolError) => {
    failed = true;
    onError(error);
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (failed) return;
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        return fail(new ProtocolError('a message that is not JSON'));
      }
      onMessage(message);
    }
    if (buffered.length > MAX_LINE_BYTES) fail(new ProtocolError('a message over 1 MiB'));
  });
}
