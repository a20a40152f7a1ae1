/**
 * Keeps the database's readers and its large commits apart. DuckDB 1.5.6 shows a reader that scans
 * a table while a transaction that wrote a row group or more into it commits (the rows written
 * ahead of the commit, straight to the file) the new rows before the rows that transaction deleted
 * are gone: a reader of a table being overwritten counts the old rows and the new ones together,
 * whatever its snapshot. Before and after the commit every reader sees what it should; see
 * scripts/upstream/scan-during-large-commit.ts, which shows it with DuckDB alone.
 *
 * So a large commit waits for the reads running to finish their step and holds new ones off until
 * it is done (it waits ahead of reads that arrive after it, so that a stream of reads cannot keep
 * it waiting); large commits take turns. Small commits, the many of the Events API, pass freely:
 * their rows are never written ahead. A read step may be long (a costly query, a snapshot of a
 * costly view): the commit waits for the steps running at most READS_WAIT_MS, then goes ahead, so
 * that one slow read never holds every other read off with it. Such a step, still running, may
 * see the commit half-made: a risk left to the longest reads, until DuckDB mends it.
 */
export class CommitGate {
  private reads = 0;
  /** Settles when the large commit holding the gate, or waiting for it, is done. */
  private commit: Promise<void> | undefined;
  private readsDone: (() => void) | undefined;

  /** Runs a read of the database's tables (a query's step, a snapshot's copy) once no large commit holds the gate. */
  async read<T>(work: () => Promise<T>): Promise<T> {
    while (this.commit) await this.commit;
    this.reads += 1;
    try {
      return await work();
    } finally {
      this.reads -= 1;
      if (this.reads === 0) this.readsDone?.();
    }
  }

  /** Runs a large transaction's commit once the reads running are done, holding new reads off meanwhile. */
  async largeCommit<T>(work: () => Promise<T>): Promise<T> {
    while (this.commit) await this.commit;
    let done!: () => void;
    this.commit = new Promise<void>((resolve) => (done = resolve));
    try {
      if (this.reads > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.readsDone = resolve;
          timer = setTimeout(resolve, READS_WAIT_MS);
        });
        clearTimeout(timer);
      }
      this.readsDone = undefined;
      return await work();
    } finally {
      this.commit = undefined;
      done();
    }
  }
}

/**
 * A transaction that changed this many rows commits through the gate. DuckDB writes a table's new
 * rows ahead of the commit once they fill a row group (122,880 rows); deleted rows count too, to be
 * safe, as they are what readers must not see half-removed.
 */
export const LARGE_COMMIT_ROWS = 100_000;

/** How long a large commit waits for the read steps running before it goes ahead all the same. */
export const READS_WAIT_MS = 1000;
