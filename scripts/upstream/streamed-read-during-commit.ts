/**
 * DuckDB alone, no Sluice: a streamed query that sorts a table now and then returns rows of
 * another connection's commit half-written, when it starts while that commit appends to the table.
 *
 * One connection commits batches of new rows (id, 'c' || id) into a keyed table, deleting older
 * ones now and then; three others stream `SELECT id, tag FROM m ORDER BY id` again and again and
 * check that every row's tag is 'c' || id. With DuckDB 1.5.6 (`@duckdb/node-api` 1.5.6-r.1) on two
 * cores, a run (about 15 s) finds two or three torn reads of about 3,300, each holding a whole batch
 * of rows such as [0, 'c10\0\0'] where [1000, 'c1000'] was written. GROUP BY does it too; a plain
 * scan does not; nor does the same read begun by a statement of its own transaction.
 *
 *   npx tsx scripts/upstream/streamed-read-during-commit.ts            streamed autocommit reads: torn rows
 *   npx tsx scripts/upstream/streamed-read-during-commit.ts transaction  each read in BEGIN … ROLLBACK: none
 *   npx tsx scripts/upstream/streamed-read-during-commit.ts materialized  runAndReadAll: none
 *
 * Sluice reads users' queries in a transaction of their own (src/storage/duckdb/query-lease.ts)
 * for this reason; once a DuckDB release makes the first line print 0 torn reads run after run,
 * that transaction is a choice rather than a need. Exits 1 when it found torn reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

const mode = process.argv[2] ?? 'autocommit';
if (!['autocommit', 'transaction', 'materialized'].includes(mode)) throw new Error(`unknown mode ${mode}`);
const BATCH = 1000;
const COMMITS = 1500;
const QUERY = 'SELECT id, tag FROM m ORDER BY id';

const dir = mkdtempSync(join(tmpdir(), 'streamed-read-during-commit-'));
const instance = await DuckDBInstance.create(join(dir, 'x.duckdb'));
const writer = await instance.connect();
await writer.run("CREATE TABLE m (id BIGINT PRIMARY KEY, tag VARCHAR NOT NULL); INSERT INTO m SELECT i, 'c' || i FROM range(50) t(i)");

let writing = true;
let reads = 0;
let torn = 0;

async function write(): Promise<void> {
  let next = 1000;
  for (let commit = 0; commit < COMMITS; commit += 1) {
    await writer.run('BEGIN TRANSACTION');
    await writer.run(`INSERT INTO m SELECT i, 'c' || i FROM range(${next}, ${next + BATCH}) t(i)`);
    await writer.run('COMMIT');
    next += BATCH;
    if (commit % 5 === 4) await writer.run(`DELETE FROM m WHERE id >= 1000 AND id < ${next - 3 * BATCH}`);
  }
  writing = false;
}

async function readAll(connection: DuckDBConnection): Promise<DuckDBValue[][]> {
  if (mode === 'materialized') return (await connection.runAndReadAll(QUERY)).getRows();
  if (mode === 'transaction') await connection.run('BEGIN TRANSACTION');
  const result = await connection.stream(QUERY);
  const rows: DuckDBValue[][] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    rows.push(...chunk.getRows());
  }
  if (mode === 'transaction') await connection.run('ROLLBACK');
  return rows;
}

async function read(connection: DuckDBConnection): Promise<void> {
  while (writing) {
    const rows = await readAll(connection);
    reads += 1;
    const wrong = rows.filter(([id, tag]) => tag !== `c${id}`);
    if (wrong.length === 0) continue;
    torn += 1;
    if (torn <= 3) console.log(`torn read: ${wrong.length} of ${rows.length} rows, such as`, wrong.slice(0, 3));
  }
}

const readers = await Promise.all([1, 2, 3].map(() => instance.connect()));
await Promise.all([write(), ...readers.map(read)]);
console.log(`${torn} torn reads of ${reads} (${mode})`);
for (const connection of [writer, ...readers]) connection.closeSync();
instance.closeSync();
rmSync(dir, { recursive: true, force: true });
process.exitCode = torn > 0 ? 1 : 0;
