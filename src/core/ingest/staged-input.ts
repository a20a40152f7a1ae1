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
 * Decoded rows of one request, ready to be loaded into the raw stage table inside the write's
 * transaction. Inputs load either through DuckDB's appender (rows decoded in JS) or with one
 * INSERT … SELECT over a DuckDB reader (files spooled to disk), never row by row in SQL.
 */
export interface StagedInput {
  /** The target columns this input gives text for, in the order of the `v0…vn` columns. */
  columns: string[];
  /** Inserts the rows into `rawTable` (temporary, created by the caller) tagged with `request`. */
  load(tx: Transaction, rawTable: string, request: number): Promise<void>;
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

/**
 * Rows read by a SQL query that yields `_row, _weight, _error, _source, v0…vn` (a DuckDB reader
 * over a spooled file, JSON extraction over a table of values …). `prepare` may create what the
 * query reads (in the same transaction); `dispose` removes files once the write is over.
 */
export function queryInput(columns: string[], build: (tx: Transaction) => Promise<string>, dispose?: () => Promise<void>): StagedInput {
  return {
    columns,
    async load(tx, rawTable, request) {
      const select = await build(tx);
      await tx.run(`INSERT INTO ${rawTable} SELECT ${request}, * FROM (${select})`);
    },
    ...(dispose && { dispose }),
  };
}
