import type { FastifyRequest } from 'fastify';
import { SluiceError } from '../../core/errors.ts';
import { readJsonBody } from '../../server/body.ts';
import { ExactNumber, parseExactJson } from './exact-json.ts';

export type JsonObject = Record<string, unknown>;

export function invalid(message: string, details: Record<string, unknown> | null = null): SluiceError {
  return new SluiceError('INVALID_ARGUMENT', message, details);
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof ExactNumber);
}

/** The largest control request body read. */
const CONTROL_BODY_BYTES = 1024 * 1024;

/**
 * The JSON object a control request carries (an empty object when there is no body). With
 * `exactNumbers`, a number a double cannot hold is an `ExactNumber`, so that a query filter compares
 * with every digit sent. Other bodies keep plain numbers: a dataset's metadata is stored as JSON
 * text, where an `ExactNumber` could not be written back as a number.
 */
export async function readObject(request: FastifyRequest, { exactNumbers = false } = {}): Promise<JsonObject> {
  const body = await readJsonBody(request, CONTROL_BODY_BYTES, exactNumbers ? parseExactJson : JSON.parse);
  if (body === undefined) return {};
  if (!isObject(body)) throw invalid('The request body must be a JSON object');
  return body;
}

/** Reads typed members of a request object, each failing with a 400 that names the member. */
export const member = {
  string(object: JsonObject, name: string): string | undefined {
    const value = object[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw invalid(`"${name}" must be a string`, { field: name });
    return value;
  },
  /** A string, or null to clear what is there; undefined when absent. */
  clearableString(object: JsonObject, name: string): string | null | undefined {
    return object[name] === null ? null : member.string(object, name);
  },
  requiredString(object: JsonObject, name: string): string {
    const value = member.string(object, name);
    if (value === undefined || value === '') throw invalid(`"${name}" is required`, { field: name });
    return value;
  },
  boolean(object: JsonObject, name: string): boolean | undefined {
    const value = object[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw invalid(`"${name}" must be true or false`, { field: name });
    return value;
  },
  strings(object: JsonObject, name: string): string[] | undefined {
    const value = object[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw invalid(`"${name}" must be an array of strings`, { field: name });
    return value as string[];
  },
  object(object: JsonObject, name: string): JsonObject | undefined {
    const value = object[name];
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) throw invalid(`"${name}" must be an object`, { field: name });
    return value;
  },
  integer(object: JsonObject, name: string, range: { min: number; max: number; fallback: number }): number {
    return checkInteger(object[name] ?? undefined, name, range);
  },
};

function checkInteger(value: unknown, name: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number {
  if (value === undefined || value === null || value === '') return fallback;
  // A text is decimal digits alone: Number() would also read `0x10`, `1e1` and ` 1`.
  const number = typeof value === 'string' ? (/^\d+$/.test(value) ? Number(value) : Number.NaN) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw invalid(`"${name}" must be an integer from ${min} to ${max}`, { field: name });
  }
  return number;
}

/**
 * The query string's parameters (the body of a row write is data and stays unread). Each is given
 * once: of `mode=append&mode=delete`, reading either would act on a guess.
 */
export function queryParams(request: FastifyRequest): URLSearchParams {
  const params = new URL(request.url, 'http://localhost').searchParams;
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) throw invalid(`"${name}" is given more than once`, { field: name });
    seen.add(name);
  }
  return params;
}

export interface Page {
  page: number;
  pageSize: number;
}

/** `page` (from 1) and `pageSize` (1–100, default 20). */
export function pageOf(request: FastifyRequest): Page {
  const params = queryParams(request);
  return {
    page: checkInteger(params.get('page') ?? undefined, 'page', { min: 1, max: Number.MAX_SAFE_INTEGER, fallback: 1 }),
    pageSize: checkInteger(params.get('pageSize') ?? undefined, 'pageSize', { min: 1, max: 100, fallback: 20 }),
  };
}

export function paginate<T>(items: T[], { page, pageSize }: Page): { items: T[]; page: number; pageSize: number; total: number } {
  return { items: items.slice((page - 1) * pageSize, page * pageSize), page, pageSize, total: items.length };
}
