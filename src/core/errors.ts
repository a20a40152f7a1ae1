/**
 * The one registry of coded errors. Each code has a stable name, an HTTP status and whether a
 * client may retry. The core throws `SluiceError`s; each dialect renders them in its own body shape
 * (and may reword the message for its vocabulary), so no handler ever matches on message text.
 */
export const ERROR_CODES = {
  UNAUTHENTICATED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  NAMESPACE_NOT_FOUND: { status: 404, retryable: false },
  TABLE_NOT_FOUND: { status: 404, retryable: false },
  JOB_NOT_FOUND: { status: 404, retryable: false },
  TOKEN_NOT_FOUND: { status: 404, retryable: false },
  NAMESPACE_EXISTS: { status: 409, retryable: false },
  TABLE_EXISTS: { status: 409, retryable: false },
  TOKEN_EXISTS: { status: 409, retryable: false },
  HAS_DEPENDENTS: { status: 409, retryable: false },
  NAMESPACE_MANAGED: { status: 409, retryable: false },
  IDEMPOTENCY_CONFLICT: { status: 409, retryable: false },
  WRITE_CONFLICT: { status: 409, retryable: true },
  INVALID_ARGUMENT: { status: 400, retryable: false },
  INVALID_NAME: { status: 400, retryable: false },
  INVALID_SCHEMA: { status: 400, retryable: false },
  INVALID_TYPE: { status: 400, retryable: false },
  INVALID_PREDICATE: { status: 400, retryable: false },
  INVALID_ROWS: { status: 400, retryable: false },
  PRIMARY_KEY_REQUIRED: { status: 400, retryable: false },
  DUPLICATE_KEY_IN_BATCH: { status: 400, retryable: false },
  CONSTRAINT_VIOLATION: { status: 400, retryable: false },
  UNSUPPORTED_FORMAT: { status: 400, retryable: false },
  MALFORMED_BODY: { status: 400, retryable: false },
  SQL_SYNTAX: { status: 400, retryable: false },
  SQL_NOT_ALLOWED: { status: 400, retryable: false },
  QUERY_FAILED: { status: 400, retryable: false },
  LENGTH_REQUIRED: { status: 411, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  TOO_MANY_REQUESTS: { status: 429, retryable: true },
  UNAVAILABLE: { status: 503, retryable: true },
  RESOURCE_EXHAUSTED: { status: 503, retryable: true },
  /** The database engine failed beyond repair in this process (DuckDB invalidated the database): the server must restart. */
  STORAGE_FAILED: { status: 503, retryable: true },
  INTERNAL: { status: 500, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Structured facts a client can act on (the failing column, the offending rows, …). */
  readonly details: Record<string, unknown> | null;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SluiceError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = details;
  }
}

export function isSluiceError(error: unknown): error is SluiceError {
  return error instanceof SluiceError;
}

/** Any thrown value as a SluiceError; unknown failures become INTERNAL without leaking internals. */
export function toSluiceError(error: unknown): SluiceError {
  if (isSluiceError(error)) return error;
  return new SluiceError('INTERNAL', 'Internal server error', null, { cause: error });
}
