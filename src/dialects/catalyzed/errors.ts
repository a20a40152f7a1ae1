import type { ErrorCode, SluiceError } from '../../core/errors.ts';
import type { RenderedError } from '../../server/dialect.ts';

/** Catalyzed's stable error codes; the core's finer codes stay visible in the message and details. */
type CatalyzedCode =
  | 'VALIDATION_ERROR'
  | 'QUERY_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'IDEMPOTENCY_CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

/** Every core code has its Catalyzed code: a new core code does not build until it is added here. */
const CODES: Record<ErrorCode, CatalyzedCode> = {
  UNAUTHENTICATED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  NAMESPACE_NOT_FOUND: 'NOT_FOUND',
  TABLE_NOT_FOUND: 'NOT_FOUND',
  JOB_NOT_FOUND: 'NOT_FOUND',
  TOKEN_NOT_FOUND: 'NOT_FOUND',
  NAMESPACE_EXISTS: 'CONFLICT',
  NAMESPACE_MANAGED: 'CONFLICT',
  TABLE_EXISTS: 'CONFLICT',
  TOKEN_EXISTS: 'CONFLICT',
  HAS_DEPENDENTS: 'CONFLICT',
  WRITE_CONFLICT: 'CONFLICT',
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  INVALID_ARGUMENT: 'VALIDATION_ERROR',
  INVALID_NAME: 'VALIDATION_ERROR',
  INVALID_SCHEMA: 'VALIDATION_ERROR',
  INVALID_TYPE: 'VALIDATION_ERROR',
  INVALID_PREDICATE: 'VALIDATION_ERROR',
  INVALID_ROWS: 'VALIDATION_ERROR',
  PRIMARY_KEY_REQUIRED: 'VALIDATION_ERROR',
  DUPLICATE_KEY_IN_BATCH: 'VALIDATION_ERROR',
  CONSTRAINT_VIOLATION: 'CONFLICT',
  UNSUPPORTED_FORMAT: 'VALIDATION_ERROR',
  MALFORMED_BODY: 'VALIDATION_ERROR',
  LENGTH_REQUIRED: 'VALIDATION_ERROR',
  SQL_SYNTAX: 'QUERY_ERROR',
  SQL_NOT_ALLOWED: 'QUERY_ERROR',
  QUERY_FAILED: 'QUERY_ERROR',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  RESOURCE_EXHAUSTED: 'SERVICE_UNAVAILABLE',
  STORAGE_FAILED: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL_ERROR',
};

/** A row whose key is already in the table conflicts with the table's state (the core calls it a bad request). */
const STATUS_OVERRIDES: Partial<Record<ErrorCode, number>> = { CONSTRAINT_VIOLATION: 409 };

/** The core's messages that name its own concepts, in Catalyzed's words (a namespace is a dataset). */
function catalyzedMessage(error: SluiceError): string {
  const namespace = String(error.details?.['namespace'] ?? '');
  if (error.code === 'NAMESPACE_EXISTS') return `Dataset "${namespace}" already exists`;
  if (error.code === 'NAMESPACE_NOT_FOUND') return `Dataset "${namespace}" not found`;
  return error.message;
}

/**
 * `{error, code, details, retryable, message}`; authentication and permission failures answer
 * with Catalyzed's fixed bodies.
 */
export function renderCatalyzedError(error: SluiceError): RenderedError {
  if (error.code === 'UNAUTHENTICATED') return { status: 401, body: { error: 'UNAUTHORIZED', message: 'Invalid or expired token' } };
  if (error.code === 'FORBIDDEN') return { status: 403, body: { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' } };
  const message = catalyzedMessage(error);
  return {
    status: STATUS_OVERRIDES[error.code] ?? error.status,
    body: { error: message, code: CODES[error.code], details: error.details, retryable: error.retryable, message },
  };
}
