import type { FastifyRequest } from 'fastify';
import { SluiceError, type ErrorCode } from '../../core/errors.ts';
import type { RenderedError } from '../../server/dialect.ts';

/** Feldera's error codes and the core code (so the HTTP status) each stands for. */
const FELDERA_CODES = {
  UnknownPipelineName: 'NAMESPACE_NOT_FOUND',
  DuplicateName: 'NAMESPACE_EXISTS',
  UnknownInputStream: 'TABLE_NOT_FOUND',
  UnknownOutputStream: 'TABLE_NOT_FOUND',
  UnknownInputFormat: 'UNSUPPORTED_FORMAT',
  UnknownOutputFormat: 'UNSUPPORTED_FORMAT',
  InvalidParam: 'INVALID_ARGUMENT',
  ParseErrors: 'INVALID_ROWS',
  AdHocQueryError: 'QUERY_FAILED',
  ProgramError: 'INVALID_SCHEMA',
  IllegalPipelineAction: 'INVALID_ARGUMENT',
  InitialImmutableUnlessStopped: 'INVALID_ARGUMENT',
  PipelineInteractionNotDeployed: 'UNAVAILABLE',
  PipelineInteractionUnreachable: 'UNAVAILABLE',
  InvalidApiKey: 'UNAUTHENTICATED',
  InsufficientPermissions: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  UnknownError: 'INTERNAL',
} as const satisfies Record<string, ErrorCode>;

export type FelderaCode = keyof typeof FELDERA_CODES;

/** An error the dialect raises in Feldera's own terms. */
export class FelderaError extends SluiceError {
  constructor(
    readonly felderaCode: FelderaCode,
    message: string,
    details: Record<string, unknown> | null = null,
  ) {
    super(FELDERA_CODES[felderaCode], message, details);
  }
}

/** The Feldera code for each core error that reaches a response without the dialect naming it. */
const CORE_CODES: Record<ErrorCode, FelderaCode> = {
  UNAUTHENTICATED: 'InvalidApiKey',
  FORBIDDEN: 'InsufficientPermissions',
  NOT_FOUND: 'NotFound',
  NAMESPACE_NOT_FOUND: 'UnknownPipelineName',
  TABLE_NOT_FOUND: 'UnknownInputStream',
  JOB_NOT_FOUND: 'NotFound',
  TOKEN_NOT_FOUND: 'NotFound',
  NAMESPACE_EXISTS: 'DuplicateName',
  TABLE_EXISTS: 'DuplicateName',
  TOKEN_EXISTS: 'DuplicateName',
  HAS_DEPENDENTS: 'IllegalPipelineAction',
  NAMESPACE_MANAGED: 'IllegalPipelineAction',
  IDEMPOTENCY_CONFLICT: 'InvalidParam',
  WRITE_CONFLICT: 'UnknownError',
  INVALID_ARGUMENT: 'InvalidParam',
  INVALID_NAME: 'InvalidParam',
  INVALID_SCHEMA: 'ProgramError',
  INVALID_TYPE: 'ProgramError',
  INVALID_PREDICATE: 'InvalidParam',
  INVALID_ROWS: 'ParseErrors',
  PRIMARY_KEY_REQUIRED: 'InvalidParam',
  DUPLICATE_KEY_IN_BATCH: 'ParseErrors',
  CONSTRAINT_VIOLATION: 'ParseErrors',
  UNSUPPORTED_FORMAT: 'UnknownInputFormat',
  MALFORMED_BODY: 'ParseErrors',
  SQL_SYNTAX: 'AdHocQueryError',
  SQL_NOT_ALLOWED: 'AdHocQueryError',
  QUERY_FAILED: 'AdHocQueryError',
  LENGTH_REQUIRED: 'InvalidParam',
  PAYLOAD_TOO_LARGE: 'InvalidParam',
  TOO_MANY_REQUESTS: 'PipelineInteractionUnreachable',
  UNAVAILABLE: 'PipelineInteractionUnreachable',
  RESOURCE_EXHAUSTED: 'PipelineInteractionUnreachable',
  STORAGE_FAILED: 'PipelineInteractionUnreachable',
  INTERNAL: 'UnknownError',
};

/** Feldera answers errors as `{"message", "error_code", "details"}`. */
export function renderFelderaError(error: SluiceError, _request: FastifyRequest): RenderedError {
  const code = error instanceof FelderaError ? error.felderaCode : CORE_CODES[error.code];
  const message = error.code === 'UNAUTHENTICATED' ? 'Unauthorized: the API key is missing or invalid' : error.message;
  return { status: error.status, body: { message, error_code: code, details: code === 'ParseErrors' ? parseErrorDetails(error) : (error.details ?? null) } };
}

/**
 * ParseErrors always carry `{num_errors, errors}`, which clients read: a failure of the whole body
 * (a gzip stream cut short, a key twice in one push) is one error of no particular record.
 */
function parseErrorDetails(error: SluiceError): unknown {
  const details = error.details as { errors?: unknown } | null | undefined;
  if (Array.isArray(details?.errors)) return details;
  return { num_errors: 1, errors: [parseError(error.message, null, null, null)] };
}

/** One entry of a ParseErrors' `errors`: what failed, in which record (its number), which field, on what text. */
export function parseError(description: string, eventNumber: number | null, field: string | null, invalidText: string | null) {
  return { description, event_number: eventNumber, field, invalid_text: invalidText, suggestion: null };
}
