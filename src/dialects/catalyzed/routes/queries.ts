import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Column, Table } from '../../../core/catalog/model.ts';
import { absentById, type Principal } from '../../../core/auth/scopes.ts';
import { coerceColumn } from '../../../core/ingest/coercion.ts';
import { newId } from '../../../core/ids.ts';
import { encodeQuery } from '../../../core/query/encode-query.ts';
import { runQuery, type ResultTypeOptions } from '../../../core/query/query-runner.ts';
import { renderJsonRow } from '../../../core/query/render-value.ts';
import type { FilteredTable } from '../../../core/query/sql-guard.ts';
import type { Sluice } from '../../../core/sluice.ts';
import type { DataTypeOf } from '../../../core/types/index.ts';
import { printArrowType } from '../../../core/types/index.ts';
import { toDuckDBType } from '../../../core/types/duckdb-types.ts';
import { clientGone } from '../../../server/client-gone.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import { SluiceError } from '../../../core/errors.ts';
import { ExactNumber, parseExactJson, stringifyExactJson } from '../exact-json.ts';
import { invalid, isObject, member, readObject, type JsonObject } from '../request.ts';
import { JSON_VALUE_COERCION } from './rows.ts';

const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

/**
 * How result columns are typed, in `columns` and in the Arrow schema alike: with the Arrow types
 * their tables declared (a date64 column is not reported as date32), `null` for a column of the
 * NULL type (DuckDB hands it out as INTEGER), and nullable unless the query says a column never
 * holds NULL, whatever the rows (an Arrow schema says so of every row the query could give).
 */
const RESULT_TYPES = { declaredTypes: true, nullTypes: true, nullability: 'query' } as const satisfies ResultTypeOptions;

interface Filter {
  field: string;
  op: string;
  value: unknown;
}

interface Binding {
  tableId: string;
  filters: Filter[];
}

const NUMERIC_KINDS = new Set(['int', 'float', 'decimal']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** The texts a float column takes besides numbers, as rows written to it do. */
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/**
 * The SQL of each filter value that must convert to its column's type, giving NULL when it does
 * and the reason otherwise: they are read before the query runs, so that a value that does not
 * convert is a 400 naming it, whether or not the query reaches a row.
 */
type Conversions = Array<{ field: string; failure: string }>;

/**
 * A filter's JSON value as SQL of the column's type. Numbers compare as numbers (a fraction is not
 * cut to compare with an integer column), with every digit sent (see `ExactNumber`); other values
 * are read by the rules rows are written by (an ISO-8601 text for a timestamp …), and whether one
 * converts is added to `conversions` (it also fails the query, saying so, should it run unchecked).
 */
function literal(column: Column, value: unknown, field: string, conversions: Conversions): string {
  if (column.type.kind === 'struct') return structLiteral(column.type, value, field, conversions);
  if (!(value instanceof ExactNumber) && typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
    throw invalid(`Filter on "${field}": the value must be a string, a number or a boolean`, { field });
  }
  const text = value instanceof ExactNumber ? value.text : String(value);
  if (column.type.kind === 'float' && NON_FINITE.test(text.trim())) return `CAST(${quoteLiteral(text.trim())} AS DOUBLE)`;
  if (NUMERIC_KINDS.has(column.type.kind)) {
    if (!NUMBER.test(text.trim())) throw invalid(`Filter on "${field}": "${text}" is not a number`, { field, value: text });
    return text.trim();
  }
  // A binary value is base64, as in a row written in JSON.
  const coerced = coerceColumn({ name: column.name, type: column.type, nullable: true }, quoteLiteral(text), ({ type }) => printArrowType(type), JSON_VALUE_COERCION);
  const failure = `${quoteLiteral(`Filter on "${field}": `)} || ${coerced.error}`;
  conversions.push({ field, failure });
  return `CASE WHEN ${coerced.error} IS NULL THEN ${coerced.value} ELSE error(${failure}) END`;
}

/**
 * A struct's value, a JSON object of its fields or the text of one, as SQL built field by field,
 * each read as `literal` reads a value of its type: the rules rows are written by, applied to the
 * whole struct's text, repeat that text for every field at every depth, past what a query may
 * expand to. A field left out is NULL; a member that is no field is refused.
 */
function structLiteral(type: DataTypeOf<'struct'>, value: unknown, field: string, conversions: Conversions): string {
  let object = value;
  if (typeof value === 'string') {
    try {
      object = parseExactJson(value);
    } catch {
      throw invalid(`Filter on "${field}": "${value}" is not a JSON object of the struct's fields`, { field });
    }
  }
  if (!isObject(object)) throw invalid(`Filter on "${field}": a struct's value is a JSON object of its fields`, { field });
  const unknown = Object.keys(object).find((key) => !type.fields.some((candidate) => candidate.name === key));
  if (unknown !== undefined) throw invalid(`Filter on "${field}": "${unknown}" is no field of the struct`, { field });
  const members = type.fields.map((member) => {
    const given = object[member.name];
    const path = `${field}.${member.name}`;
    const column: Column = { name: member.name, type: member.type, nullable: true };
    // A nested list or map is read from its JSON text, as in a row.
    const sql = given === null || given === undefined ? 'NULL'
      : member.type.kind !== 'struct' && (Array.isArray(given) || isObject(given)) ? literal(column, stringifyExactJson(given), path, conversions)
      : literal(column, given, path, conversions);
    return `${quoteIdentifier(member.name)} := ${sql}`;
  });
  return `CAST(struct_pack(${members.join(', ')}) AS ${toDuckDBType(type)})`;
}

function list(column: Column, value: unknown, field: string, conversions: Conversions): string {
  if (!Array.isArray(value) || value.length === 0) throw invalid(`Filter on "${field}": the value must be a non-empty array`, { field });
  return value.map((item) => literal(column, item, field, conversions)).join(', ');
}

type Operator = (sql: string, value: unknown, column: Column, field: string, conversions: Conversions) => string;

/** The filter operators, each a SQL condition over a quoted column and the filter's value. */
const OPERATORS: Record<string, Operator> = {
  eq: (sql, value, column, field, conversions) => (value === null ? `${sql} IS NULL` : `${sql} = ${literal(column, value, field, conversions)}`),
  neq: (sql, value, column, field, conversions) => (value === null ? `${sql} IS NOT NULL` : `${sql} <> ${literal(column, value, field, conversions)}`),
  gt: (sql, value, column, field, conversions) => `${sql} > ${literal(column, value, field, conversions)}`,
  gte: (sql, value, column, field, conversions) => `${sql} >= ${literal(column, value, field, conversions)}`,
  lt: (sql, value, column, field, conversions) => `${sql} < ${literal(column, value, field, conversions)}`,
  lte: (sql, value, column, field, conversions) => `${sql} <= ${literal(column, value, field, conversions)}`,
  in: (sql, value, column, field, conversions) => `${sql} IN (${list(column, value, field, conversions)})`,
  not_in: (sql, value, column, field, conversions) => `${sql} NOT IN (${list(column, value, field, conversions)})`,
  like: (sql, value, column, field) => {
    if (typeof value !== 'string') throw invalid(`Filter on "${field}": like needs a string pattern`, { field });
    if (column.type.kind !== 'string') throw invalid(`Filter on "${field}": like matches text, and the column is ${printArrowType(column.type)}`, { field, value });
    return `${sql} LIKE ${quoteLiteral(value)}`;
  },
  is_null: (sql) => `${sql} IS NULL`,
  is_not_null: (sql) => `${sql} IS NOT NULL`,
};

function parseFilter(value: unknown, index: number): Filter {
  if (!isObject(value)) throw invalid(`filters[${index}] must be an object {field, op, value}`);
  const op = member.requiredString(value, 'op');
  if (!Object.hasOwn(OPERATORS, op)) throw invalid(`Unknown filter op "${op}": use ${Object.keys(OPERATORS).join(', ')}`, { op });
  return { field: member.requiredString(value, 'field'), op, value: value['value'] };
}

/** `tables`: SQL name → table id, or → `{tableId, filters}`. */
function parseBindings(value: unknown): Map<string, Binding> {
  if (value !== undefined && !isObject(value)) throw invalid('"tables" must be an object mapping names to table ids', { field: 'tables' });
  const bindings = new Map<string, Binding>();
  for (const [name, bound] of Object.entries(value ?? {})) {
    if (typeof bound === 'string') bindings.set(name, { tableId: bound, filters: [] });
    else if (isObject(bound)) {
      // A key it does not know (`filter`, `version`) would be ignored, and the query read more than asked for.
      const unknown = Object.keys(bound).find((key) => key !== 'tableId' && key !== 'filters');
      if (unknown !== undefined) throw invalid(`tables.${name} has an unknown key "${unknown}": a binding is {tableId, filters}`, { field: `tables.${name}.${unknown}` });
      const filters = bound['filters'] ?? [];
      if (!Array.isArray(filters)) throw invalid(`tables.${name}.filters must be an array`, { field: 'tables' });
      bindings.set(name, { tableId: member.requiredString(bound, 'tableId'), filters: filters.map(parseFilter) });
    } else throw invalid(`tables.${name} must be a table id or {tableId, filters}`, { field: 'tables' });
  }
  return bindings;
}

/** The filters as one condition; fields name columns of the table (regardless of case). */
function condition(table: Table, filters: Filter[], conversions: Conversions): string {
  return filters
    .map(({ field, op, value }) => {
      const column = table.columns.find((candidate) => candidate.name === field) ?? table.columns.find((candidate) => candidate.name.toLowerCase() === field.toLowerCase());
      if (!column) throw invalid(`Filter field "${field}" is not a column of table "${table.name}"`, { field, tableId: table.id });
      return `(${OPERATORS[op]!(quoteIdentifier(column.name), value, column, field, conversions)})`;
    })
    .join(' AND ');
}

function bindTable(core: Sluice, principal: Principal, bindings: Map<string, Binding>, conversions: Conversions, name: string, qualifier: string | null): Table | FilteredTable {
  if (qualifier !== null) throw invalid(`Table "${qualifier}.${name}": name tables by the names bound in "tables"`, { table: `${qualifier}.${name}` });
  const binding = bindings.get(name) ?? [...bindings].find(([bound]) => bound.toLowerCase() === name.toLowerCase())?.[1];
  if (!binding) throw invalid(`Table "${name}" is not bound: map it to a table id in "tables"`, { table: name });
  const table = core.catalog.findTableById(binding.tableId);
  if (!table) throw absentById(principal, new SluiceError('NOT_FOUND', `Table ${binding.tableId} not found`, { tableId: binding.tableId }));
  return binding.filters.length === 0 ? table : { table, where: condition(table, binding.filters, conversions) };
}

/** Refuses the first filter value that does not convert to its column's type (see `Conversions`). */
async function checkConversions(core: Sluice, conversions: Conversions): Promise<void> {
  if (conversions.length === 0) return;
  const [row] = await core.storage.query(`SELECT [${conversions.map(({ failure }) => failure).join(', ')}] AS failures`);
  const failures = (row?.['failures'] ?? []) as Array<string | null>;
  const index = failures.findIndex((failure) => failure !== null);
  if (index >= 0) throw invalid(failures[index]!, { field: conversions[index]!.field });
}

export function queryRoutes(app: FastifyInstance, core: Sluice): void {
  app.post('/queries', async (request, reply) => {
    const principal = await request.principal();
    const body: JsonObject = await readObject(request, { exactNumbers: true });
    const sql = member.requiredString(body, 'sql');
    const bindings = parseBindings(body['tables']);
    const maxRows = member.integer(body, 'maxRows', { min: 1, max: 10_000, fallback: 1000 });
    const includeStats = member.boolean(body, 'includeStats') ?? true;
    // A query binds tables of any dataset by id, so the principal must read in some dataset, not one in particular.
    const conversions: Conversions = [];
    const guarded = await core.guardBoundQuery(principal, null, sql, (name, qualifier) => bindTable(core, principal, bindings, conversions, name, qualifier));
    await checkConversions(core, conversions);
    const queryId = newId();

    if (String(request.headers.accept ?? '').toLowerCase().includes(ARROW_STREAM)) {
      const encoded = await encodeQuery(core.storage, guarded, 'arrow', { maxRows, signal: clientGone(reply), ...RESULT_TYPES });
      reply.headers({ 'x-query-id': queryId, 'x-row-count': String(encoded.result?.rowCount ?? 0), 'x-truncated': String(encoded.result?.truncated ?? false) });
      return reply.type(encoded.contentType).send(Readable.from(encoded.body));
    }

    const result = await runQuery(core.storage, guarded, { maxRows, signal: clientGone(reply), ...RESULT_TYPES });
    const names = result.columns.map((column) => column.name);
    // Rows are rendered by the core so that 64-bit integers and decimals keep every digit.
    const rows = result.rows.map((row) => renderJsonRow(names, row, { timestamps: 'iso', binary: 'base64' }));
    const head = JSON.stringify({ queryId, columns: result.columns.map((column) => ({ name: column.name, type: printArrowType(column.type) })) });
    const tail = JSON.stringify({
      rowCount: result.rowCount,
      truncated: result.truncated,
      // DuckDB reports neither rows nor bytes scanned, so those optional statistics are left out.
      ...(includeStats && { stats: { executionTimeMs: Math.round(result.statistics.elapsedSeconds * 1000) } }),
    });
    return reply.type('application/json; charset=utf-8').send(`${head.slice(0, -1)},"rows":[${rows.join(',')}],${tail.slice(1)}`);
  });
}
