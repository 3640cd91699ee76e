/**
 * Domain errors carry an OAuth-style `code`, the HTTP `status` they map to, and whether the
 * message may be shown to the caller (`expose`). Only the error-handling middleware renders them.
 */
export type DomainErrorCode =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'invalid_client_metadata'
  | 'invalid_csrf_token'
  | 'too_many_requests'
  | 'temporarily_unavailable'
  | 'server_error';

export class DomainError extends Error {
  override name = 'DomainError';
  readonly code: DomainErrorCode;
  readonly status: number;
  readonly expose: boolean;

  constructor(code: DomainErrorCode, status: number, message: string, options?: { cause?: unknown; expose?: boolean }) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.expose = options?.expose ?? status < 500;
  }
}

function makeError(code: DomainErrorCode, status: number, name: string) {
  return class extends DomainError {
    override name = name;
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, status, message, options);
    }
  };
}

export const InvalidRequest = makeError('invalid_request', 400, 'InvalidRequest');
export const InvalidCredentials = makeError('invalid_credentials', 401, 'InvalidCredentials');
export const NotFound = makeError('not_found', 404, 'NotFound');
export const Conflict = makeError('conflict', 409, 'Conflict');
/** The caller changed what it last read, and someone else changed it since (RFC 9110 §13.1.1). */
export const PreconditionFailed = makeError('precondition_failed', 412, 'PreconditionFailed');
export const InvalidClientMetadata = makeError('invalid_client_metadata', 400, 'InvalidClientMetadata');
export const InvalidCsrfToken = makeError('invalid_csrf_token', 403, 'InvalidCsrfToken');
export const TooManyRequests = makeError('too_many_requests', 429, 'TooManyRequests');
/** A request body over the endpoint's limit (RFC 9110 §15.5.14). */
export const MethodNotAllowed = makeError('invalid_request', 405, 'MethodNotAllowed');
export const UnsupportedMediaType = makeError('invalid_request', 415, 'UnsupportedMediaType');
export const PayloadTooLarge = makeError('invalid_request', 413, 'PayloadTooLarge');

export type AccountIdentifier = 'username' | 'email';

/** A new account's username or email address is another account's already. */
export class IdentifierTaken extends Conflict {
  override name = 'IdentifierTaken';
  readonly identifier: AccountIdentifier;

  constructor(identifier: AccountIdentifier, options?: { cause?: unknown }) {
    super(`an account with this ${identifier === 'email' ? 'email address' : 'username'} already exists`, options);
    this.identifier = identifier;
  }
}

/** The mail server refused a message or could not be reached. The message is fixed, so the caller may see it. */
export class MailDeliveryFailed extends DomainError {
  override name = 'MailDeliveryFailed';
  constructor(message = 'The email could not be sent. Try again later.') {
    super('temporarily_unavailable', 503, message, { expose: true });
  }
}

export type WeakPasswordReason = 'too_short' | 'too_long' | 'common' | 'contains_identity';

/** A new password the password policy refuses; the message says what to change. */
export class WeakPassword extends DomainError {
  override name = 'WeakPassword';
  readonly reason: WeakPasswordReason;
  /** the length the password fell short of or went over, for too_short and too_long */
  readonly limit: number | undefined;

  constructor(reason: WeakPasswordReason, message: string, limit?: number) {
    super('invalid_request', 400, message);
    this.reason = reason;
    this.limit = limit;
  }
}
