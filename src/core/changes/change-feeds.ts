import type { DuckDBStorage } from '../../storage/duckdb/duckdb-storage.ts';
import type { RelationSnapshot, SnapshotPart } from '../../storage/duckdb/relation-snapshots.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { linkedSignal } from '../linked-signal.ts';
import type { Table } from '../catalog/model.ts';
import { ChunkReader } from '../query/chunk-reader.ts';
import type { SqlValue } from '../query/sql-values.ts';
import type { WriteLog } from '../write/write-log.ts';

/** Rows that entered (+1) or left (−1) a relation. */
export interface ChangeBatch {
  weight: 1 | -1;
  rows: SqlValue[][];
}

export interface FeedOptions {
  /** Begin with the relation's current rows, as rows that entered it. */
  snapshot: boolean;
  /** Aborts when the reader has gone: a copy running then (the first one too) is stopped. */
  signal?: AbortSignal | undefined;
}

/** Rows read and passed on at a time: a page of a snapshot's part. */
export const PAGE_ROWS = 2048;

/**
 * The open change feeds: each follows one table or view and passes on the rows that enter and
 * leave it, commit after commit. A feed keeps a snapshot of what it has passed on and, once a
 * commit may have changed its relation, compares the relation with it (see RelationSnapshots);
 * commits that land while it compares or while its reader is busy are compared together next
 * time. A feed of a table follows that table's commits; a feed of a view, the commits to the
 * tables it reads.
 */
export class ChangeFeeds {
  private readonly feeds = new Set<ChangeFeed>();

  constructor(
    private readonly storage: DuckDBStorage,
    private readonly catalog: Catalog,
    log: WriteLog,
  ) {
    log.onCommit((tableId, sequence) => {
      for (const feed of this.feeds) if (this.mayChange(feed.relation, tableId)) feed.noteCommit(sequence);
    });
  }

  /**
   * Whether a commit to a table may change a relation: the table itself, or a view that reads
   * it, directly or through other views. Only those are compared again: a view evaluated afresh
   * may differ in ways no commit made (a floating-point sum's last digits, `NOW()`).
   */
  private mayChange(relation: Table, tableId: string): boolean {
    const pending = [relation.id];
    const seen = new Set<string>();
    for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
      if (id === tableId) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      pending.push(...(this.catalog.findTableById(id)?.definition?.reads ?? []));
    }
    return false;
  }

  /**
   * Opens a feed of a relation's changes. `relationSql` selects its rows as the reader may see
   * them (a guarded query: row filters applied); commits from now on are followed.
   */
  async open(relation: Table, relationSql: string, options: FeedOptions): Promise<ChangeFeed> {
    const feed = new ChangeFeed(relation, () => this.feeds.delete(feed));
    // Followed before the first copy is taken, so that no commit falls between the two.
    this.feeds.add(feed);
    try {
      await feed.start(this.storage, relationSql, options);
    } catch (error) {
      await feed.close();
      throw error;
    }
    return feed;
  }

  /**
   * Whether every open feed of the namespace has passed on every change up to `sequence`: no
   * commit at or below it that changed a feed's relation waits to be compared or read out.
   */
  reflects(namespaceId: string, sequence: number): boolean {
    return [...this.feeds].every((feed) => feed.relation.namespaceId !== namespaceId || feed.reflects(sequence));
  }

  /** Ends the feeds of a namespace (a pipeline stopped): their readers see the end at once. */
  async closeNamespace(namespaceId: string): Promise<void> {
    await Promise.all([...this.feeds].filter((feed) => feed.relation.namespaceId === namespaceId).map((feed) => feed.close()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.feeds].map((feed) => feed.close()));
  }
}

/** A page of a snapshot part still to pass on. */
interface Page {
  part: SnapshotPart;
  start: number;
  weight: 1 | -1;
}

/** One reader's feed of a relation's changes (see ChangeFeeds); read it with `next`, end it with `close`. */
export class ChangeFeed {
  private snapshot: RelationSnapshot | null = null;
  private reader: ChunkReader | null = null;
  /** The column names of the relation's rows, in order. */
  names: string[] = [];
  private pages: Page[] = [];
  /** The lowest sequence of the commits noted since the last comparison started; null: none. */
  private noted: number | null = null;
  /** The lowest sequence of the commits whose changes are being compared or read out; null: none. */
  private inHand: number | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  /** Aborted when the feed closes: a copy running then is stopped. */
  private readonly stopped = new AbortController();

  constructor(
    readonly relation: Table,
    private readonly forget: () => void,
  ) {}

  /** Takes the first snapshot: its rows are the first pages when the reader asked for them. */
  async start(storage: DuckDBStorage, relationSql: string, options: FeedOptions): Promise<void> {
    // Both signals live as long as the feed or its request: nothing long-lived keeps the link.
    const { signal } = linkedSignal(options.signal ? [this.stopped.signal, options.signal] : [this.stopped.signal]);
    this.snapshot = await storage.snapshots.take(relationSql, () => (this.noted = null), signal);
    const { names, types } = await this.snapshot.describe();
    this.names = names;
    this.reader = new ChunkReader(types, storage.resultMemoryBytes);
    if (options.snapshot) this.pages = pagesOf('rows', this.snapshot.count('rows'), 1);
  }

  noteCommit(sequence: number): void {
    this.noted = this.noted === null ? sequence : Math.min(this.noted, sequence);
    this.wake?.();
  }

  /**
   * Whether the feed was closed while it passed a change on: part of that change may have gone to
   * its reader and the rest never will, so the reader must not take the end for a clean one.
   */
  get cutShort(): boolean {
    return this.closed && this.inHand !== null;
  }

  reflects(sequence: number): boolean {
    return (this.noted === null || this.noted > sequence) && (this.inHand === null || this.inHand > sequence);
  }

  /**
   * The next rows to pass on: those of the first snapshot, then the changes of each commit that
   * changed the relation, compared when asked for. With nothing to pass on for `idleMs`, 'idle';
   * once the feed is closed, null. A reader that asks only when it can take more holds the
   * changes back (they are then passed on together); `reflects` stays false meanwhile.
   */
  async next(idleMs: number): Promise<ChangeBatch | 'idle' | null> {
    try {
      return await this.nextNow(idleMs);
    } catch (error) {
      // Closing drops the snapshot under a comparison or a read that may still be running.
      if (this.closed) return null;
      throw error;
    }
  }

  private async nextNow(idleMs: number): Promise<ChangeBatch | 'idle' | null> {
    for (;;) {
      if (this.closed) return null;
      const page = this.pages.shift();
      if (page) {
        const rows = await this.read(page);
        if (this.pages.length === 0) this.inHand = null;
        if (rows.length > 0) return { weight: page.weight, rows };
        continue;
      }
      if (this.noted !== null) {
        const counts = await this.snapshot!.refresh(() => {
          this.inHand = this.noted;
          this.noted = null;
        });
        this.pages = [...pagesOf('removed', counts.removed, -1), ...pagesOf('added', counts.added, 1)];
        if (this.pages.length === 0) this.inHand = null;
        continue;
      }
      if (!(await this.changeWithin(idleMs))) return this.closed ? null : 'idle';
    }
  }

  /** Ends the feed: a pending `next` resolves null, and the snapshot is dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopped.abort();
    this.forget();
    this.wake?.();
    await this.snapshot?.drop();
  }

  private async read(page: Page): Promise<SqlValue[][]> {
    const reader = this.reader!;
    const batches = await this.snapshot!.read(page.part, page.start, PAGE_ROWS, (chunk) => [...reader.batches(chunk)].flat());
    return batches.flat();
  }

  /** Waits for a commit to note, or for the feed to close: true; or for `idleMs` to pass: false. */
  private changeWithin(idleMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(false), idleMs);
      const settle = (changed: boolean): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve(changed);
      };
      this.wake = () => settle(true);
    });
  }
}

function pagesOf(part: SnapshotPart, rows: number, weight: 1 | -1): Page[] {
  return Array.from({ length: Math.ceil(rows / PAGE_ROWS) }, (_, index) => ({ part, start: index * PAGE_ROWS, weight }));
}
