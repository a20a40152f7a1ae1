import type { DuckDBConnection } from '@duckdb/node-api';
import { SluiceError } from '../../core/errors.ts';
import type { CommitGate } from './commit-gate.ts';
import type { PooledConnection } from './connection-pool.ts';
import type { EngineHealth } from './engine-health.ts';
import { beginAnew, checkStreamEnded } from './stream-end.ts';

/** Why a query was stopped before it finished. */
export type StopReason = 'timeout' | 'cancelled' | 'shutdown';

export interface QueryLimits {
  /** Stops the query this long after it was asked for, its wait for a connection and its reading included. */
  timeoutMs?: number | undefined;
  /** Stops the query when it aborts: whoever asked has gone (a client that disconnected). */
  signal?: AbortSignal | undefined;
  /** Who runs it (a token id): one owner holds at most `queriesPerOwner` connections at once. */
  owner?: string | undefined;
}

/**
 * One user query's hold on a connection, from its first statement until its result is read or
 * abandoned. The query is stopped when it runs out of time, when its signal aborts, or when the
 * server shuts down: DuckDB is interrupted if it is working, and the connection goes back to the
 * pool at once if it is not (a result waiting for a slow reader holds no connection past the
 * limit). After a stop every step fails with an error that says why: DuckDB would otherwise answer
 * the next fetch of an interrupted stream with an empty chunk, a truncated result that looks whole
 * (as it answers a stream whose query failed, which `checkEnded` tells apart).
 *
 * The query's statements run in one read transaction, begun before the first and rolled back when
 * the lease ends: they all read one snapshot (a count before LIMIT agrees with the rows), and a
 * streamed result is read inside a transaction that lasts until it is read. The latter is needed:
 * DuckDB 1.5.6 now and then returns rows of another connection's commit
 * half-written (values never written, such as 235 for 1003) to a streamed autocommit query that
 * sorts or groups while that commit appends to the table it reads; see
 * scripts/upstream/streamed-read-during-commit.ts, which shows it with DuckDB alone.
 */
export class QueryLease {
  private reason: StopReason | null = null;
  private busy = false;
  private ended = false;
  /** Whether the read transaction has begun (and must be rolled back when the lease ends). */
  private reading = false;
  private interrupting: NodeJS.Timeout | undefined;

  constructor(
    private readonly lent: PooledConnection,
    private readonly timeoutMs: number,
    private readonly health: EngineHealth,
    private readonly gate: CommitGate,
    private readonly onEnd: () => void,
  ) {}

  /** Runs one step of the query (a statement, a fetch) on the lent connection. */
  async run<T>(step: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.reason) throw stopError(this.reason, this.timeoutMs);
    if (this.ended) throw new SluiceError('INTERNAL', 'The query has already ended');
    this.busy = true;
    try {
      if (!this.reading) {
        // Marked first: a BEGIN that fails (interrupted, short of memory) may have begun the
        // transaction all the same, and the rollback at the end tolerates finding none.
        this.reading = true;
        await this.lent.connection.run('BEGIN TRANSACTION');
      }
      const result = await this.gate.read(() => step(this.lent.connection));
      if (this.reason) throw stopError(this.reason, this.timeoutMs);
      return result;
    } catch (error) {
      throw this.reason ? stopError(this.reason, this.timeoutMs, error) : this.health.translate(error);
    } finally {
      this.busy = false;
      clearInterval(this.interrupting);
      if (this.reason) this.end();
    }
  }

  /**
   * Called when a streamed result's chunks have run out: throws the query's error if it failed
   * part-way (see checkStreamEnded), rather than let the rows read so far pass for all of them.
   */
  async checkEnded(sql: string): Promise<void> {
    await this.run((connection) => checkStreamEnded(connection, sql));
  }

  /** Gives the query a new read transaction, in place of one a failed statement aborted. */
  async beginAnew(): Promise<void> {
    await this.run(beginAnew);
  }

  stop(reason: StopReason): void {
    if (this.reason || this.ended) return;
    this.reason = reason;
    if (this.busy) this.interrupt();
    else this.end();
  }

  /** Gives the connection back (idempotent); a step still running is interrupted and gives it back when it returns. */
  end(): void {
    if (this.ended) return;
    if (this.busy) {
      this.reason ??= 'cancelled';
      this.interrupt();
      return;
    }
    this.ended = true;
    this.onEnd();
    if (!this.reading) {
      this.lent.release();
      return;
    }
    // The connection is lent again only once its transaction is over. A rollback that fails has
    // left the engine failed (EngineHealth), which the server answers by exiting.
    const release = (): void => this.lent.release();
    this.health.rollBack(this.lent.connection).then(release, release);
  }

  /** Interrupts the step running, again and again until it returns (see `keepInterrupting`). */
  private interrupt(): void {
    this.interrupting ??= keepInterrupting(this.lent.connection);
  }
}

const INTERRUPT_RETRY_MS = 50;

/**
 * Interrupts the statement running on a connection now and every INTERRUPT_RETRY_MS until the
 * timer it gives is cleared: an interrupt that arrives while DuckDB is still starting a statement
 * is forgotten when the statement begins.
 */
function keepInterrupting(connection: DuckDBConnection): NodeJS.Timeout {
  connection.interrupt();
  return setInterval(() => connection.interrupt(), INTERRUPT_RETRY_MS);
}

/** What stops work done outside a lease (see `runStopping`); each is optional. */
export interface StopSignals {
  timeoutMs?: number | undefined;
  /** Aborts when the server shuts down. */
  shutdown?: AbortSignal | undefined;
  /** Aborts when whoever asked has gone, or no longer wants it; a SluiceError as its reason is the error the work fails with. */
  cancel?: AbortSignal | undefined;
}

/**
 * Runs `work` on a connection, stopped as a lease's query is (see QueryLease): when the time limit
 * passes, the server shuts down or `cancel` aborts, DuckDB is interrupted, again and again until
 * `work` returns, which then fails saying why. For the server's own statements done for a client
 * outside a lease: the copy of a view an egress stream compares against, a delete job's condition.
 */
export async function runStopping<T>(connection: DuckDBConnection, stops: StopSignals, work: () => Promise<T>): Promise<T> {
  let reason: StopReason | null = null;
  let interrupting: NodeJS.Timeout | undefined;
  const failure = (why: StopReason, cause?: unknown): SluiceError => {
    const given: unknown = why === 'cancelled' ? stops.cancel?.reason : undefined;
    return given instanceof SluiceError ? given : stopError(why, stops.timeoutMs ?? 0, cause);
  };
  const stop = (why: StopReason): void => {
    if (reason) return;
    reason = why;
    interrupting = keepInterrupting(connection);
  };
  const onShutdown = (): void => stop('shutdown');
  const onCancel = (): void => stop('cancelled');
  if (stops.shutdown?.aborted) throw failure('shutdown');
  if (stops.cancel?.aborted) throw failure('cancelled');
  const timer = stops.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), stops.timeoutMs);
  stops.shutdown?.addEventListener('abort', onShutdown, { once: true });
  stops.cancel?.addEventListener('abort', onCancel, { once: true });
  try {
    const result = await work();
    if (reason) throw failure(reason);
    return result;
  } catch (error) {
    throw reason ? failure(reason, error) : error;
  } finally {
    clearTimeout(timer);
    clearInterval(interrupting);
    stops.shutdown?.removeEventListener('abort', onShutdown);
    stops.cancel?.removeEventListener('abort', onCancel);
  }
}

export function stopError(reason: StopReason, timeoutMs: number, cause?: unknown): SluiceError {
  switch (reason) {
    case 'timeout':
      return new SluiceError('RESOURCE_EXHAUSTED', `The query did not finish within the server's limit of ${timeoutMs / 1000} s and was stopped`, { timeoutMs }, { cause });
    case 'cancelled':
      return new SluiceError('UNAVAILABLE', 'The query was cancelled: its client went away', null, { cause });
    case 'shutdown':
      return new SluiceError('UNAVAILABLE', 'The server is shutting down: the query was stopped; retry it once the server is back', null, { cause });
  }
}
