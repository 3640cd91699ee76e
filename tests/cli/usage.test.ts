import { describe, expect, it } from 'vitest';
import { createSandbox, errorLines } from './support/cli.ts';

// none of these reach the database, so one sandbox directory that is never written serves them all
describe('postern usage', { timeout: 60_000 }, () => {
  it('prints the command list for --help, exit 0', async () => {
    const cli = await createSandbox('embedded');
    try {
      const help = await cli.run(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: postern <command>/);
      for (const command of ['migrate', 'client create', 'user set-password', 'api delete']) expect(help.stdout).toContain(`  ${command} `);

      const commandHelp = await cli.run(['user', 'create', '--help']);
      expect(commandHelp.code).toBe(0);
      expect(commandHelp.stdout).toMatch(/^Usage: postern user create --username USERNAME/);
      expect(commandHelp.stdout).toContain('--no-password');

      const unknown = await cli.run(['frobnicate']);
      expect(unknown.code).toBe(2);
      expect(unknown.stdout).toBe('');
      expect(errorLines(unknown)[0]).toBe('postern: unknown command "frobnicate"');
      expect(unknown.stderr).toContain('Usage: postern <command>');

      const unknownSub = await cli.run(['client', 'rename', 'x']);
      expect(unknownSub.code).toBe(2);
      expect(errorLines(unknownSub)[0]).toBe('postern: unknown command "client rename"');
    } finally {
      await cli.cleanup();
    }
  });

  it('reports a configuration mistake in one line, exit 1, without a stack trace', async () => {
    const cli = await createSandbox('embedded');
    try {
      cli.env.POSTERN_MASTER_KEY = 'too-short';
      const result = await cli.run(['client', 'list']);
      expect(result.code).toBe(1);
      expect(errorLines(result)).toEqual(['postern: POSTERN_MASTER_KEY must be 32 random bytes, base64-encoded (openssl rand -base64 32)']);
    } finally {
      await cli.cleanup();
    }
  });
});
