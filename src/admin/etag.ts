import { createHash } from 'node:crypto';
import { PreconditionFailed } from '../domain/errors.ts';
import { Problem } from './problem.ts';

/** A strong ETag: a digest of the representation the API answers with. */
export function etagOf(representation: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(representation)).digest('base64url').slice(0, 27)}"`;
}

/** The If-Match header of a change; 428 when it is missing (RFC 6585 §3): no change without a base. */
export function requireIfMatch(header: string | undefined): string {
  if (!header) throw new Problem(428, 'precondition_required', 'Send If-Match with the ETag of the version this change is based on (read it first with GET).');
  return header;
}

/**
 * A check for the domain to run on the resource as it is, inside the change's transaction:
 * refuses with 412 unless `ifMatch` names its current ETag (or is `*`). Weak tags never match
 * (RFC 9110 §13.1.1: If-Match uses the strong comparison).
 */
export function expectVersion<T>(ifMatch: string, represent: (current: T) => unknown): (current: T) => void {
  const tags = ifMatch.split(',').map((tag) => tag.trim());
  return (current) => {
    if (tags.includes('*')) return;
    if (!tags.includes(etagOf(represent(current)))) throw new PreconditionFailed('The resource changed since that ETag was read: read it again, then retry the change.');
  };
}
