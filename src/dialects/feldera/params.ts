import type { FastifyRequest } from 'fastify';
import { FelderaError } from './errors.ts';

/** The query string of a Feldera request. */
export class QueryParams {
  private readonly values: URLSearchParams;

  constructor(request: FastifyRequest) {
    this.values = new URL(request.url, 'http://localhost').searchParams;
  }

  get(name: string): string | undefined {
    return this.values.get(name) ?? undefined;
  }

  /** `true` / `false` (any case); anything else is an invalid parameter. */
  flag(name: string, fallback: boolean): boolean {
    const value = this.get(name);
    if (value === undefined || value === '') return fallback;
    if (/^true$/i.test(value)) return true;
    if (/^false$/i.test(value)) return false;
    throw new FelderaError('InvalidParam', `Parameter '${name}' must be true or false, not '${value}'`, { parameter: name, value });
  }

  /** One of `allowed`; an unknown value is an error with the given code. */
  choice<T extends string>(name: string, allowed: readonly T[], fallback: T, code: 'InvalidParam' | 'UnknownInputFormat' | 'UnknownOutputFormat' = 'InvalidParam'): T {
    const value = this.get(name);
    if (value === undefined || value === '') return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new FelderaError(code, `Parameter '${name}' must be one of ${allowed.join(', ')}, not '${value}'`, { parameter: name, value });
    }
    return value as T;
  }
}
