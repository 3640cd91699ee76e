import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, parseOrUsage } from '../args.ts';
import type { Command } from '../command.ts';
import { withDatabase } from '../open-services.ts';
import { writeJson } from '../output.ts';

export const migrate: Command = {
  summary: 'bring the database schema up to date',
  usage: `Usage: postern migrate [--json]

Applies the migrations the database has not seen yet and lists them. The server and the
other commands do this too when they open the database; run it on its own before a rollout.
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('migrate', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const { describeDatabase } = await import('../../store/db.ts');
    const { migrateToLatest } = await import('../../store/migrate.ts');
    // not withStorage(): it migrates on open, which would leave nothing to report, and needs the master key
    const { applied, target } = await withDatabase(async (db, target) => ({ applied: await migrateToLatest(db), target }));
    const database = describeDatabase(target);
    if (values.json) return writeJson(io.stdout, { database, applied });
    if (applied.length === 0) return void io.stdout.write(`${database}: already up to date\n`);
    io.stdout.write(`${database}: applied ${applied.length} migration${applied.length === 1 ? '' : 's'}\n`);
    for (const name of applied) io.stdout.write(`  ${name}\n`);
  },
};
