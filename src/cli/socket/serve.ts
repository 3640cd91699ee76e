import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Logger } from '../../logger.ts';
import { Cancelled } from '../errors.ts';
import { runOnHost, type CommandHost } from '../open-services.ts';
import { commandSocketPath, PROTOCOL_VERSION, ProtocolError, receive, send, type ClientMessage } from './protocol.ts';

export interface CommandSocket {
  path: string;
  /** Stops accepting commands, lets the running ones finish for at most `timeoutMs`, removes the socket. */
  close(timeoutMs: number): Promise<void>;
}

/** The CLI's stdin, read over the socket chunk by chunk as the command asks for it. */
class RemoteInput extends Readable {
  readonly isTTY: boolean;
  readonly setRawMode?: (mode: boolean) => unknown;
  readonly #socket: Socket;

  constructor(socket: Socket, isTTY: boolean) {
    super();
    this.#socket = socket;
    this.isTTY = isTTY;
    if (isTTY) this.setRawMode = (on) => send(socket, { type: 'raw', on });
    // the CLI may go away while nobody reads; readers that care listen for themselves
    this.on('error', () => {});
  }

  override _read(): void {
    send(this.#socket, { type: 'read' });
  }
}

function runRequest(message: unknown): Extract<ClientMessage, { type: 'run' }> {
  const request = message as Partial<Extract<ClientMessage, { type: 'run' }>> | null;
  if (request?.type !== 'run' || typeof request.version !== 'number') throw new ProtocolError('a first message that is not a command');
  if (request.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(`command protocol ${request.version}, where this server speaks ${PROTOCOL_VERSION}: run the postern of the server's own installation`);
  }
  if (!Array.isArray(request.argv) || !request.argv.every((arg) => typeof arg === 'string') || typeof request.stdinIsTTY !== 'boolean') {
    throw new ProtocolError('a command without its arguments');
  }
  return { type: 'run', version: request.version, argv: request.argv, stdinIsTTY: request.stdinIsTTY };
}

function refuse(socket: Socket, reason: string): void {
  send(socket, { type: 'stderr', data: `postern: the server could not read the request: ${reason}\n` });
  send(socket, { type: 'exit', code: 1 });
  socket.end();
}

async function execute(socket: Socket, argv: string[], input: RemoteInput, host: CommandHost, logger: Logger): Promise<void> {
  const started = performance.now();
  const sink = (type: 'stdout' | 'stderr') => ({ write: (text: string) => send(socket, { type, data: String(text) }) });
  let exitCode = 1;
  try {
    const { commandName, run } = await import('../run.ts');
    exitCode = await runOnHost(host, () => run(argv, { io: { stdin: input, stdout: sink('stdout'), stderr: sink('stderr') } }));
    // argv is not logged: a password typed as an argument by mistake must not reach the log
    logger.info({ command: commandName(argv) ?? 'unknown', exitCode, ms: Math.round(performance.now() - started) }, 'command run through the command socket');
  } catch (error) {
    logger.error({ err: error }, 'command through the command socket failed');
    send(socket, { type: 'stderr', data: 'postern: the server failed to run the command\n' });
  } finally {
    send(socket, { type: 'exit', code: exitCode });
    socket.end();
    input.destroy();
  }
}

/**
 * A socket left by a server that did not stop cleanly is removed: whoever calls this holds the
 * data directory's lock, so no other server listens there. Anything else at that path is left alone.
 */
function removeStaleSocket(path: string, logger: Logger): boolean {
  try {
    if (!lstatSync(path).isSocket()) {
      logger.warn({ path }, 'command socket not served: something that is not a socket is in its place; remove it');
      return false;
    }
    unlinkSync(path);
    logger.info({ path }, 'removed a stale command socket');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn({ err: error, path }, 'command socket not served: cannot remove what is in its place');
      return false;
    }
  }
  return true;
}

/**
 * Serves the `postern` command beside a running server on the embedded tier, where the data
 * directory admits only this process: a Unix socket in the data directory, mode 0600 inside a
 * 0700 directory, so only the user running the server reaches it. Each connection runs one
 * command line with this server's storage and services (caches invalidated in-process) and
 * streams its output and exit code back. Answers undefined, with a warning, when it cannot serve.
 */
export async function serveCommandSocket(dataDir: string, host: CommandHost, logger: Logger): Promise<CommandSocket | undefined> {
  const path = commandSocketPath(dataDir);
  if (!path) {
    logger.warn({ dataDir }, 'command socket not served: the data directory path is too long for a Unix socket; postern commands need the server stopped');
    return undefined;
  }
  if (!removeStaleSocket(path, logger)) return undefined;

  const connections = new Set<Socket>();
  const running = new Set<Promise<void>>();
  const server = createServer((socket) => {
    connections.add(socket);
    let input: RemoteInput | undefined;
    socket.on('error', () => {});
    socket.on('close', () => {
      connections.delete(socket);
      if (!input || input.destroyed) return;
      // a terminal closing at a prompt cancels it; piped input cut short must not become a password
      if (input.isTTY) input.push(null);
      else input.destroy(new Cancelled('the postern command went away'));
    });
    receive(
      socket,
      (message) => {
        if (!input) {
          let request: Extract<ClientMessage, { type: 'run' }>;
          try {
            request = runRequest(message);
          } catch (error) {
            return refuse(socket, (error as Error).message);
          }
          input = new RemoteInput(socket, request.stdinIsTTY);
          const task = execute(socket, request.argv, input, host, logger).finally(() => running.delete(task));
          running.add(task);
          return;
        }
        const chunk = message as Partial<ClientMessage> | null;
        if (chunk?.type === 'stdin' && typeof chunk.data === 'string') input.push(Buffer.from(chunk.data, 'base64'));
        else if (chunk?.type === 'stdin-end') input.push(null);
        else socket.destroy();
      },
      (error) => (input ? socket.destroy() : refuse(socket, error.message)),
    );
  });
  server.maxConnections = 16;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    // the directory is 0700 already; the socket itself says so too
    chmodSync(path, 0o600);
  } catch (error) {
    server.close();
    logger.warn({ err: error, path }, 'command socket not served');
    return undefined;
  }
  const removeOnExit = () => {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.once('exit', removeOnExit);
  logger.info({ path }, 'postern commands are served on the command socket');

  return {
    path,
    async close(timeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(running), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      for (const socket of connections) socket.destroy();
      await closed;
      process.removeListener('exit', removeOnExit);
      removeOnExit();
    },
  };
}
