import type { DuckDBConnection } from '@duckdb/node-api';
import { SluiceError } from '../../core/errors.ts';
import { translateDuckDBError } from './duckdb-errors.ts';

/**
 * Whether DuckDB can still be trusted in this process. A few failures leave it beyond repair: it
 * invalidates the database when it cannot roll a transaction back, and a commit or a rollback that
 * failed for want of memory may leave dangling undo entries behind (see `translateDuckDBError` and
 * `rollBack`). Once one is met, no statement more is run, as the next one might crash the server or
 * worse: each is refused with that failure (STORAGE_FAILED, a retryable 503), and `failure` tells
 * the server to exit, so that a restart reopens the database and replays its write-ahead log, which
 * holds every acknowledged write.
 */
export class EngineHealth {
  private readonly failed = new AbortController();

  /** Aborted, with the SluiceError as its reason, at the first failure beyond repair. */
  get failure(): AbortSignal {
    return this.failed.signal;
  }

  /** `translateDuckDBError`, taking note of a failure beyond repair. */
  translate(error: unknown): SluiceError {
    const translated = translateDuckDBError(error);
    this.note(translated);
    return translated;
  }

  /** Takes note of an error already translated: a STORAGE_FAILED one marks the engine failed. */
  note(error: unknown): void {
    if (error instanceof SluiceError && error.code === 'STORAGE_FAILED' && !this.failed.signal.aborted) this.failed.abort(error);
  }

  /**
   * Rolls back the connection's transaction. A rollback that fails leaves the engine failed: the
   * connection would refuse every later BEGIN ("Current transaction is aborted") and cannot be
   * closed (closing rolls back too, and a failure there aborts the process), and a rollback that
   * ran out of memory may have failed while DuckDB cleaned up old versions of rows, which leaves
   * them pointing at freed memory (duckdb/duckdb#26019: the next update of those rows crashed the
   * server). A transaction that is already over (DuckDB ends one whose commit failed) is no failure.
   */
  async rollBack(connection: DuckDBConnection): Promise<void> {
    try {
      await connection.run('ROLLBACK');
    } catch (error) {
      if (String(error).includes('no transaction is active')) return;
      const failure = this.translate(error);
      if (failure.code === 'STORAGE_FAILED') throw failure;
      const given = new SluiceError('STORAGE_FAILED', `A failed transaction could not be rolled back (${failure.message}), and the server must restart to recover`, null, { cause: error });
      this.note(given);
      throw given;
    }
  }

  /** Throws the failure beyond repair, once there is one: called before work is given to DuckDB. */
  check(): void {
    if (this.failed.signal.aborted) throw this.failed.signal.reason as SluiceError;
  }
}
