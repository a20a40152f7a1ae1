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
 */
export const STAGE_CONTROL_COLUMNS = '_group BIGINT, _sets VARCHAR[]';

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
  /** Releases what the input holds (temporary tables are dropped with the stage; files are removed here). */
  dispose?(): Promise<void>;
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
