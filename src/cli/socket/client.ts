import { connect, type Socket } from 'node:net';
import { loadDatabaseTarget } from '../../config.ts';
import { commandSocketPath, PROTOCOL_VERSION, receive, send, type ServerMessage } from './protocol.ts';

export interface TerminalIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** A connection to the command socket, or undefined when nothing listens there. */
function connectTo(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const onError = () => resolve(undefined);
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      resolve(socket);
    });
  });
}

/**
 * The running server to hand the command to: on the embedded tier, the one listening on the data
 * directory's command socket. Undefined — run the command here — with DATABASE_URL, for an
 * in-memory database, when no socket answers (no server, or a stale socket left by one that
 * was killed), or when the environment cannot even say where the database is.
 */
export async function findServer(env: NodeJS.ProcessEnv = process.env): Promise<Socket | undefined> {
  let target;
  try {
    target = loadDatabaseTarget(env);
  } catch {
    // the command reports the mistake itself when it opens the database
    return undefined;
  }
  if (target.databaseUrl || target.dataDir === ':memory:') return undefined;
  const path = commandSocketPath(target.dataDir);
  return path ? connectTo(path) : undefined;
}

/**
 * Runs one command line in the server at the other end of `socket`: its output and exit code come
 * back as if it had run here. Stdin (a piped password, or keys typed at a prompt, with the
 * terminal in raw mode while the server asks for it) is read here and sent only as the command
 * asks for it.
 */
export function runThroughServer(socket: Socket, argv: string[], io: TerminalIo): Promise<number> {
  const { stdin } = io;
  let exitCode: number | undefined;
  let wanted = 0;
  let reading = false;
  let ended = false;
  let raw = false;

  const pump = () => {
    while (wanted > 0) {
      const chunk = stdin.read() as Buffer | string | null;
      if (chunk === null) return;
      wanted -= 1;
      send(socket, { type: 'stdin', data: Buffer.from(chunk).toString('base64') });
    }
  };
  const onEnd = () => {
    ended = true;
    if (wanted > 0) send(socket, { type: 'stdin-end' });
    wanted = 0;
  };
  const readChunk = () => {
    if (ended) return send(socket, { type: 'stdin-end' });
    wanted += 1;
    if (!reading) {
      reading = true;
      stdin.on('readable', pump);
      stdin.once('end', onEnd);
    }
    pump();
  };
  const setRaw = (on: boolean) => {
    if (!stdin.isTTY || !stdin.setRawMode || raw === on) return;
    stdin.setRawMode(on);
    raw = on;
  };

  return new Promise((resolve) => {
    send(socket, { type: 'run', version: PROTOCOL_VERSION, argv, stdinIsTTY: stdin.isTTY === true });
    receive(
      socket,
      (received) => {
        const message = received as ServerMessage;
        if (message.type === 'stdout') io.stdout.write(message.data);
        else if (message.type === 'stderr') io.stderr.write(message.data);
        else if (message.type === 'read') readChunk();
        else if (message.type === 'raw') setRaw(message.on);
        else if (message.type === 'exit') exitCode = message.code;
      },
      (error) => {
        io.stderr.write(`postern: the server sent ${error.message}\n`);
        socket.destroy();
      },
    );
    socket.on('error', () => {});
    socket.once('close', () => {
      setRaw(false);
      if (reading) {
        stdin.removeListener('readable', pump);
        stdin.removeListener('end', onEnd);
        // stop reading: a terminal or an open pipe would keep this process alive
        stdin.pause();
        (stdin as { destroy?(): void }).destroy?.();
      }
      if (exitCode === undefined) io.stderr.write('postern: the server closed the connection before the command finished\n');
      resolve(exitCode ?? 1);
    });
  });
}
