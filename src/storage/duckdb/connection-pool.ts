import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/**
 * A bounded set of connections to one DuckDB instance. Callers borrow a connection for the length
 * of one unit of work; when all are busy they wait in arrival order.
 */
export class ConnectionPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: Array<(connection: DuckDBConnection) => void> = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly size: number,
  ) {}

  async use<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    try {
      return await work(connection);
    } finally {
      this.release(connection);
    }
  }

  private async acquire(): Promise<DuckDBConnection> {
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
    return new Promise((resolve) => this.waiting.push(resolve));
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
