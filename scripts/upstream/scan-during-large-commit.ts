/**
 * DuckDB alone, no Sluice: a reader that scans a table while a transaction commits that deleted
 * the table's rows and inserted a row group or more (122,880 rows) in their place counts the old
 * rows and the new ones together, whatever its snapshot: the new rows, written to the file ahead of
 * the commit, show before the deleted ones are gone. Below a row group, or between commits, every
 * count is right.
 *
 * One connection overwrites a table of 1,000 rows with `rows` new ones and back, in one transaction
 * each; another counts the table again and again. With DuckDB 1.5.6 (`@duckdb/node-api` 1.5.6-r.1)
 * on two cores, 300,000 rows give a handful of counts of 301,000 in a run of a few seconds, and
 * 100,000 rows none.
 *
 *   npx tsx scripts/upstream/scan-during-large-commit.ts            300,000 rows: mixed counts
 *   npx tsx scripts/upstream/scan-during-large-commit.ts 100000     less than a row group: none
 *
 * Sluice holds its reads off while such a commit runs (src/storage/duckdb/commit-gate.ts); once a
 * DuckDB release makes this print no mixed count run after run, the gate can go. Exits 1 when it
 * found mixed counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const rows = Number(process.argv[2] ?? 300_000);
const OLD_ROWS = 1000;
const ROUNDS = 6;

const dir = mkdtempSync(join(tmpdir(), 'duckdb-large-commit-'));
try {
  const instance = await DuckDBInstance.create(join(dir, 'test.duckdb'));
  const writer = await instance.connect();
  const reader = await instance.connect();
  await writer.run('CREATE TABLE t (id BIGINT, v VARCHAR)');
  await writer.run(`CREATE TABLE new_rows AS SELECT i AS id, 'new' || i AS v FROM range(${rows}) r(i)`);
  const overwrite = async (source: string) => {
    await writer.run('BEGIN TRANSACTION');
    await writer.run('DELETE FROM t');
    await writer.run(`INSERT INTO t ${source}`);
    await writer.run('COMMIT');
  };
  const oldRows = `SELECT i + 10000000, 'old' FROM range(${OLD_ROWS}) r(i)`;
  await overwrite(oldRows);

  const counts = new Map<number, number>();
  let writing = true;
  const reading = (async () => {
    while (writing) {
      const count = Number((await reader.runAndReadAll('SELECT count(*) FROM t')).getRows()[0]![0]);
      counts.set(count, (counts.get(count) ?? 0) + 1);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  for (let round = 0; round < ROUNDS; round += 1) {
    await overwrite('SELECT * FROM new_rows');
    await overwrite(oldRows);
  }
  writing = false;
  await reading;
  const mixed = [...counts].filter(([count]) => count !== OLD_ROWS && count !== rows);
  console.log(`${rows} rows: counts ${JSON.stringify(Object.fromEntries(counts))}; ${mixed.reduce((sum, [, times]) => sum + times, 0)} mixed`);
  writer.closeSync();
  reader.closeSync();
  instance.closeSync();
  process.exitCode = mixed.length > 0 ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
