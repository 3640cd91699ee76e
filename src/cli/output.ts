import type { TextSink } from './command.ts';

/** Pretty-printed JSON, one document per command, for scripts (`--json`). */
export function writeJson(sink: TextSink, value: unknown): void {
  sink.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function listOf(values: readonly string[], empty = '-'): string {
  return values.length > 0 ? values.join(', ') : empty;
}

export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `label  value` lines with the values aligned. */
export function formatFields(fields: ReadonlyArray<readonly [string, string]>): string {
  return formatRows(fields);
}

/** Rows in columns two spaces apart, each line indented; the last column is not padded. */
export function formatRows(rows: ReadonlyArray<readonly string[]>, indent = ''): string {
  // names and URIs come from the database: a control character could drive the terminal
  const safe = rows.map((row) => row.map((cell) => cell.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd')));
  const widths: number[] = [];
  for (const row of safe) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  const line = (cells: readonly string[]) =>
    indent + cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ') + '\n';
  return safe.map(line).join('');
}

export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return formatRows([headers, ...rows]);
}
