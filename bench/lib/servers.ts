import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { processTree } from './proc.ts';

export interface ServerProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export function nodeArgs(variable: string): string[] {
  return (process.env[variable] ?? '').split(/\s+/).filter(Boolean);
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts a server in a child process (stdout and stderr appended to `logFile`) and waits until
 * its discovery document answers.
 */
export async function startServer(options: {
  label: string;
  args: string[];
  env: Record<string, string | undefined>;
  url: string;
  logFile: string;
  cwd: string;
}): Promise<ServerProcess> {
  const log = openSync(options.logFile, 'a');
  writeSync(log, `${JSON.stringify({ bench: 'start', server: options.label, at: new Date().toISOString() })}\n`);
  const child = spawn(process.execPath, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`${options.label} exited during startup (code ${child.exitCode}); see ${options.logFile}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.label} did not answer within 90 s; see ${options.logFile}`);
    }
    try {
      const response = await fetch(new URL('/.well-known/openid-configuration', options.url));
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  return {
    pid: child.pid!,
    url: options.url,
    async stop() {
      if (exited) return;
      const tree = processTree(child.pid!);
      child.kill('SIGTERM');
      if (await waitForExit(child, 20_000)) return;
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await waitForExit(child, 5_000);
    },
  };
}
