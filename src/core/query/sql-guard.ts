import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import { identifierKey, quoteIdentifier } from '../../storage/duckdb/sql.ts';
import { DATA_SCHEMA } from '../catalog/migrations.ts';
import type { Column, Table } from '../catalog/model.ts';
import { SluiceError, type ErrorCode } from '../errors.ts';
import { boundBuiltValue } from './built-value-bounds.ts';
import { checkBindingCost, checkExpandedReads } from './expansion-bound.ts';
import { tokensOrUndefined } from './sql-tokens.ts';
import { isJsonObject, parseJsonLosslessly, stringifyJsonLosslessly, type JsonObject, type JsonValue } from './lossless-json.ts';
import { declaredLength, lengthUnit, sizeSql } from '../types/declared-length.ts';
import { toDuckDBType } from '../types/duckdb-types.ts';
import { CLICKHOUSE_MACROS } from './sql-functions.ts';

/**
 * User SQL never runs as typed. DuckDB parses it into a tree (json_serialize_sql), the tree is
 * checked and every table reference is replaced by the physical table the caller's resolver
 * allows, and the checked tree is printed back into SQL (json_deserialize_sql). Whatever the user
 * wrote — comments, semicolons, quoting tricks — only the printed tree is executed.
 */

/**
 * A table the query reads, with an optional condition over its columns that applies before the
 * query sees it: the reference reads only the rows the condition holds for.
 */
export interface FilteredTable {
  table: Table;
  where: string;
}

/** Finds a table the caller may read; throws SluiceError (TABLE_NOT_FOUND, FORBIDDEN …) otherwise. */
export type ResolveTable = (name: string, namespace: string | null) => Table | FilteredTable;

/** Where a dialect's SQL means something else than DuckDB's, the meaning the query is given. */
export interface QuerySemantics {
  /**
   * `/` between two integers divides them as integers, truncating (`7 / 2` is 3), as in Calcite's
   * SQL; between other numbers it divides exactly. DuckDB's `//` does just that.
   */
  integerDivision?: boolean;
  /**
   * `AVG(x)` is of x's type, as in Calcite's SQL: an integer's average is cut toward zero (the
   * average of 1 and 2 is 1), a DECIMAL's rounded to its scale; DuckDB's is a DOUBLE.
   */
  averageOfInputType?: boolean;
  /**
   * A date plus or minus an interval of whole days or more is a DATE, as in Calcite's SQL
   * (`DATE '2024-03-31' - INTERVAL '1' MONTH` is the DATE 2024-02-29, as is TIMESTAMPADD(DAY, 1, d));
   * DuckDB's is a TIMESTAMP. One of hours or less gives a TIMESTAMP, as TIMESTAMPADD(HOUR, 1, d) does.
   */
  datetimeArithmeticKeepsType?: boolean;
}

export interface GuardedQuery {
  /** The query as it will run: every table reference replaced by its physical name. */
  sql: string;
  /** The tables it reads, once each. */
  tables: Table[];
  /**
   * How many tables DuckDB binds to run it, each reference to a CTE or a view counted as all it
   * reads (counted by guardQuery; absent for SQL Sluice writes itself).
   */
  expandedReads?: number;
  /** Who runs it (a token id): one owner's queries hold at most a set number of connections at once. */
  owner?: string | undefined;
  /**
   * When the outermost query has a LIMIT or OFFSET: a query counting the rows it would give
   * without them (ClickHouse's rows_before_limit_at_least). Absent otherwise, as the row count is
   * then the result's own.
   */
  countBeforeLimitSql?: string | undefined;
  /** The checked, rewritten parse tree `sql` was printed from (a view reads its columns' nullability there). */
  statement?: JsonObject;
}

/**
 * Table functions a query may read from: they compute rows from their arguments and touch no
 * file, setting or catalog.
 */
const ALLOWED_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest', 'repeat', 'repeat_row', 'json_each', 'json_tree']);

/**
 * Functions that read files, run SQL text, reveal the catalog, settings or other tenants' objects,
 * change session state or stall a connection, or describe storage rather than the rows read:
 * `stats` gives a column's min, max and distinct count over the whole table and `vector_type` how
 * it is stored, even when a row filter hides most of it. Matched on the lower-cased name; prefixes cover
 * families (`read_*`, `duckdb_*`, `pg_*` catalog macros such as pg_get_viewdef, `pragma_*` …).
 * The file readers are also stopped by the sandbox, but the spool folder is readable, so they are
 * refused here before DuckDB sees them.
 */
const DENIED_FUNCTIONS = new Set([
  'query', 'query_table', 'json_execute_serialized_sql', 'json_serialize_sql', 'json_deserialize_sql',
  'json_serialize_plan', 'sql_auto_complete', 'check_peg_parser', 'enable_peg_parser', 'disable_peg_parser',
  'glob', 'sniff_csv', 'arrow_scan', 'arrow_scan_dumb', 'seq_scan', 'summary', 'test_all_types', 'test_vector_types',
  'which_secret', 'getenv', 'current_setting', 'getvariable', 'setseed', 'nextval', 'currval', 'current_query',
  'current_query_id', 'current_database', 'current_catalog', 'current_schema', 'current_schemas', 'in_search_path',
  'get_block_size', 'write_log', 'parse_duckdb_log_message', 'checkpoint', 'force_checkpoint', 'enable_logging',
  'disable_logging', 'truncate_duckdb_logs', 'enable_profiling', 'disable_profiling', 'sleep_ms', 'stats', 'vector_type',
  'col_description', 'obj_description', 'shobj_description', 'format_type', 'format_pg_type', 'map_to_pg_oid',
  // Counters shared by every client: watching them would count other tenants' queries and writes.
  'current_transaction_id', 'txid_current', 'current_connection_id',
]);
const DENIED_FUNCTION_PREFIXES = ['read_', 'parquet_', 'duckdb_', 'pg_', 'pragma_', 'has_', 'icu_'];

function isDeniedFunction(name: string): boolean {
  return DENIED_FUNCTIONS.has(name) || DENIED_FUNCTION_PREFIXES.some((prefix) => name.startsWith(prefix));
}

// ── queries ─────────────────────────────────────────────────────────────────

/**
 * Checks a user query and rewrites its table references, and the calls that build values of a size
 * their arguments ask for (see `boundBuiltValue`: the rewritten query calls macros that
 * `installSqlFunctions` creates). Throws a 4xx SluiceError when refused.
 */
export async function guardQuery(storage: DuckDBStorage, sql: string, resolveTable: ResolveTable, semantics: QuerySemantics = {}): Promise<GuardedQuery> {
  const statement = await parseStatement(storage, sql, 'SQL_SYNTAX', 'SQL_NOT_ALLOWED');
  // Before the walk: its size checks copy arguments, so a tree that expands too far grows there too.
  checkBindingCost(statement, 'SQL_NOT_ALLOWED');
  const walk: QueryWalk = { resolveTable, semantics, tables: new Map(), filtered: [], rewritten: new WeakSet() };
  visit(statement, new Set(), walk);
  // Once its references name tables: a view's reference binds everything the view reads.
  const expandedReads = checkExpandedReads(statement, 'SQL_NOT_ALLOWED', (reference) => walk.tables.get(String(reference['table_name']))?.definition?.expandedReads ?? 1);
  for (const { node, table, where } of walk.filtered) await filterTableRef(storage, node, table, where);
  const unlimited = withoutOuterLimit(statement);
  return {
    sql: await printStatement(storage, statement),
    tables: [...walk.tables.values()],
    expandedReads,
    countBeforeLimitSql: unlimited && `SELECT count(*) AS n FROM (SELECT 1 FROM (${await printStatement(storage, unlimited)}) LIMIT ${ROWS_BEFORE_LIMIT_COUNTED})`,
    statement,
  };
}

const LIMIT_MODIFIERS = ['LIMIT_MODIFIER', 'LIMIT_PERCENT_MODIFIER'];

/**
 * Rows counted at most before the outermost LIMIT: past them the count stops, a lower bound as
 * ClickHouse's "at least" allows, so that a LIMIT over an endless or vast result (`numbers(1e11)`)
 * is not first read whole.
 */
export const ROWS_BEFORE_LIMIT_COUNTED = 10_000_000;

/**
 * A copy of the checked statement without its outermost LIMIT/OFFSET, and without the ORDER BY
 * beside it (which cannot change how many rows there are, only cost a sort); undefined when the
 * outermost query has no LIMIT or OFFSET. A LIMIT inside a subquery, CTE or set operand stays:
 * it shapes the rows the outer query counts.
 */
function withoutOuterLimit(statement: JsonObject): JsonObject | undefined {
  const node = statement['node'];
  const modifiers = isJsonObject(node) && Array.isArray(node['modifiers']) ? node['modifiers'] : [];
  const isLimit = (modifier: JsonValue): boolean => isJsonObject(modifier) && LIMIT_MODIFIERS.includes(String(modifier['type']));
  if (!modifiers.some(isLimit)) return undefined;
  const kept = modifiers.filter((modifier) => !isLimit(modifier) && !(isJsonObject(modifier) && modifier['type'] === 'ORDER_MODIFIER'));
  // Only the outermost node changes; the rest of the tree is shared, not printed differently.
  return { ...statement, node: { ...(node as JsonObject), modifiers: kept } };
}

interface QueryWalk {
  resolveTable: ResolveTable;
  semantics: QuerySemantics;
  tables: Map<string, Table>;
  /** Rewritten references whose table is read through a condition. */
  filtered: Array<{ node: JsonObject; table: Table; where: string }>;
  /**
   * Calls a semantics rewrite made, which keep their meaning: they are walked (their table
   * references resolved like any) but not rewritten again.
   */
  rewritten: WeakSet<JsonObject>;
}

/**
 * Turns a rewritten table reference into a subquery over the table with the condition, under the
 * same alias. The condition is checked here like any user expression (columns of the table only),
 * and the subquery is added after the walk, so its own table reference is not resolved again.
 */
async function filterTableRef(storage: DuckDBStorage, node: JsonObject, table: Table, where: string): Promise<void> {
  const condition = await guardExpression(storage, where, table.columns.map((column) => column.name));
  const subquery = await parseStatement(storage, `SELECT * FROM ${quoteIdentifier(DATA_SCHEMA)}.${quoteIdentifier(table.id)} WHERE (${condition})`, 'INTERNAL', 'INTERNAL');
  const { alias, sample, query_location: location, column_name_alias: columnAliases } = node;
  for (const key of Object.keys(node)) delete node[key];
  Object.assign(node, { type: 'SUBQUERY', alias: alias ?? null, sample: sample ?? null, query_location: location ?? null, subquery, column_name_alias: columnAliases ?? [] });
}

/** Lower-cased names of the CTEs visible at a point of the tree. */
type CteScope = ReadonlySet<string>;

function visit(value: JsonValue | undefined, scope: CteScope, walk: QueryWalk): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, scope, walk);
    return;
  }
  if (!isJsonObject(value)) return;
  if (typeof value['class'] === 'string') return visitExpression(value, scope, walk);
  const type = value['type'];
  if (typeof type === 'string' && type.endsWith('_NODE')) return visitQueryNode(value, scope, walk);
  // Table references are the objects with a type, an alias and a sample clause.
  if (typeof type === 'string' && 'alias' in value && 'sample' in value) {
    const visitTableRef = entryOf(TABLE_REFS, type) ?? refuse(`${type.toLowerCase()} table references are not allowed`);
    return visitTableRef(value, scope, walk);
  }
  visitFields(value, scope, walk);
}

function visitFields(node: JsonObject, scope: CteScope, walk: QueryWalk, skip: readonly string[] = []): void {
  for (const [key, child] of Object.entries(node)) if (!skip.includes(key)) visit(child, scope, walk);
}

/**
 * A WITH clause's names are visible in the query body and to the CTEs after them, not to earlier
 * ones nor to their own body — except a recursive CTE's self-reference. A name wrongly taken for a
 * CTE would let DuckDB bind it to a system view, so the scope follows DuckDB's binder exactly.
 */
function visitQueryNode(node: JsonObject, scope: CteScope, walk: QueryWalk): void {
  const ctes = cteEntries(node);
  ctes.forEach((cte, index) => visit(cte.query, withNames(scope, ctes.slice(0, index).map((earlier) => earlier.name)), walk));
  const inner = withNames(scope, ctes.map((cte) => cte.name));
  if (node['type'] === 'RECURSIVE_CTE_NODE') {
    visit(node['left'], inner, walk);
    visit(node['right'], withNames(inner, [String(node['cte_name'])]), walk);
    return visitFields(node, inner, walk, ['cte_map', 'left', 'right']);
  }
  visitFields(node, inner, walk, ['cte_map']);
}

function cteEntries(node: JsonObject): Array<{ name: string; query: JsonValue | undefined }> {
  const cteMap = node['cte_map'];
  const entries = isJsonObject(cteMap) && Array.isArray(cteMap['map']) ? cteMap['map'] : [];
  return entries.filter(isJsonObject).map((entry) => ({ name: String(entry['key']), query: entry['value'] }));
}

function withNames(scope: CteScope, names: string[]): CteScope {
  return names.length === 0 ? scope : new Set([...scope, ...names.map(identifierKey)]);
}

type VisitTableRef = (node: JsonObject, scope: CteScope, walk: QueryWalk) => void;

const TABLE_REFS: Record<string, VisitTableRef> = {
  BASE_TABLE: rewriteBaseTable,
  TABLE_FUNCTION: (node, scope, walk) => {
    const call = node['function'];
    if (!isJsonObject(call) || call['class'] !== 'FUNCTION') refuse('This table function is not allowed');
    const name = functionName(call, 'SQL_NOT_ALLOWED');
    if (!ALLOWED_TABLE_FUNCTIONS.has(name)) {
      refuse(`Table function "${name}" is not allowed; allowed: ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')}`);
    }
    // Its arguments are expressions; the call itself is no scalar call (`FROM range(1e12)` streams).
    visitFields(call, scope, walk);
    visitFields(node, scope, walk, ['function']);
  },
  // DESCRIBE / SUMMARIZE of a query; SHOW of catalog objects names no query and is refused.
  SHOW_REF: (node, scope, walk) => {
    const describesQuery = node['table_name'] === '' && isJsonObject(node['query']);
    if (!describesQuery || !['DESCRIBE', 'SUMMARY'].includes(String(node['show_type']))) refuse('SHOW statements are not allowed');
    visitFields(node, scope, walk);
  },
  JOIN: visitFields,
  SUBQUERY: visitFields,
  EMPTY: visitFields,
  EXPRESSION_LIST: visitFields,
  PIVOT: visitFields,
};

function rewriteBaseTable(node: JsonObject, scope: CteScope, walk: QueryWalk): void {
  const name = String(node['table_name'] ?? '');
  const namespace = String(node['schema_name'] ?? '');
  if (node['catalog_name']) refuse(`Table "${node['catalog_name']}.${namespace}.${name}" is not allowed: database names cannot be used`);
  if (node['at_clause'] !== null && node['at_clause'] !== undefined) refuse('AT clauses (time travel) are not supported');
  if (namespace === '' && scope.has(identifierKey(name))) return;
  const resolved = walk.resolveTable(name, namespace === '' ? null : namespace);
  const table = 'where' in resolved ? resolved.table : resolved;
  walk.tables.set(table.id, table);
  if ('where' in resolved) walk.filtered.push({ node, table, where: resolved.where });
  node['schema_name'] = DATA_SCHEMA;
  node['table_name'] = table.id;
  // The user's name stays the alias, so that `events.col` still binds.
  if (!node['alias']) node['alias'] = name;
  visitFields(node, scope, walk, ['schema_name', 'table_name', 'alias']);
}

function visitExpression(node: JsonObject, scope: CteScope, walk: QueryWalk): void {
  const kind = node['class'];
  // A constant's value is data, not SQL; nothing in it can name a table or a function.
  if (kind === 'CONSTANT') return;
  if (kind === 'PARAMETER') refuse('Query parameters ($1, ?) are not supported');
  if (kind === 'FUNCTION') {
    const name = functionName(node, 'SQL_NOT_ALLOWED');
    boundBuiltValue(node, name);
    if (name === '/' && walk.semantics.integerDivision) node['function_name'] = '//';
    if ((name === '+' || name === '-') && walk.semantics.datetimeArithmeticKeepsType && !walk.rewritten.has(node)) keepDatetimeType(node, name, walk.rewritten);
  }
  if (kind === 'WINDOW') functionName(node, 'SQL_NOT_ALLOWED');
  if ((kind === 'FUNCTION' || node['type'] === 'WINDOW_AGGREGATE') && walk.semantics.averageOfInputType && identifierKey(String(node['function_name'])) === 'avg') {
    averageOfInputType(node);
  }
  visitFields(node, scope, walk);
}

/**
 * Rewrites an `AVG(x)` call (an aggregate or a window's) in place into `cast_to_type(SUM(x) //
 * COUNT(x), ANY_VALUE(x))`: the sum divided exactly, as integers when x is one, and cast to x's
 * type, which ANY_VALUE gives without reading it. DISTINCT, FILTER and the window go to each call.
 */
function averageOfInputType(call: JsonObject): void {
  const as = (name: string): JsonObject => ({ ...copyOf(call), function_name: name, alias: '' });
  const valueOfType = { ...as('any_value'), distinct: false };
  replaceWithTypedAs(call, operator('//', [as('sum'), as('count')], call), valueOfType);
}

/** DuckDB's functions making an interval of a number of days or more (what `INTERVAL '2' DAY` parses into). */
const DAYS_INTERVAL_FUNCTIONS = new Set(['to_millennia', 'to_centuries', 'to_decades', 'to_years', 'to_quarters', 'to_months', 'to_weeks', 'to_days']);

/**
 * Whether an expression is, by its form, an interval of whole days or more: a multiple of one, a
 * sum of them. One of hours or less, or one whose units its form does not tell (a cast), is not:
 * added to a DATE it makes a TIMESTAMP, as Calcite's TIMESTAMPADD(HOUR, n, d) does.
 */
function isDaysInterval(node: JsonValue | undefined): boolean {
  if (!isJsonObject(node) || node['class'] !== 'FUNCTION' || !Array.isArray(node['children'])) return false;
  const name = identifierKey(String(node['function_name'] ?? ''));
  if (DAYS_INTERVAL_FUNCTIONS.has(name)) return true;
  if (name === '*' || name === '/') return isDaysInterval(node['children'][0]) || (name === '*' && isDaysInterval(node['children'][1]));
  if (name === '+' || name === '-') return node['children'].every(isDaysInterval);
  return false;
}

/**
 * Rewrites `t ± interval` (and `interval + t`) of whole days or more in place into
 * `cast_to_type(t ± interval, t)`, so that it keeps t's type (see `datetimeArithmeticKeepsType`);
 * a TIMESTAMP's or TIME's is kept already.
 */
function keepDatetimeType(call: JsonObject, name: string, rewritten: WeakSet<JsonObject>): void {
  const [left, right] = Array.isArray(call['children']) && call['children'].length === 2 ? call['children'] : [];
  if (!isJsonObject(left) || !isJsonObject(right) || isDaysInterval(left) === isDaysInterval(right)) return;
  const datetime = isDaysInterval(right) ? left : right;
  if (name === '-' && datetime === right) return;
  const arithmetic = { ...copyOf(call), alias: '' };
  rewritten.add(arithmetic);
  replaceWithTypedAs(call, arithmetic, copyOf(datetime));
}

/** Replaces a node, in place and under its alias, with `cast_to_type(value, typed)`: `value` cast to the type of `typed`. */
function replaceWithTypedAs(node: JsonObject, value: JsonObject, typed: JsonObject): void {
  const replacement = { ...operator('cast_to_type', [value, typed], node), is_operator: false, alias: node['alias'] ?? '' };
  for (const key of Object.keys(node)) delete node[key];
  Object.assign(node, replacement);
}

/**
 * A copy of a tree not walked yet, its numbers kept exact. A rewrite copies before the walk reaches
 * what it copies, so that each copy's table references are resolved (and filtered) as its own.
 */
function copyOf(node: JsonObject): JsonObject {
  return parseJsonLosslessly(stringifyJsonLosslessly(node)) as JsonObject;
}

/** A call of a scalar function or operator, placed where `at` was (for error positions). */
function operator(name: string, children: JsonObject[], at: JsonObject): JsonObject {
  return {
    class: 'FUNCTION', type: 'FUNCTION', alias: '', ...(at['query_location'] !== undefined && { query_location: at['query_location'] }), function_name: name, schema: '', catalog: '',
    children, filter: null, order_bys: { type: 'ORDER_MODIFIER', orders: [] }, distinct: false, is_operator: true, export_state: false,
  };
}

/** The lower-cased name of a function call; refuses qualified names and denied functions. */
function functionName(call: JsonObject, code: ErrorCode): string {
  const name = identifierKey(String(call['function_name'] ?? ''));
  const schema = identifierKey(String(call['schema'] ?? ''));
  // DuckDB itself qualifies some calls it generates (`[1, 2]` → main.list_value).
  if (call['catalog'] || (schema !== '' && schema !== 'main')) {
    throw new SluiceError(code, `Function "${call['catalog'] ? `${call['catalog']}.` : ''}${schema}.${name}" is not allowed: use unqualified function names`, { function: name });
  }
  if (isDeniedFunction(name)) throw new SluiceError(code, `Function "${name}" is not allowed`, { function: name });
  return name;
}

/** A table's own entry only: a tree's "constructor" must not find Object's. */
function entryOf<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function refuse(message: string): never {
  throw new SluiceError('SQL_NOT_ALLOWED', message);
}

// ── predicates and defaults ─────────────────────────────────────────────────

/**
 * Checks a user-supplied row expression (a delete/replace predicate, a column default) and
 * returns it normalized, safe to embed in SQL. It may use the given columns (case-insensitive),
 * constants, operators, casts, CASE, IN lists, lambdas and scalar functions that are not denied;
 * no subqueries, tables, stars, window or aggregate functions, or parameters.
 */
export async function guardExpression(storage: DuckDBStorage, expressionSql: string, columns: readonly string[]): Promise<string> {
  // The expression is parsed inside parentheses; one that closes them early would be read as more than it says.
  if (!hasBalancedParentheses(expressionSql)) {
    throw new SluiceError('INVALID_PREDICATE', `Unbalanced parentheses in "${expressionSql}"`, { expression: expressionSql });
  }
  // The newlines keep a trailing `--` comment from swallowing the closing parenthesis.
  const statement = await parseStatement(storage, `SELECT 1 WHERE (\n${expressionSql}\n)`, 'INVALID_PREDICATE', 'INVALID_PREDICATE');
  const node = statement['node'];
  const expression = isJsonObject(node) && isBareWhere(node) ? node['where_clause'] : undefined;
  if (!isJsonObject(expression) || !isJsonObject(node)) {
    throw new SluiceError('INVALID_PREDICATE', 'Expected a single expression, not a query', { expression: expressionSql });
  }
  const check: ExpressionCheck = {
    columns: new Set(columns.map(identifierKey)),
    knownColumns: columns,
    aggregates: await aggregateNames(storage),
  };
  checkBindingCost(expression, 'INVALID_PREDICATE');
  checkExpression(expression, check, new Set());
  node['select_list'] = [expression];
  node['where_clause'] = null;
  const printed = await printStatement(storage, statement);
  if (!printed.startsWith('SELECT ')) throw new SluiceError('INTERNAL', 'Unexpected form of a printed expression');
  return printed.slice('SELECT '.length);
}

/**
 * A column with its DEFAULT checked (see `guardExpression`) and tried once: a default that does not
 * convert to the column's type, or that gives NULL in a column that is not nullable, is refused
 * when the column is defined rather than failing every write that would need it.
 */
export async function guardDefault(storage: DuckDBStorage, column: Column): Promise<Column> {
  if (column.defaultExpression === undefined) return column;
  const defaultSql = await guardExpression(storage, column.defaultExpression, []);
  const refuse = (reason: string, cause?: unknown) =>
    new SluiceError('INVALID_SCHEMA', `Column "${column.name}": DEFAULT ${column.defaultExpression} ${reason}`, { column: column.name, default: column.defaultExpression }, { cause });
  const length = declaredLength(column.type);
  let rows;
  try {
    const value = `CAST((${defaultSql}) AS ${toDuckDBType(column.type)})`;
    rows = await storage.query(`SELECT ${value} IS NULL AS missing, ${length === undefined ? 'NULL' : sizeSql(value, column.type, FIXED_IN_BYTES)} AS size`);
  } catch (error) {
    throw refuse("is not a value of the column's type", error);
  }
  if (rows[0]?.['missing'] === true && !column.nullable) throw refuse('gives NULL and the column is not nullable');
  if (length !== undefined && Number(rows[0]?.['size'] ?? 0) > length) {
    throw refuse(`is ${String(rows[0]?.['size'])} ${lengthUnit(column.type, FIXED_IN_BYTES)} long, longer than the column's ${length}`);
  }
  return { ...column, defaultSql };
}

/** Only ClickHouse schemas (Tinybird) have DEFAULTs, and ClickHouse counts a FixedString in bytes. */
const FIXED_IN_BYTES = true;

/**
 * `SELECT 1 WHERE (<expr>)` and nothing else: an expression that closes the parenthesis to add
 * GROUP BY, UNION, ORDER BY … leaves a mark in one of these fields.
 */
function isBareWhere(node: JsonObject): boolean {
  const empty = (value: JsonValue | undefined): boolean =>
    value === null || value === undefined || (Array.isArray(value) && value.length === 0);
  const from = node['from_table'];
  const selected = node['select_list'];
  const cteMap = node['cte_map'];
  return node['type'] === 'SELECT_NODE'
    && isJsonObject(from) && from['type'] === 'EMPTY'
    && Array.isArray(selected) && selected.length === 1 && isJsonObject(selected[0]) && selected[0]['class'] === 'CONSTANT'
    && isJsonObject(cteMap) && empty(cteMap['map'])
    && node['aggregate_handling'] === 'STANDARD_HANDLING'
    && Object.entries(node).every(([key, value]) => ['type', 'select_list', 'from_table', 'where_clause', 'cte_map', 'aggregate_handling'].includes(key) || empty(value));
}

interface ExpressionCheck {
  columns: ReadonlySet<string>;
  knownColumns: readonly string[];
  aggregates: ReadonlySet<string>;
}

type CheckExpression = (node: JsonObject, check: ExpressionCheck, lambdaParams: ReadonlySet<string>) => void;

const checkChildren: CheckExpression = (node, check, params) => {
  for (const child of Object.values(node)) checkNested(child, check, params);
};

const refuseExpression = (what: string): CheckExpression => () => {
  throw new SluiceError('INVALID_PREDICATE', `${what} are not allowed in this expression`);
};

const EXPRESSION_CHECKS: Record<string, CheckExpression> = {
  CONSTANT: () => {},
  COLUMN_REF: (node, check, params) => {
    const names = Array.isArray(node['column_names']) ? node['column_names'].map(String) : [];
    const first = identifierKey(names[0] ?? '');
    // `s.field` reads a struct column's field; the first part must still be a column.
    if (!check.columns.has(first) && !params.has(first)) {
      const known = check.knownColumns.length > 0 ? `; columns: ${check.knownColumns.join(', ')}` : '';
      throw new SluiceError('INVALID_PREDICATE', `Unknown column "${names.join('.')}"${known}`, { column: names.join('.') });
    }
  },
  COMPARISON: checkChildren,
  CONJUNCTION: checkChildren,
  OPERATOR: checkChildren,
  BETWEEN: checkChildren,
  CASE: checkChildren,
  CAST: checkChildren,
  COLLATE: checkChildren,
  FUNCTION: (node, check, params) => {
    const name = functionName(node, 'INVALID_PREDICATE');
    const hasOrder = isJsonObject(node['order_bys']) && Array.isArray(node['order_bys']['orders']) && node['order_bys']['orders'].length > 0;
    if (check.aggregates.has(name) || node['filter'] || node['distinct'] === true || hasOrder || node['export_state'] === true) {
      throw new SluiceError('INVALID_PREDICATE', `Aggregate function "${name}" is not allowed in this expression`, { function: name });
    }
    boundBuiltValue(node, name);
    checkChildren(node, check, params);
  },
  // `x -> x + 1`, `(x, i) -> …`, `lambda x: …`: the parameters are names the body may use besides
  // the columns. DuckDB reads any other left side (`payload -> '$.a'`, `f(…) -> '$'`) as JSON
  // extraction and evaluates it, so it is checked like any expression; the right side always is.
  LAMBDA: (node, check, params) => {
    const declared = lambdaParameters(node['lhs']);
    if (declared === undefined) checkNested(node['lhs'], check, params);
    checkNested(node['expr'], check, declared === undefined ? params : new Set([...params, ...declared]));
  },
  SUBQUERY: refuseExpression('Subqueries'),
  STAR: refuseExpression('Stars (*)'),
  WINDOW: refuseExpression('Window functions'),
  PARAMETER: refuseExpression('Parameters'),
  DEFAULT: refuseExpression('DEFAULT markers'),
  POSITIONAL_REFERENCE: refuseExpression('Positional references'),
};

/**
 * The lower-cased names a lambda's left side declares: one bare name, or a parenthesized list of
 * them (which DuckDB parses as a call of `row`); undefined for anything else.
 */
function lambdaParameters(lhs: JsonValue | undefined): string[] | undefined {
  const bareName = (value: JsonValue | undefined): string | undefined => {
    const parts = isJsonObject(value) && value['class'] === 'COLUMN_REF' && Array.isArray(value['column_names']) ? value['column_names'] : [];
    return parts.length === 1 ? identifierKey(String(parts[0])) : undefined;
  };
  const single = bareName(lhs);
  if (single !== undefined) return [single];
  const isRow = isJsonObject(lhs) && lhs['class'] === 'FUNCTION' && identifierKey(String(lhs['function_name'])) === 'row'
    && !lhs['catalog'] && ['', 'main'].includes(identifierKey(String(lhs['schema'] ?? '')));
  if (!isRow || !Array.isArray(lhs['children']) || lhs['children'].length === 0) return undefined;
  const names = lhs['children'].map(bareName);
  return names.every((name) => name !== undefined) ? names : undefined;
}

function checkExpression(node: JsonObject, check: ExpressionCheck, params: ReadonlySet<string>): void {
  const kind = String(node['class']);
  const checkKind = entryOf(EXPRESSION_CHECKS, kind) ?? refuseExpression(`${kind.toLowerCase()} expressions`);
  checkKind(node, check, params);
}

/** Descends through plain objects (CASE branches, types, order lists) to the expressions in them. */
function checkNested(value: JsonValue | undefined, check: ExpressionCheck, params: ReadonlySet<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) checkNested(item, check, params);
  } else if (isJsonObject(value)) {
    if (typeof value['class'] === 'string') checkExpression(value, check, params);
    else for (const child of Object.values(value)) checkNested(child, check, params);
  }
}

const aggregateNamesByStorage = new WeakMap<DuckDBStorage, Promise<ReadonlySet<string>>>();

function aggregateNames(storage: DuckDBStorage): Promise<ReadonlySet<string>> {
  let names = aggregateNamesByStorage.get(storage);
  if (!names) {
    names = storage
      .query("SELECT DISTINCT lower(function_name) AS name FROM duckdb_functions() WHERE function_type = 'aggregate'")
      .then((rows) => new Set([
        ...rows.map((row) => String(row['name'])),
        ...CLICKHOUSE_MACROS.filter((macro) => macro.aggregate).map((macro) => macro.name.toLowerCase()),
      ]));
    aggregateNamesByStorage.set(storage, names);
  }
  return names;
}

// ── parsing and printing ────────────────────────────────────────────────────

/** Parses exactly one SELECT statement into DuckDB's tree. */
async function parseStatement(storage: DuckDBStorage, sql: string, syntaxCode: ErrorCode, notAllowedCode: ErrorCode): Promise<JsonObject> {
  const [row] = await storage.query('SELECT json_serialize_sql(?::VARCHAR) AS tree', [sql]);
  let tree: JsonValue;
  try {
    tree = parseJsonLosslessly(String(row?.['tree']));
  } catch (error) {
    // DuckDB writes an out-of-range float literal (1e400) as Infinity, which is not JSON.
    throw new SluiceError(syntaxCode, 'The query holds a literal that cannot be represented (a number out of range?)', null, { cause: error });
  }
  if (!isJsonObject(tree)) throw new SluiceError('INTERNAL', 'Unexpected parse tree');
  if (tree['error'] === true) {
    const message = String(tree['error_message'] ?? 'Invalid query');
    if (tree['error_type'] === 'parser') throw new SluiceError(syntaxCode, message, { position: Number(tree['position'] ?? 0) });
    throw new SluiceError(notAllowedCode, 'Only SELECT queries are allowed (WITH, DESCRIBE and SUMMARIZE of a SELECT too; a PIVOT needs an IN list)', { reason: message });
  }
  const statements = Array.isArray(tree['statements']) ? tree['statements'] : [];
  if (statements.length === 0) throw new SluiceError(syntaxCode, 'The query is empty');
  if (statements.length > 1) throw new SluiceError(notAllowedCode, 'Only one statement is allowed per query');
  const [statement] = statements;
  if (!isJsonObject(statement)) throw new SluiceError('INTERNAL', 'Unexpected parse tree');
  return statement;
}

async function printStatement(storage: DuckDBStorage, statement: JsonObject): Promise<string> {
  const tree = stringifyJsonLosslessly({ error: false, statements: [statement] });
  const [row] = await storage.query('SELECT json_deserialize_sql(?::JSON) AS sql', [tree]);
  return String(row?.['sql']);
}

/** Whether parentheses outside string literals, quoted names and comments balance without closing early. */
function hasBalancedParentheses(sql: string): boolean {
  const tokens = tokensOrUndefined(sql);
  // An unterminated literal or comment is the parser's to report.
  if (!tokens) return true;
  let depth = 0;
  for (const token of tokens) {
    if (token.kind !== 'symbol') continue;
    if (token.text === '(') depth += 1;
    else if (token.text === ')' && --depth < 0) return false;
  }
  return depth === 0;
}
