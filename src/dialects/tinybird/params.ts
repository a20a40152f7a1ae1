import type { FastifyRequest } from 'fastify';
import { readFormBody } from '../../server/body.ts';

/**
 * Tinybird takes parameters from the query string or an `application/x-www-form-urlencoded` body
 * (curl -d). Unknown parameters are ignored. `all` keeps repeated ones (`scope=…&scope=…`).
 */
export class Params {
  private constructor(private readonly values: URLSearchParams) {}

  static async of(request: FastifyRequest): Promise<Params> {
    const values = new URLSearchParams(queryString(request.url));
    for (const [key, value] of await readFormBody(request)) values.append(key, value);
    return new Params(values);
  }

  /** The query string only, for requests whose body is data (it must stay unread). */
  static ofQuery(request: FastifyRequest): Params {
    return new Params(new URLSearchParams(queryString(request.url)));
  }

  /** Adds a parameter (a multipart form field). */
  add(name: string, value: string): void {
    this.values.append(name, value);
  }

  get(name: string): string | undefined {
    const value = this.values.get(name);
    return value === null || value === '' ? undefined : value;
  }

  all(name: string): string[] {
    return this.values.getAll(name).filter((value) => value !== '');
  }

  flag(name: string, fallback: boolean): boolean {
    const value = this.get(name);
    if (value === undefined) return fallback;
    return ['true', '1', 'yes'].includes(value.toLowerCase());
  }
}

/** The query string of a request target (what `URL.search` holds, without its `?`), cut out without parsing the whole URL. */
function queryString(target: string): string {
  const start = target.indexOf('?');
  if (start < 0) return '';
  const end = target.indexOf('#', start);
  return target.slice(start + 1, end < 0 ? undefined : end);
}
