import { run } from './run.ts';

process.exitCode = await run(process.argv.slice(2), {
  io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
});
