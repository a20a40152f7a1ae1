import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Float64, Int64, RecordBatch, Table, TimestampMicrosecond, Utf8, makeData, tableToIPC, vectorFromArray } from 'apache-arrow';
import type { Column } from '../../../../src/core/catalog/model.ts';
import { decodeArrowIpc } from '../../../../src/core/ingest/decoders/arrow-ipc.ts';

// rss is read after a full collection, so that it measures what is held rather than garbage not yet
// collected; the test runner gives no way to pass --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const rssMegabytes = (): number => {
  collectGarbage();
  return process.memoryUsage().rss / 1e6;
};

const BATCH_ROWS = 10_000;
const BATCHES = 150;
const START_MICROS = 1704164645123456n;

function batchAt(number: number): RecordBatch {
  const ids = new BigInt64Array(BATCH_ROWS);
  const values = new Float64Array(BATCH_ROWS);
  const times = new BigInt64Array(BATCH_ROWS);
  const names: string[] = [];
  for (let index = 0; index < BATCH_ROWS; index += 1) {
    const id = number * BATCH_ROWS + index;
    ids[index] = BigInt(id);
    values[index] = id / 7;
    times[index] = START_MICROS + BigInt(id);
    names.push(`name-${id}`);
  }
  return new RecordBatch({
    id: makeData({ type: new Int64(), length: BATCH_ROWS, data: ids }),
    name: vectorFromArray(names, new Utf8()).data[0]!,
    value: makeData({ type: new Float64(), length: BATCH_ROWS, data: values }),
    at: makeData({ type: new TimestampMicrosecond(), length: BATCH_ROWS, data: times }),
  });
}

/**
 * An Arrow stream produced batch by batch as it is read, never whole: the schema message, then each
 * batch's message cut from a one-batch stream, then the end-of-stream marker.
 */
async function* generateStream(): AsyncGenerator<Buffer> {
  for (let number = 0; number < BATCHES; number += 1) {
    const bytes = Buffer.from(tableToIPC(new Table([batchAt(number)]), 'stream'));
    const schemaLength = 8 + bytes.readInt32LE(4);
    if (number === 0) yield bytes.subarray(0, schemaLength);
    yield bytes.subarray(schemaLength, bytes.length - 8);
  }
  yield Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
}

const COLUMNS: Column[] = ['id', 'name', 'value', 'at'].map((name) => ({ name, type: { kind: 'string' }, nullable: true }));

test('a 1.5 million row stream decodes in bounded memory: rss stays flat while rows stream through', async () => {
  const baseline = rssMegabytes();
  const checkpoints: number[] = [];
  let rows = 0;
  let lastRow: Array<string | null> | undefined;
  for await (const batch of decodeArrowIpc(Readable.from(generateStream()), COLUMNS, { caseInsensitive: false })) {
    rows += batch.rows.length;
    lastRow = batch.rows.at(-1);
    if (rows % 150_000 < batch.rows.length) checkpoints.push(rssMegabytes() - baseline);
  }
  const total = BATCHES * BATCH_ROWS;
  assert.equal(rows, total);
  assert.deepEqual(lastRow, [String(total - 1), `name-${total - 1}`, String((total - 1) / 7), '2024-01-02T03:04:06.623455Z']);
  // Holding the rows (or the Arrow batches) grows rss by ~40 MB per checkpoint, to ~600 MB; streaming
  // them stays within a few tens of MB of the first checkpoint.
  const first = checkpoints[0]!;
  const peak = Math.max(...checkpoints);
  assert.ok(peak - first < 64, `rss grew from ${first.toFixed(0)} MB to ${peak.toFixed(0)} MB above baseline: ${checkpoints.map((mb) => mb.toFixed(0)).join(', ')}`);
  assert.ok(peak < 200, `rss peaked ${peak.toFixed(0)} MB above baseline`);
});
