import type { DuckDBStorage, Transaction } from '../../storage/duckdb/duckdb-storage.ts';
import { DuckDBTimestampValue } from '@duckdb/node-api';
import { CATALOG_SCHEMA } from '../catalog/migrations.ts';
import type { WriteResult } from './write-command.ts';

export type CommitListener = (tableId: string, sequence: number) => void;

interface IdempotencyRecord {
  requestHash: string;
  result: WriteResult;
  createdAt: Date;
}

/**
 * Idempotency keys and completion sequences, both read back at start so that they survive restarts.
 * A write with an idempotency key is logged with the request's hash and the first response, for the
 * retention period (see `prune`); recent keys are also held in memory for the hot path. Each write
 * gets the next sequence; the last one handed out is found at start from the catalog, where each
 * commit records its table's last sequence (a dropped table's goes to the log), and from the log.
 * A write without a key adds no row: an appender's flush into one more table took about 0.6 ms of
 * the event loop's time in every commit, a sixth of all it spent under a stream of 1-row events.
 */
export class WriteLog {
  private readonly keys = new Map<string, IdempotencyRecord>();
  private lastAllocated: number;
  private committedThrough: number;
  private readonly committedAhead = new Set<number>();
  private readonly commitListeners = new Set<CommitListener>();

  private constructor(
    private readonly storage: DuckDBStorage,
    private readonly retentionMs: number,
    lastSequence: number,
  ) {
    this.lastAllocated = lastSequence;
    this.committedThrough = lastSequence;
  }

  static async open(storage: DuckDBStorage, retentionHours: number): Promise<WriteLog> {
    const [last] = await storage.query(
      `SELECT greatest((SELECT coalesce(max(sequence), 0) FROM ${CATALOG_SCHEMA}.write_log), (SELECT coalesce(max(last_sequence), 0) FROM ${CATALOG_SCHEMA}.tables)) AS last`,
    );
    const log = new WriteLog(storage, retentionHours * 3_600_000, Number(last?.['last'] ?? 0));
    const since = new Date(Date.now() - log.retentionMs).toISOString();
    const rows = await storage.query(
      `SELECT table_id, idempotency_key, request_hash, response, created_at FROM ${CATALOG_SCHEMA}.write_log
       WHERE idempotency_key IS NOT NULL AND created_at >= ?`,
      [since],
    );
    for (const row of rows) {
      log.keys.set(keyOf(String(row['table_id']), String(row['idempotency_key'])), {
        requestHash: String(row['request_hash']),
        result: JSON.parse(String(row['response'])) as WriteResult,
        createdAt: row['created_at'] as Date,
      });
    }
    return log;
  }

  findIdempotent(tableId: string, key: string): IdempotencyRecord | undefined {
    const record = this.keys.get(keyOf(tableId, key));
    if (record && Date.now() - record.createdAt.getTime() > this.retentionMs) {
      this.keys.delete(keyOf(tableId, key));
      return undefined;
    }
    return record;
  }

  allocateSequence(): number {
    this.lastAllocated += 1;
    return this.lastAllocated;
  }

  /** The highest sequence such that it and every sequence below it have committed. */
  get completedThrough(): number {
    return this.committedThrough;
  }

  get lastSequence(): number {
    return this.lastAllocated;
  }

  /**
   * Records the writes of one transaction, once it commits: those with an idempotency key are
   * logged, in one append whatever their number. (Their table's catalog entry holds the sequence.)
   */
  async record(tx: Transaction, entries: Array<{ result: WriteResult; idempotency?: { key: string; requestHash: string } | undefined }>): Promise<void> {
    const createdAt = new Date();
    const keyed = entries.flatMap(({ result, idempotency }) => (idempotency ? [{ result, idempotency }] : []));
    // Through an appender: a multi-row INSERT costs DuckDB milliseconds to bind, an append less than one.
    const timestamp = new DuckDBTimestampValue(BigInt(createdAt.getTime()) * 1000n);
    if (keyed.length > 0) {
      await tx.appendKept('write_log', CATALOG_SCHEMA, (appender) => {
        for (const { result, idempotency } of keyed) {
          for (const text of [result.writeId, result.tableId, result.kind]) appender.appendVarchar(text);
          for (const count of [result.rowsInserted, result.rowsUpdated, result.rowsDeleted, result.rowsQuarantined, result.version, result.sequence]) appender.appendBigInt(BigInt(count));
          for (const text of [idempotency.key, idempotency.requestHash, JSON.stringify(result)]) appender.appendVarchar(text);
          appender.appendTimestamp(timestamp);
          appender.endRow();
        }
      });
    }
    tx.afterCommit(() => {
      for (const { result, idempotency } of entries) {
        if (idempotency) this.keys.set(keyOf(result.tableId, idempotency.key), { requestHash: idempotency.requestHash, result, createdAt });
        for (const listener of this.commitListeners) listener(result.tableId, result.sequence);
      }
    });
  }

  /**
   * Calls `listener` with each write's table and sequence as soon as its transaction has
   * committed (before its sequence settles); returns what stops the calls.
   */
  onCommit(listener: CommitListener): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** Marks sequences as settled (committed, or abandoned by a rolled-back write), advancing the watermark. */
  settle(sequences: number[]): void {
    for (const sequence of sequences) this.committedAhead.add(sequence);
    while (this.committedAhead.has(this.committedThrough + 1)) {
      this.committedThrough += 1;
      this.committedAhead.delete(this.committedThrough);
    }
  }

  /**
   * Drops the entries nothing will read again: writes with an idempotency key once older than the
   * retention period, past which the key is no longer answered, and entries without one (a dropped
   * table's last sequence, or a write logged by an earlier version of Sluice, which logged every
   * write). The latest entry stays, whatever its age: start-up may read the last sequence from it.
   */
  async prune(): Promise<void> {
    const before = new Date(Date.now() - this.retentionMs);
    await this.storage.transaction((tx) =>
      tx.run(
        `DELETE FROM ${CATALOG_SCHEMA}.write_log WHERE (idempotency_key IS NULL OR created_at < ?)
           AND sequence < (SELECT max(sequence) FROM ${CATALOG_SCHEMA}.write_log)`,
        [before.toISOString()],
      ),
    );
    for (const [key, record] of this.keys) if (record.createdAt < before) this.keys.delete(key);
  }
}

function keyOf(tableId: string, key: string): string {
  return `${tableId}\u0000${key}`;
}
