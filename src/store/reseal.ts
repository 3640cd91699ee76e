import type { Database } from './db.ts';
import type { SecretEnvelope } from './envelope.ts';
import { SEALED_COLUMNS } from './sealed-columns.ts';

export interface ResealedColumn {
  table: string;
  column: string;
  /** values found in an earlier format and sealed again */
  resealed: number;
  /** values already in the current format, left as they were */
  current: number;
}

/**
 * Seals every sealed value that is not in the envelope's current format, or not under the current
 * master key (one sealed under the previous key while it is replaced), again, in one transaction:
 * either all of them are converted or none. A value that does not open stops it. Running it again
 * finds nothing left to do. `before` runs first in the same transaction.
 */
export function resealAll(db: Database, envelope: SecretEnvelope, before?: (trx: Database) => Promise<void>): Promise<ResealedColumn[]> {
  return db.transaction(async (trx) => {
    await before?.(trx);
    const counts: ResealedColumn[] = [];
    for (const sealed of SEALED_COLUMNS) {
      const { table, column, rowKey } = sealed;
      // locked, so a value written meanwhile is not overwritten with an older one
      const rows = await trx(table).whereNotNull(column).forUpdate().select<Array<Record<string, string>>>(rowKey, column);
      const count: ResealedColumn = { table, column, resealed: 0, current: 0 };
      for (const row of rows) {
        const id = row[rowKey]!;
        const value = row[column]!;
        if (envelope.sealedUnderCurrentKey(value, sealed, id)) {
          count.current += 1;
          continue;
        }
        const plaintext = envelope.open(value, sealed, id);
        await trx(table).where({ [rowKey]: id }).update({ [column]: envelope.seal(plaintext, sealed, id) });
        count.resealed += 1;
      }
      counts.push(count);
    }
    return counts;
  });
}
