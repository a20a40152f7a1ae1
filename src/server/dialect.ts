import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SluiceError } from '../core/errors.ts';
import type { Sluice } from '../core/sluice.ts';

export interface RenderedError {
  status: number;
  body: unknown;
  /** Defaults to JSON. */
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * A dialect adapter: the routes of one HTTP API and how that API shows errors. Each dialect is
 * registered in its own Fastify scope, so its error renderer applies to its routes only.
 */
export interface Dialect {
  name: string;
  /** Whether `?token=` may carry the token (next to `Authorization: Bearer`). */
  allowQueryToken: boolean;
  /** URL prefixes this dialect serves, so that unknown paths under them get this dialect's 404. */
  prefixes: string[];
  renderError(error: SluiceError, request: FastifyRequest): RenderedError;
  /** Adds dialect-specific hooks to the core, such as how to read scopes from a JWT. */
  configure?(core: Sluice): void;
  routes(app: FastifyInstance, core: Sluice): Promise<void> | void;
}
