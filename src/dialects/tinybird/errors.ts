import type { FastifyRequest } from 'fastify';
import type { ErrorCode, SluiceError } from '../../core/errors.ts';
import type { RenderedError } from '../../server/dialect.ts';

/**
 * Tinybird answers errors as `{"error": "…"}`. Auth failures are 403 in Tinybird (not 401), and
 * a few core messages read differently in its vocabulary (data sources, not tables).
 */
const STATUS_OVERRIDES: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 403,
  NAMESPACE_NOT_FOUND: 404,
  TABLE_EXISTS: 400,
};

export function tinybirdMessage(error: SluiceError): string {
  if (error.code === 'UNAUTHENTICATED') return 'invalid authentication token';
  if (error.code === 'TABLE_NOT_FOUND') return `Data Source "${String(error.details?.['table'] ?? '')}" does not exist`;
  if (error.code === 'TABLE_EXISTS') return `Data Source "${String(error.details?.['table'] ?? '')}" already exists, use mode=append`;
  return error.message;
}

export function renderTinybirdError(error: SluiceError, _request: FastifyRequest): RenderedError {
  const status = STATUS_OVERRIDES[error.code] ?? error.status;
  return { status, body: { error: tinybirdMessage(error) } };
}

/** The Events API answers errors as plain text. */
export function renderEventsError(error: SluiceError): RenderedError {
  const status = STATUS_OVERRIDES[error.code] ?? error.status;
  return { status, body: tinybirdMessage(error), contentType: 'text/plain; charset=utf-8' };
}
