import type { DuckDBConnection, DuckDBResult, DuckDBType } from '@duckdb/node-api';
import { translateDuckDBError } from '../../storage/duckdb/duckdb-errors.ts';
import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import { SluiceError } from '../errors.ts';
import type { DataType } from '../types/data-type.ts';
import { fromDuckDBTypeName } from '../types/duckdb-types.ts';
import type { GuardedQuery } from './sql-guard.ts';
import { convertDuckDBValue, type SqlValue } from './sql-values.ts';

export interface ResultColumn {
  name: string;
  type: DataType;
  /**
   * Whether the column holds NULLs. DuckDB does not say for a query's columns: a bounded result
   * (runQuery) reports whether its rows hold any; a stream reports true.
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
}

export interface RunOptions {
  maxRows?: number | undefined;
  /** Interrupts the query after this long (RESOURCE_EXHAUSTED). */
  timeoutMs?: number | undefined;
}

/** Runs a guarded query and returns at most `maxRows` rows, reading no further than needed. */
export async function runQuery(storage: DuckDBStorage, guarded: GuardedQuery, options: RunOptions = {}): Promise<QueryResult> {
  const started = performance.now();
  const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
  return storage.withReader(async (connection) =>
    withTimeout(connection, options.timeoutMs, async () => {
      const result = await connection.stream(guarded.sql);
      const columns = describeColumns(result);
      const rows: SqlValue[][] = [];
      let seen = 0;
      while (seen <= maxRows) {
        const batch = await fetchBatch(result);
        if (!batch) break;
        seen += batch.length;
        for (const row of batch) if (rows.length < maxRows) rows.push(row);
      }
      for (const [index, column] of columns.entries()) column.nullable = rows.some((row) => row[index] === null);
      return {
        columns,
        rows,
        rowCount: rows.length,
        truncated: seen > rows.length,
        rowsBeforeLimit: seen,
        statistics: { elapsedSeconds: (performance.now() - started) / 1000, rowsRead: 0, bytesRead: 0 },
      };
    }),
  );
}

/**
 * Runs a guarded query for a result too big to hold: the rows arrive chunk by chunk while the
 * caller writes them out. The read connection stays lent until the batches end or `close` is called.
 */
export async function streamQuery(storage: DuckDBStorage, guarded: GuardedQuery, options: Omit<RunOptions, 'maxRows'> = {}): Promise<QueryStream> {
  const { connection, release } = await borrowReader(storage);
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => connection.interrupt(), options.timeoutMs);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    release();
  };
  let result: DuckDBResult;
  try {
    result = await connection.stream(guarded.sql);
  } catch (error) {
    await close();
    throw translateQueryError(error, options.timeoutMs);
  }
  async function* readBatches(): AsyncGenerator<SqlValue[][]> {
    try {
      // After close() the connection may already serve someone else.
      while (!closed) {
        const batch = await fetchBatch(result).catch((error: unknown) => {
          throw translateQueryError(error, options.timeoutMs);
        });
        if (!batch) return;
        yield batch;
      }
    } finally {
      await close();
    }
  }
  return { columns: describeColumns(result).map((column) => ({ ...column, nullable: true })), batches: readBatches(), close };
}

/** A read connection held until `release` is called, for work that outlives one callback. */
function borrowReader(storage: DuckDBStorage): Promise<{ connection: DuckDBConnection; release: () => void }> {
  return new Promise((resolve, reject) => {
    storage
      .withReader((connection) => new Promise<void>((release) => resolve({ connection, release: () => release() })))
      .catch(reject);
  });
}

async function withTimeout<T>(connection: DuckDBConnection, timeoutMs: number | undefined, work: () => Promise<T>): Promise<T> {
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => connection.interrupt(), timeoutMs);
  try {
    return await work();
  } catch (error) {
    throw translateQueryError(error, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

function translateQueryError(error: unknown, timeoutMs: number | undefined): SluiceError {
  const translated = translateDuckDBError(error);
  if (translated.code === 'UNAVAILABLE' && timeoutMs !== undefined) {
    return new SluiceError('RESOURCE_EXHAUSTED', `The query ran longer than ${timeoutMs / 1000} s and was stopped`, { timeoutMs }, { cause: error });
  }
  return translated;
}

async function fetchBatch(result: DuckDBResult): Promise<SqlValue[][] | null> {
  const chunk = await result.fetchChunk();
  if (!chunk || chunk.rowCount === 0) return null;
  const types = result.columnTypes();
  const columns = types.map((type, index) => chunk.getColumnValues(index).map((value) => convertDuckDBValue(value, type)));
  return Array.from({ length: chunk.rowCount }, (_, row) => columns.map((column) => column[row]!));
}

function describeColumns(result: DuckDBResult): ResultColumn[] {
  const names = result.deduplicatedColumnNames();
  return result.columnTypes().map((type, index) => {
    const duckdbType = duckdbTypeName(type);
    return { name: names[index]!, type: dataTypeOf(duckdbType), nullable: true, duckdbType };
  });
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
