import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, parseOrUsage } from '../args.ts';
import type { Command, CommandGroup } from '../command.ts';
import { InvalidInput } from '../errors.ts';
import { withStorage } from '../open-services.ts';
import { formatTable, writeJson } from '../output.ts';

const rotate: Command = {
  summary: 'seal every stored secret again under a new master key',
  usage: `Usage: postern master-key rotate [--json]

Run with the new key as POSTERN_MASTER_KEY (or POSTERN_MASTER_KEY_FILE) and the one used until
now as POSTERN_MASTER_KEY_PREVIOUS (or POSTERN_MASTER_KEY_PREVIOUS_FILE). Seals every secret
stored under the master key (signing keys, client secrets, TOTP secrets) again under the new one,
in one transaction: all of them or none. Keys derived for token ids, recovery codes and the
default cookie key keep their root (recorded, sealed, on the first rotation), so stored tokens,
sessions and recovery codes keep working. Running it again changes nothing.

The rollout: start every server with both variables (the previous key still opens what it sealed),
run this command, then remove POSTERN_MASTER_KEY_PREVIOUS and restart them.

Options:
  --json   print JSON instead of text
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('master-key rotate', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const columns = await withStorage(async ({ db, envelope, masterKeyRotation }) => {
      if (!masterKeyRotation.previous) {
        throw new InvalidInput('master-key rotate: set POSTERN_MASTER_KEY_PREVIOUS (or POSTERN_MASTER_KEY_PREVIOUS_FILE) to the master key used until now, and POSTERN_MASTER_KEY to the new one');
      }
      const { resealAll } = await import('../../store/reseal.ts');
      const { recordDerivationRoot } = await import('../../store/derivation-root.ts');
      return resealAll(db, envelope, (trx) => recordDerivationRoot(trx, envelope, masterKeyRotation.derivationRoot));
    });
    const resealed = columns.reduce((sum, column) => sum + column.resealed, 0);
    const current = columns.reduce((sum, column) => sum + column.current, 0);
    if (values.json) return writeJson(io.stdout, { resealed, current, columns });
    io.stdout.write(`sealed ${resealed} value${resealed === 1 ? '' : 's'} again under the new master key; ${current} under it already\n`);
    io.stdout.write(
      formatTable(
        ['COLUMN', 'RESEALED', 'CURRENT'],
        columns.map((column) => [`${column.table}.${column.column}`, String(column.resealed), String(column.current)]),
      ),
    );
    io.stdout.write('remove POSTERN_MASTER_KEY_PREVIOUS from every server once each runs with the new key\n');
  },
};

export const masterKeyCommands: CommandGroup = {
  summary: 'the master key: rotate',
  commands: { rotate },
};
