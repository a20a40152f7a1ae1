import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { EngineHealth } from './engine-health.ts';

/** A connection lent by a pool until `release` is called (once). */
export interface PooledConnection {
  connection: DuckDBConnection;
  release(): void;
}

/**
 * A bounded set of connections to one DuckDB instance. Callers borrow a connection for the length
 * of one unit of work; when all are busy they wait in arrival order. Once the engine has failed
 * beyond repair (see `EngineHealth`), no connection is lent.
 */
export class ConnectionPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: Array<(connection: DuckDBConnection) => void> = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly size: number,
    /** Whether DuckDB can still be trusted, shared by every pool of the instance. */
    readonly health: EngineHealth,
  ) {}

  async use<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const { connection, release } = await this.lend();
    try {
      return await work(connection);
    } catch (error) {
      this.health.note(error);
      throw error;
    } finally {
      release();
    }
  }

  /**
   * Lends a connection for work that outlives one callback. A caller that stops waiting (its
   * `signal` aborts) leaves the queue, and the promise rejects with the signal's reason.
   */
  async lend(signal?: AbortSignal): Promise<PooledConnection> {
    signal?.throwIfAborted();
    this.health.check();
    const connection = await this.acquire(signal);
    try {
      // The engine may have failed while this caller waited.
      this.health.check();
    } catch (error) {
      this.release(connection);
      throw error;
    }
    let released = false;
    return {
      connection,
      release: () => {
        if (released) return;
        released = true;
        this.release(connection);
      },
    };
  }

  private async acquire(signal: AbortSignal | undefined): Promise<DuckDBConnection> {
    if (this.closed) throw new Error('connection pool is closed');
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.open < this.size) {
      this.open += 1;
      try {
        return await this.instance.connect();
      } catch (error) {
        this.open -= 1;
        throw error;
      }
    }
    return new Promise((resolve, reject) => {
      const take = (connection: DuckDBConnection): void => {
        signal?.removeEventListener('abort', leave);
        resolve(connection);
      };
      const leave = (): void => {
        const index = this.waiting.indexOf(take);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.waiting.push(take);
    });
  }

  private release(connection: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next) next(connection);
    else if (this.closed) {
      connection.closeSync();
      this.open -= 1;
    } else this.idle.push(connection);
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) {
      connection.closeSync();
      this.open -= 1;
    }
  }
}
