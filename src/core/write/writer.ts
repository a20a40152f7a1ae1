import { SluiceError } from '../errors.ts';
import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { WriteRequest, WriteResult } from './write-command.ts';
import type { WriteLog } from './write-log.ts';
import { WriteQueue, type WriteStats } from './write-queue.ts';

/** Routes each write to its table's queue; writes to different tables proceed concurrently. */
export class Writer {
  private readonly queues = new Map<string, WriteQueue>();
  private accepting = true;
  readonly stats: WriteStats = { commits: 0, directWrites: 0, directMisses: 0 };

  constructor(
    private readonly storage: DuckDBStorage,
    private readonly catalog: Catalog,
    readonly log: WriteLog,
    private readonly maxPendingPerTable = 10_000,
  ) {}

  write(request: WriteRequest): Promise<WriteResult> {
    if (!this.accepting) return Promise.reject(new SluiceError('UNAVAILABLE', 'The server is shutting down'));
    // A quarantine table is also written (and changed) by its table's writes: a write of its own (a
    // delete) takes its table's turn, so that the two never commit at once.
    const parentId = request.table.parentId;
    if (parentId !== null) return this.exclusive([parentId], () => this.queueOf(request.table.id).submit(request));
    return this.queueOf(request.table.id).submit(request);
  }

  /**
   * Runs `work` alone on some tables, between their writes (see `WriteQueue.exclusive`): it takes a
   * turn in every table's queue at once, and runs when it holds them all. As turns are queued in
   * one go, two such works meet in the same order in every queue and cannot wait on each other.
   */
  async exclusive<T>(tableIds: readonly string[], work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const turns = tableIds.map((id) => new Promise<void>((taken) => {
      void this.queueOf(id).exclusive(() => {
        taken();
        return released;
      });
    }));
    try {
      await Promise.all(turns);
      return await work();
    } finally {
      release();
    }
  }

  private queueOf(tableId: string): WriteQueue {
    let queue = this.queues.get(tableId);
    if (!queue) {
      queue = new WriteQueue(tableId, this.storage, this.catalog, this.log, this.stats, this.maxPendingPerTable);
      this.queues.set(tableId, queue);
    }
    return queue;
  }

  /** Stops taking writes and waits until every queued write has been committed or failed. */
  async drain(): Promise<void> {
    this.accepting = false;
    while ([...this.queues.values()].some((queue) => !queue.idle)) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
