import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { Transaction } from '../../storage/duckdb/duckdb-storage.ts';
import type { RecordBatch } from '../write/write-command.ts';

/**
 * The columns every input provides to the write path's raw stage table, before one text column
 * per target column (`v0`, `v1`, … in the order of `StagedInput.columns`):
 * - `_req`: which request of a group commit the row belongs to
 * - `_row`: the row's line or record number in its request (for messages)
 * - `_weight`: +n / −n for change batches, 1 otherwise
 * - `_error`: why the record could not be decoded at all (NULL when it could)
 * - `_source`: the original text of a record that could not be decoded
 */
export const RAW_STAGE_COLUMNS = '_req INTEGER, _row BIGINT, _weight BIGINT, _error VARCHAR, _source VARCHAR';

/**
 * Columns an input that sets `StagedInput.controls` gives after its values:
 * - `_group`: rows of one request with the same group are applied together or not at all: when
 *   one fails validation, the others are refused with it (NULL: the row stands alone)
 * - `_sets`: for a partial row (a change setting some columns of the row with its key), the
 *   columns it sets; NULL for a whole row
  * - `_mismatches`: the columns whose value the input found of the wrong kind for their type (a
 *   JSON string for a number, where the input takes values of their type's kind only), each with
 *   why (`c`: the column, `e`: the message); their failures, in place of their text's (NULL: none)
 */
export const STAGE_CONTROL_COLUMNS = '_group BIGINT, _sets VARCHAR[], _mismatches STRUCT(c VARCHAR, e VARCHAR)[]';

/**
 * Decoded rows of one request, ready to be loaded into the raw stage table inside the write's
 * transaction. Inputs load either through DuckDB's appender (rows decoded in JS) or with one
 * INSERT … SELECT over a DuckDB reader (files spooled to disk), never row by row in SQL.
 */
export interface StagedInput {
  /** The target columns this input gives text for, in the order of the `v0…vn` columns. */
  columns: string[];
  /** Inserts the rows into `rawTable` (temporary, created by the caller) tagged with `request`. */
  load(tx: Transaction, rawTable: string, request: number): Promise<void>;
  /** Whether each row ends with the STAGE_CONTROL_COLUMNS, after the values. */
  controls?: boolean;
  /**
   * The rows as one query, for a write that goes straight to its table when every row is valid
   * (the stage is the fallback when one is not). The query reads the same records `load` stages,
   * with the same texts, but must fail rather than skip a record that `load` would stage as
   * undecodable without an `_error`.
   */
  direct?(tx: Transaction): Promise<DirectSource>;
  /** Inputs of one run with the same `merge.key` load together, in a few statements for all of them. */
  merge?: MergedInput;
  /** Releases what the input holds (temporary tables are dropped with the stage; files are removed here). */
  dispose?(): Promise<void>;
  /**
   * The input's named fields that no column takes (a CSV header's, a Parquet or Arrow schema's):
   * their values are not written, which the write's result says.
   */
  ignoredFields?: string[];
  /** More fields than those listed in `ignoredFields` were ignored: the list is bounded (JSON keys may be countless). */
  moreIgnoredFields?: boolean;
}

/** Rows decoded in JS, appended through DuckDB's appender. */
export function recordsInput(batch: RecordBatch): StagedInput {
  return {
    columns: batch.columns,
    async load(tx, rawTable, request) {
      const appender = await tx.appender(rawTable, 'main', 'temp');
      batch.rows.forEach((row, index) => {
        appender.appendInteger(request);
        appender.appendBigInt(BigInt(batch.lineNumbers?.[index] ?? index + 1));
        appender.appendBigInt(BigInt(batch.weights?.[index] ?? 1));
        appender.appendNull();
        appender.appendNull();
        for (let column = 0; column < batch.columns.length; column += 1) {
          const value = row[column];
          if (value === null || value === undefined) appender.appendNull();
          else appender.appendVarchar(value);
        }
        appender.endRow();
      });
      appender.flushSync();
    },
  };
}

/** Records that could not be decoded at all, staged with why and their text, for the write path to report or quarantine. */
export function undecodableInput(columns: string[], records: Array<{ line: number; error: string; source: string }>): StagedInput {
  return {
    columns,
    async load(tx, rawTable, request) {
      const appender = await tx.appender(rawTable, 'main', 'temp');
      for (const record of records) {
        appender.appendInteger(request);
        appender.appendBigInt(BigInt(record.line));
        appender.appendBigInt(1n);
        appender.appendVarchar(record.error);
        appender.appendVarchar(record.source);
        for (let column = 0; column < columns.length; column += 1) appender.appendNull();
        appender.endRow();
      }
      appender.flushSync();
    },
  };
}

/**
 * SQL yielding `_error, v0…vn` (then `_sets` when the input has controls) for every record. Where
 * `nativeTypes[i]` is set, the query also yields `n{i}`: the value `v{i}` is the text of, as it is in
 * the source, of that DuckDB type (so that it can be written without a round trip through text).
 */
export interface DirectSource {
  sql: string;
  nativeTypes?: Array<string | undefined>;
  /** Whether the query also yields `_row`, numbered as `load` numbers it (else rows are numbered in the query's order). */
  numbered?: boolean;
  /**
   * Values of the query's `$1…$n` parameters: the query is then the same text for every batch of
   * its kind, and is run as a statement prepared once (see `Transaction.runPrepared`).
   */
  params?: { values: DuckDBValue[]; types: DuckDBType[] };
  release?: (tx: Transaction) => Promise<void>;
}

/** One input of several loaded together, and the request of the run it belongs to. */
export interface MergedPart {
  input: StagedInput;
  request: number;
}

/**
 * How inputs of one kind (JSON texts held in memory, say) load together: a group commit of many
 * small requests then costs the same few statements as one request.
 */
export interface MergedInput {
  key: string;
  /** How many rows this input gives, when known without reading it. */
  rowCount?: number;
  /** Loads every part's rows into `rawTable` (each row tagged with its part's request). */
  load(tx: Transaction, rawTable: string, parts: MergedPart[]): Promise<void>;
  /** Like `StagedInput.direct` for every part at once, with each row's request first, as `_req`. */
  direct(tx: Transaction, parts: MergedPart[]): Promise<DirectSource>;
}

/** A query the stage reads rows from, and what to drop once they are loaded (temporary tables it made). */
export interface QuerySource {
  sql: string;
  release?: (tx: Transaction) => Promise<void>;
}

/**
 * Rows read by a SQL query that yields `_row, _weight, _error, _source, v0…vn` (a DuckDB reader
 * over a spooled file, JSON extraction over a table of values …). `prepare` may create what the
 * query reads (in the same transaction); `dispose` removes files once the write is over.
 */
export function queryInput(columns: string[], build: (tx: Transaction) => Promise<QuerySource>, dispose?: () => Promise<void>): StagedInput {
  return {
    columns,
    async load(tx, rawTable, request) {
      const { sql, release } = await build(tx);
      await tx.run(`INSERT INTO ${rawTable} SELECT ${request}, * FROM (${sql})`);
      await release?.(tx);
    },
    ...(dispose && { dispose }),
  };
}
