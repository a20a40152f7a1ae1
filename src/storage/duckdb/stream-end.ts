import type { DuckDBConnection } from '@duckdb/node-api';
import { SluiceError } from '../../core/errors.ts';

/**
 * Called when a streamed result's chunks have run out, on the connection that streamed it inside
 * an explicit transaction: throws the query's error if it failed part-way. DuckDB's C API ends a
 * streamed result that fails (a value that does not convert, memory running out) as it ends one
 * read to its end, with no chunk, and @duckdb/node-api 1.5.6 does not ask for the result's error
 * (`duckdb_result_error`): the rows read so far would pass for the whole result. The failure has
 * aborted the transaction, so one more statement tells the two apart. DuckDB keeps no message for
 * it, so the query runs again in a new transaction, reduced to a count of its rows in which every
 * column is still computed, and fails as it did; its error is thrown. Outside an explicit
 * transaction nothing tells a failure from an end.
 */
export async function checkStreamEnded(connection: DuckDBConnection, sql: string): Promise<void> {
  try {
    await connection.run('SELECT 1');
    return;
  } catch (error) {
    if (!(error instanceof Error && error.message.includes(ABORTED_TRANSACTION))) throw error;
  }
  await beginAnew(connection);
  await connection.run(`SELECT count(*) FROM (${sql}) AS q WHERE q IS NOT NULL`);
  // It failed once and not the second time (it reads a newer snapshot, or ran out of memory once).
  throw new SluiceError('QUERY_FAILED', 'The query failed part-way through its rows');
}

const ABORTED_TRANSACTION = 'Current transaction is aborted';

/** Ends the connection's transaction (one a failed statement aborted) and begins a new one. */
export async function beginAnew(connection: DuckDBConnection): Promise<void> {
  await connection.run('ROLLBACK');
  await connection.run('BEGIN TRANSACTION');
}
