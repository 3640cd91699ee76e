import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, parseOrUsage } from '../args.ts';
import type { Command } from '../command.ts';
import { withStorage } from '../open-services.ts';
import { formatTable, writeJson } from '../output.ts';

export const reseal: Command = {
  summary: 'seal every stored secret again in the current format',
  usage: `Usage: postern reseal [--json]

Seals every secret stored under the master key (signing keys, client secrets, TOTP secrets)
that is still in an earlier format again in the current one, which binds each value to its
row. All values are converted in one transaction, or none; running it again changes nothing.
Values in the earlier format keep working until then, and any value written anew is in the
current format already.
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('reseal', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const columns = await withStorage(async ({ db, envelope }) => {
      const { resealAll } = await import('../../store/reseal.ts');
      return resealAll(db, envelope);
    });
    const resealed = columns.reduce((sum, column) => sum + column.resealed, 0);
    const current = columns.reduce((sum, column) => sum + column.current, 0);
    if (values.json) return writeJson(io.stdout, { resealed, current, columns });
    io.stdout.write(`resealed ${resealed} value${resealed === 1 ? '' : 's'}; ${current} already in the current format\n`);
    io.stdout.write(
      formatTable(
        ['COLUMN', 'RESEALED', 'CURRENT'],
        columns.map((column) => [`${column.table}.${column.column}`, String(column.resealed), String(column.current)]),
      ),
    );
  },
};
