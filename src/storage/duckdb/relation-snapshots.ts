import type { DuckDBConnection, DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import type { CommitGate } from './commit-gate.ts';
import type { ConnectionPool } from './connection-pool.ts';
import { translateDuckDBError } from './duckdb-errors.ts';
import { runStopping, type StopSignals } from './query-lease.ts';
import { quoteIdentifier } from './sql.ts';

/**
 * The in-memory database that holds snapshots, attached to the instance at start: snapshots are
 * copies of what a client has been sent, rebuilt on every start, so they never reach the database
 * file, its write-ahead log or its checkpoints. DuckDB spills it to the temp folder under pressure.
 */
export const SNAPSHOT_DATABASE = 'sluice_snapshots';
/** Run once at start, before the instance's configuration is locked. */
export const ATTACH_SNAPSHOTS = `ATTACH ':memory:' AS ${SNAPSHOT_DATABASE}`;

/** Which rows of a snapshot to read: all it holds, or those its last refresh added or removed. */
export type SnapshotPart = 'rows' | 'added' | 'removed';

export interface SnapshotCounts {
  added: number;
  removed: number;
}

/**
 * Snapshots of relations (tables or views, given as a SELECT), each refreshed on demand into the
 * rows that entered and left it since: `relation EXCEPT ALL snapshot` and the reverse, as
 * multisets, computed in one transaction from a new copy of the relation that then replaces the
 * snapshot, so that the two differences and the new snapshot all see the same committed state. A
 * refresh reads the whole relation once: its cost grows with the relation, not with the change.
 */
export class RelationSnapshots {
  private next = 0;
  private readonly shutdown = new AbortController();

  /** `pool`'s connections are the snapshots' own, over an instance where ATTACH_SNAPSHOTS has run. */
  constructor(
    private readonly pool: ConnectionPool,
    /** A copy reads the database's tables: not while a large commit holds the gate (see CommitGate). */
    private readonly gate: CommitGate,
    /** A copy evaluates the relation, a view perhaps costly: it is stopped after this long, as a query is. */
    private readonly timeoutMs: number,
  ) {}

  /**
   * Copies the relation's current rows into a new snapshot. `beforeCopy` runs just before the
   * copy's transaction starts: what had committed by then is in the copy. The snapshot's copies
   * are stopped, as queries are, past the time limit, at shutdown, or when `cancel` aborts.
   */
  async take(relationSql: string, beforeCopy: () => void = () => {}, cancel?: AbortSignal): Promise<RelationSnapshot> {
    this.next += 1;
    const snapshot = new RelationSnapshot(this.pool, this.gate, relationSql, `s${this.next}`, { timeoutMs: this.timeoutMs, shutdown: this.shutdown.signal, cancel });
    await snapshot.copy(beforeCopy);
    return snapshot;
  }

  /** Stops every copy running now and refuses new ones: the server is shutting down. */
  stopAll(): void {
    this.shutdown.abort();
  }

  close(): void {
    this.pool.close();
  }
}

/** One relation's snapshot and the differences of its last refresh (see RelationSnapshots). */
export class RelationSnapshot {
  private counts: Record<SnapshotPart, number> = { rows: 0, added: 0, removed: 0 };
  private dropped = false;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly gate: CommitGate,
    private readonly relationSql: string,
    private readonly id: string,
    private readonly stops: StopSignals,
  ) {}

  /** How many rows the part holds. */
  count(part: SnapshotPart): number {
    return this.counts[part];
  }

  async copy(beforeCopy: () => void): Promise<void> {
    await this.inTransaction(beforeCopy, async (connection) => {
      await this.copyRelation(connection, this.name('rows'));
      return { rows: await countRows(connection, this.name('rows')), added: 0, removed: 0 };
    });
  }

  /**
   * Replaces the snapshot with the relation's current rows, keeping those that entered and left it
   * since the last copy for `read`. `beforeRefresh` runs just before its transaction starts.
   */
  async refresh(beforeRefresh: () => void = () => {}): Promise<SnapshotCounts> {
    await this.inTransaction(beforeRefresh, async (connection) => {
      const rows = this.name('rows');
      const next = this.name('next');
      // The relation (a view, perhaps costly) is evaluated once; the differences compare copies.
      await this.copyRelation(connection, next);
      await connection.run(`CREATE OR REPLACE TABLE ${this.name('added')} AS FROM ${next} EXCEPT ALL FROM ${rows}`);
      await connection.run(`CREATE OR REPLACE TABLE ${this.name('removed')} AS FROM ${rows} EXCEPT ALL FROM ${next}`);
      await connection.run(`DROP TABLE ${rows}`);
      await connection.run(`ALTER TABLE ${next} RENAME TO ${quoteIdentifier(this.bareName('rows'))}`);
      return {
        rows: await countRows(connection, rows),
        added: await countRows(connection, this.name('added')),
        removed: await countRows(connection, this.name('removed')),
      };
    });
    return { added: this.counts.added, removed: this.counts.removed };
  }

  /**
   * Reads `count` rows of a part from position `start`, handing DuckDB's chunks to `take`. A
   * snapshot's tables are only ever created whole, so their row ids run from 0 without gaps and a
   * range of them is a page, found without scanning the rows before it.
   */
  async read<T>(part: SnapshotPart, start: number, count: number, take: (chunk: DuckDBDataChunk, types: DuckDBType[]) => T): Promise<T[]> {
    return this.pool.use(async (connection) => {
      try {
        const result = await connection.run(`SELECT * FROM ${this.name(part)} WHERE rowid >= ${start} AND rowid < ${start + count} ORDER BY rowid`);
        const types = result.columnTypes();
        const taken: T[] = [];
        for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) taken.push(take(chunk, types));
        return taken;
      } catch (error) {
        throw translateDuckDBError(error);
      }
    });
  }

  /** The snapshot's column names and types. */
  async describe(): Promise<{ names: string[]; types: DuckDBType[] }> {
    return this.pool.use(async (connection) => {
      const result = await connection.run(`SELECT * FROM ${this.name('rows')} LIMIT 0`);
      return { names: result.columnNames(), types: result.columnTypes() };
    });
  }

  async drop(): Promise<void> {
    if (this.dropped) return;
    this.dropped = true;
    await this.pool.use(async (connection) => {
      for (const table of ['rows', 'added', 'removed', 'next'] as const) await connection.run(`DROP TABLE IF EXISTS ${this.name(table)}`);
    }).catch(() => undefined);
  }

  /** Copies the relation's rows into a table of the snapshot. */
  private async copyRelation(connection: DuckDBConnection, table: string): Promise<void> {
    await this.gate.read(() => connection.run(`CREATE OR REPLACE TABLE ${table} AS (${this.relationSql})`));
  }

  /** A table of the snapshot: one of its parts, or the copy a refresh takes before it becomes `rows`. */
  private name(table: SnapshotPart | 'next'): string {
    return `${SNAPSHOT_DATABASE}.${quoteIdentifier(this.bareName(table))}`;
  }

  private bareName(table: SnapshotPart | 'next'): string {
    return `${this.id}_${table}`;
  }

  private async inTransaction(before: () => void, work: (connection: DuckDBConnection) => Promise<Record<SnapshotPart, number>>): Promise<void> {
    await this.pool.use(async (connection) => {
      before();
      try {
        await runStopping(connection, this.stops, async () => {
          // Inside: a BEGIN that fails for want of memory may have begun the transaction all the same.
          await connection.run('BEGIN TRANSACTION');
          const counts = await work(connection);
          await connection.run('COMMIT');
          this.counts = counts;
        });
      } catch (error) {
        await this.pool.health.rollBack(connection);
        throw translateDuckDBError(error);
      }
    });
  }
}

async function countRows(connection: DuckDBConnection, table: string): Promise<number> {
  const reader = await connection.runAndReadAll(`SELECT count(*) FROM ${table}`);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}
