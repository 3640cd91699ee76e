import { Problem } from './problem.ts';

export interface PageRequest {
  limit: number;
  /** the key of the last item of the previous page */
  after: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** An opaque cursor: the last item's sort key, base64url. */
export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

export function pageRequest(query: Record<string, unknown>): PageRequest {
  const limit = typeof query.limit === 'number' ? query.limit : 50;
  if (typeof query.cursor !== 'string') return { limit, after: undefined };
  try {
    const decoded = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof decoded.k === 'string' && !decoded.k.includes('\0')) return { limit, after: decoded.k };
  } catch {
    // falls through to the problem below
  }
  throw new Problem(400, 'validation_failed', 'cursor is not one this API gave', { errors: [{ pointer: 'query:cursor', message: 'is not a cursor from a previous page' }] });
}

/**
 * Fetches one more than the page holds, to know whether another page follows: `fetch` gets the
 * request with `limit + 1`, `keyOf` gives the sort key a cursor continues after.
 */
export async function keysetPage<T, R>(request: PageRequest, fetch: (request: PageRequest) => Promise<T[]>, keyOf: (item: T) => string, represent: (item: T) => R): Promise<Page<R>> {
  const rows = await fetch({ ...request, limit: request.limit + 1 });
  const items = rows.slice(0, request.limit);
  const more = rows.length > request.limit;
  return { items: items.map(represent), nextCursor: more && items.length > 0 ? encodeCursor(keyOf(items[items.length - 1]!)) : null };
}

/** The same over a list already in memory (a user's sessions, the signing keys), in its order. */
export function memoryPage<T, R>(request: PageRequest, all: T[], keyOf: (item: T) => string, represent: (item: T) => R): Page<R> {
  const start = request.after === undefined ? 0 : all.findIndex((item) => keyOf(item) === request.after) + 1;
  const items = all.slice(start, start + request.limit);
  const more = start + request.limit < all.length;
  return { items: items.map(represent), nextCursor: more && items.length > 0 ? encodeCursor(keyOf(items[items.length - 1]!)) : null };
}
