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
 * One row per committed write, kept until the next `prune` (a write with an idempotency key, for the
 * retention period). It is where
 * idempotency keys (with the request's hash and the first response) and completion sequences live;
 * both are read back at start, so they survive restarts. Recent idempotency keys are also held in
 * memory for the hot path.
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
    const [last] = await storage.query(`SELECT coalesce(max(sequence), 0) AS last FROM ${CATALOG_SCHEMA}.write_log`);
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

  /** Records the committed writes of one transaction, in one statement whatever their number. */
  async record(tx: Transaction, entries: Array<{ result: WriteResult; idempotency?: { key: string; requestHash: string } | undefined }>): Promise<void> {
    if (entries.length === 0) return;
    const createdAt = new Date();
    // Through an appender: a multi-row INSERT costs DuckDB milliseconds to bind, an append microseconds.
    const timestamp = new DuckDBTimestampValue(BigInt(createdAt.getTime()) * 1000n);
    await tx.appendKept('write_log', CATALOG_SCHEMA, (appender) => {
      const text = (value: string | null | undefined) => (value === null || value === undefined ? appender.appendNull() : appender.appendVarchar(value));
      for (const { result, idempotency } of entries) {
        appender.appendVarchar(result.writeId);
        appender.appendVarchar(result.tableId);
        appender.appendVarchar(result.kind);
        for (const count of [result.rowsInserted, result.rowsUpdated, result.rowsDeleted, result.rowsQuarantined, result.version, result.sequence]) appender.appendBigInt(BigInt(count));
        text(idempotency?.key);
        text(idempotency?.requestHash);
        text(idempotency ? JSON.stringify(result) : null);
        appender.appendTimestamp(timestamp);
        appender.endRow();
      }
    });
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
   * Drops the writes nothing will read again: those without an idempotency key, whatever their
   * age, and those with one once older than the retention period, past which the key is no longer
   * answered. Without it the log would grow by a row per request (a stream of 1-row events writes
   * hundreds of millions a day). The latest write stays, whatever its age: start-up reads the last
   * sequence from it.
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
