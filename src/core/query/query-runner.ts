import type { DuckDBConnection, DuckDBResult, DuckDBType } from '@duckdb/node-api';
import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import type { QueryLease, QueryLimits } from '../../storage/duckdb/query-lease.ts';
import { SluiceError } from '../errors.ts';
import type { Table } from '../catalog/model.ts';
import { viewNullability } from '../catalog/view-nullability.ts';
import type { DataType } from '../types/data-type.ts';
import { fromDuckDBTypeName, toDuckDBType } from '../types/duckdb-types.ts';
import type { GuardedQuery } from './sql-guard.ts';
import { ChunkReader, megabytes } from './chunk-reader.ts';
import type { SqlValue } from './sql-values.ts';

export interface ResultColumn {
  name: string;
  type: DataType;
  /**
   * Whether the column holds NULLs. DuckDB does not say for a query's columns: a bounded result
   * (runQuery) reports whether its rows hold any; a stream reports true; with `nullability:
   * 'query'`, either reports what the query says (see ResultTypeOptions).
   */
  nullable: boolean;
  /** DuckDB's name of the type (`DECIMAL(18,3)`, `VARCHAR[]`, `JSON` …). */
  duckdbType: string;
}

export interface QueryStatistics {
  elapsedSeconds: number;
  /**
   * DuckDB reports neither rows nor bytes scanned for a query (its progress counters are off
   * without a progress bar, and the configuration is locked), so these are 0 rather than guessed.
   */
  rowsRead: number;
  bytesRead: number;
}

export interface QueryResult {
  columns: ResultColumn[];
  /** Positional rows of exact values (see SqlValue). */
  rows: SqlValue[][];
  rowCount: number;
  /** maxRows cut the result. */
  truncated: boolean;
  /** Rows the query produced, at least: reading stops soon after maxRows. */
  rowsBeforeLimit: number;
  statistics: QueryStatistics;
}

export interface QueryStream {
  columns: ResultColumn[];
  /** Rows in DuckDB's chunks (about 2048 each). Iterate to the end, or break, to free the connection. */
  batches: AsyncIterable<SqlValue[][]>;
  /** Frees the connection when the batches are not going to be read (idempotent). */
  close(): Promise<void>;
  /** Once the batches are read: the rows before the query's own LIMIT (see StreamOptions) and the time taken. */
  summary(): { rowsBeforeLimit: number; statistics: QueryStatistics };
}

export interface ResultTypeOptions {
  /**
   * Name result columns by the types their table columns were declared with where DuckDB cannot
   * hold the difference (a date64 column is a DATE, as a date32 one is): see `declaredType`.
   */
  declaredTypes?: boolean | undefined;
  /**
   * Name a result column of DuckDB's NULL type (`SELECT NULL`, a column declared of the null type)
   * `null`. DuckDB hands such a column out as INTEGER, so where a result has an INTEGER column the
   * types of its columns are asked for once more, by a query over none of its rows.
   */
  nullTypes?: boolean | undefined;
  /**
   * `query`: a column is nullable unless the query's shape says it never holds NULL (a NOT NULL
   * column of a table read by inner joins only, a count, a constant: see `viewNullability`),
   * whatever the rows read, so that a schema sent before or beside the rows does not depend on
   * them. By default a bounded result says whether its rows hold a NULL, a stream that any may.
   */
  nullability?: 'rows' | 'query' | undefined;
}

export interface StreamOptions extends QueryLimits, ResultTypeOptions {
  /**
   * Count the rows the query gives without its outermost LIMIT/OFFSET, for formats that report
   * them (ClickHouse's rows_before_limit_at_least). The count runs first, on the query's own
   * connection and within its limits, and only for a query that has such a LIMIT.
   */
  countBeforeLimit?: boolean | undefined;
}

export interface RunOptions extends StreamOptions {
  maxRows?: number | undefined;
}

/** Runs a guarded query and returns at most `maxRows` rows, reading no further than needed. */
export async function runQuery(storage: DuckDBStorage, guarded: GuardedQuery, options: RunOptions = {}): Promise<QueryResult> {
  const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
  const budget = storage.resultMemoryBytes;
  const { lease, result, columns, counted, started } = await startQuery(storage, guarded, options);
  try {
    const reader = new ChunkReader(result.columnTypes(), budget);
    const rows: SqlValue[][] = [];
    let seen = 0;
    let held = 0;
    while (seen <= maxRows) {
      const chunk = await lease.run(() => result.fetchChunk());
      if (!chunk || chunk.rowCount === 0) {
        await lease.checkEnded(guarded.sql);
        break;
      }
      seen += chunk.rowCount;
      const wanted = Math.min(chunk.rowCount, maxRows - rows.length);
      if (wanted <= 0) continue;
      held += reader.measure(chunk, wanted);
      if (held > budget) throw resultTooLarge(held, budget, rows.length + wanted);
      rows.push(...reader.convert(chunk, 0, wanted));
    }
    if (options.nullability !== 'query') for (const [index, column] of columns.entries()) column.nullable = rows.some((row) => row[index] === null);
    return {
      columns,
      rows,
      rowCount: rows.length,
      truncated: seen > rows.length,
      rowsBeforeLimit: Math.max(seen, counted ?? 0),
      statistics: statisticsSince(started),
    };
  } finally {
    lease.end();
  }
}

/**
 * Runs a guarded query for a result too big to hold: the rows arrive batch by batch while the
 * caller writes them out, each batch converted only when asked for and within the memory a query
 * may hold. The connection stays lent until the batches end or `close` is called.
 */
export async function streamQuery(storage: DuckDBStorage, guarded: GuardedQuery, options: StreamOptions = {}): Promise<QueryStream> {
  const { lease, result, columns, counted, started } = await startQuery(storage, guarded, options);
  const reader = new ChunkReader(result.columnTypes(), storage.resultMemoryBytes);
  let seen = 0;
  async function* readBatches(): AsyncGenerator<SqlValue[][]> {
    try {
      for (;;) {
        const chunk = await lease.run(() => result.fetchChunk());
        if (!chunk || chunk.rowCount === 0) return await lease.checkEnded(guarded.sql);
        seen += chunk.rowCount;
        yield* reader.batches(chunk);
      }
    } finally {
      lease.end();
    }
  }
  return {
    columns: options.nullability === 'query' ? columns : columns.map((column) => ({ ...column, nullable: true })),
    batches: readBatches(),
    close: async () => lease.end(),
    summary: () => ({ rowsBeforeLimit: Math.max(seen, counted ?? 0), statistics: statisticsSince(started) }),
  };
}

interface StartedQuery {
  lease: QueryLease;
  result: DuckDBResult;
  columns: ResultColumn[];
  /** The rows before the outermost LIMIT, when asked for and the query has one. */
  counted: number | null;
  started: number;
}

/** Takes a connection for the query (given back if starting fails), counts if asked, and starts its result. */
async function startQuery(storage: DuckDBStorage, guarded: GuardedQuery, options: StreamOptions): Promise<StartedQuery> {
  const started = performance.now();
  const lease = await storage.leaseQuery({ ...options, owner: guarded.owner });
  try {
    const counted = options.countBeforeLimit ? await countBeforeLimit(lease, guarded) : null;
    const { result, nullColumns } = await lease.run((connection) => startResult(connection, guarded.sql, options.nullTypes === true));
    const columns = describeColumns(result, options.declaredTypes ? guarded.tables : [], nullColumns);
    if (options.nullability === 'query') {
      const nullable = guarded.statement && viewNullability(guarded.statement, (id) => guarded.tables.find((table) => table.id === id));
      // A column of the NULL type holds nothing else, whatever its declaration says.
      for (const [index, column] of columns.entries()) column.nullable = nullable?.length !== columns.length || nullable[index]! || column.type.kind === 'null';
    }
    return { lease, result, columns, counted, started };
  } catch (error) {
    lease.end();
    throw error;
  }
}

function statisticsSince(started: number): QueryStatistics {
  return { elapsedSeconds: (performance.now() - started) / 1000, rowsRead: 0, bytesRead: 0 };
}

/**
 * How many rows the query gives without its outermost LIMIT/OFFSET; null when it has none, or
 * when the count fails where the query may not (a value that fails to convert past the LIMIT):
 * the caller then reports the rows it read, which ClickHouse's "at least" allows. A stopped query
 * (time limit, client gone) fails at its next step.
 */
async function countBeforeLimit(lease: QueryLease, guarded: GuardedQuery): Promise<number | null> {
  const countSql = guarded.countBeforeLimitSql;
  if (countSql === undefined) return null;
  try {
    const reader = await lease.run((connection) => connection.runAndReadAll(countSql));
    return Number(reader.getRows()[0]?.[0] ?? 0);
  } catch {
    // The failure aborted the lease's transaction: the query gets a new one, or it would fail on that.
    await lease.beginAnew();
    return null;
  }
}

function resultTooLarge(bytes: number, budget: number, rows: number): SluiceError {
  return new SluiceError(
    'QUERY_FAILED',
    `The result's first ${rows} rows hold about ${megabytes(bytes)} of values, more than the ${megabytes(budget)} a query's result may hold in the server's memory: ask for fewer rows or smaller values`,
    { resultBytes: Math.round(bytes), limitBytes: budget, rows },
  );
}


/**
 * Starts the query's result; with `nullTypes`, also says which of its columns are of DuckDB's NULL
 * type. DuckDB hands those out as INTEGER, while `typeof` still names their own type where the
 * query is read as a subquery: it is asked of the columns of the query cut to no rows (which DuckDB
 * plans as an empty result, not running the query), joined to one row so that there is one to ask
 * in. The query is prepared once, for both.
 */
async function startResult(connection: DuckDBConnection, sql: string, nullTypes: boolean): Promise<{ result: DuckDBResult; nullColumns: ReadonlySet<number> }> {
  if (!nullTypes) return { result: await connection.stream(sql), nullColumns: new Set() };
  const prepared = await connection.prepare(sql);
  try {
    const integers = Array.from({ length: prepared.columnCount }, (_, index) => prepared.columnType(index).toString() === 'INTEGER');
    let nullColumns = new Set<number>();
    if (integers.some(Boolean)) {
      const reader = await connection.runAndReadAll(`SELECT typeof(COLUMNS(q.*)) FROM (SELECT 1) AS one LEFT JOIN (SELECT * FROM (${sql}) LIMIT 0) AS q ON true`);
      const types = reader.getRows()[0] ?? [];
      nullColumns = new Set(types.flatMap((type, index) => (integers[index] && (type === '"NULL"' || type === 'NULL') ? [index] : [])));
    }
    return { result: await prepared.stream(), nullColumns };
  } finally {
    prepared.destroySync();
  }
}

const NULL_TYPE: DataType = { kind: 'null' };

function describeColumns(result: DuckDBResult, tables: readonly Table[], nullColumns: ReadonlySet<number>): ResultColumn[] {
  const names = result.deduplicatedColumnNames();
  return result.columnTypes().map((type, index) => {
    const duckdbType = duckdbTypeName(type);
    const name = names[index]!;
    const described = nullColumns.has(index) ? NULL_TYPE : (declaredType(name, duckdbType, tables) ?? dataTypeOf(duckdbType));
    return { name, type: described, nullable: true, duckdbType };
  });
}

/**
 * The declared type of the table column a result column stands for: one named like it (regardless
 * of case) in a table the query reads, stored as the result's DuckDB type. DuckDB tells no result
 * column's origin, so the name decides; where columns of that name were declared differently the
 * result keeps DuckDB's type. A computed value given such a column's name takes its type too, which
 * changes its name only: both types are stored, and so hold values, alike.
 */
function declaredType(name: string, duckdbType: string, tables: readonly Table[]): DataType | undefined {
  const lower = name.toLowerCase();
  let found: DataType | undefined;
  for (const table of tables) {
    for (const column of table.columns) {
      if (column.name.toLowerCase() !== lower || storedAs(column.type) !== duckdbType) continue;
      if (found !== undefined && JSON.stringify(found) !== JSON.stringify(column.type)) return undefined;
      found = column.type;
    }
  }
  return found;
}

function storedAs(type: DataType): string | undefined {
  try {
    return toDuckDBType(type);
  } catch {
    return undefined;
  }
}

function duckdbTypeName(type: DuckDBType): string {
  // JSON is VARCHAR with an alias; other aliases (user types) print as their base type.
  return type.alias === 'JSON' ? 'JSON' : type.toString();
}

/** Types the model cannot name (VARIANT, GEOMETRY …) travel as their text. */
function dataTypeOf(duckdbType: string): DataType {
  try {
    return fromDuckDBTypeName(duckdbType);
  } catch {
    return { kind: 'string' };
  }
}
