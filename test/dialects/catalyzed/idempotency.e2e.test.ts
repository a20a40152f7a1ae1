import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useCatalyzedSuite } from '../../helpers/catalyzed-suite.ts';
import { CONTENT_TYPES, encodeRows } from '../../helpers/catalyzed-client.ts';

const FIELDS = [{ name: 'id', arrowType: 'int64' }, { name: 'name', arrowType: 'utf8' }];

describe('Catalyzed idempotency keys', () => {
  const suite = useCatalyzedSuite({ dataset: 'idempotency' });
  let tableCounter = 0;

  const newTable = async () => suite.client.createTable(suite.datasetId, `t${(tableCounter += 1)}`, FIELDS, ['id']);
  const table = async (tableId: string) => (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body;
  const rowsBody = JSON.stringify([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);

  test('a repeated key returns the first response and writes nothing, in every mode and format', async () => {
    for (const format of ['json', 'csv', 'parquet', 'arrow'] as const) {
      for (const mode of ['append', 'upsert', 'overwrite', 'delete']) {
        const tableId = await newTable();
        await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, name: 'seed' }]);
        const body = await encodeRows(format, [{ id: 1, name: 'x' }, { id: 3, name: 'y' }].filter((row) => mode !== 'append' || row.id !== 1));
        const query = `mode=${mode}&idempotency_key=${format}-${mode}`;
        const first = await suite.client.write(tableId, query, body, CONTENT_TYPES[format]);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const rowsAfterFirst = await suite.client.rows(tableId);
        const replay = await suite.client.write(tableId, query, body, CONTENT_TYPES[format]);
        assert.deepEqual([replay.status, replay.body], [200, first.body], `${format} ${mode}`);
        assert.equal(replay.headers.get('x-idempotent-replay'), 'true');
        assert.deepEqual(await suite.client.rows(tableId), rowsAfterFirst);
        assert.equal((await table(tableId)).version, first.body.dataset_version);
      }
    }
  });

  test('the same key with a different body is 409 IDEMPOTENCY_CONFLICT, not retryable, and writes nothing', async () => {
    const tableId = await newTable();
    await suite.client.write(tableId, 'mode=append&idempotency_key=k', rowsBody, 'application/json');
    const conflict = await suite.client.write(tableId, 'mode=append&idempotency_key=k', JSON.stringify([{ id: 9, name: 'other' }]), 'application/json');
    assert.equal(conflict.status, 409);
    assert.deepEqual([conflict.body.code, conflict.body.retryable], ['IDEMPOTENCY_CONFLICT', false]);
    assert.deepEqual((await suite.client.rows(tableId)).map((row) => row['id']), [1, 2]);
  });

  test('the same key and body with another mode, content type or skip_validation is a different request', async () => {
    const tableId = await newTable();
    await suite.client.write(tableId, 'mode=upsert&idempotency_key=k', rowsBody, 'application/json');
    const variants: Array<[string, string, string]> = [
      ['mode=append&idempotency_key=k', rowsBody, 'application/json'],
      ['mode=upsert&idempotency_key=k&skip_validation=true', rowsBody, 'application/json'],
      ['mode=upsert&idempotency_key=k', 'id,name\n1,a\n2,b\n', 'text/csv'],
    ];
    for (const [query, body, contentType] of variants) assert.equal((await suite.client.write(tableId, query, body, contentType)).status, 409, query);
  });

  test('a key belongs to its table: the same key on another table writes there', async () => {
    const [first, second] = [await newTable(), await newTable()];
    await suite.client.write(first, 'mode=append&idempotency_key=shared', rowsBody, 'application/json');
    const other = await suite.client.write(second, 'mode=append&idempotency_key=shared', rowsBody, 'application/json');
    assert.deepEqual([other.status, other.body.rows_inserted], [200, 2]);
  });

  test('a request that failed stores no response: the key is free for the corrected request', async () => {
    const tableId = await newTable();
    const failed = await suite.client.write(tableId, 'mode=append&idempotency_key=retry', JSON.stringify([{ id: 'x' }]), 'application/json');
    assert.equal(failed.status, 400);
    const fixed = await suite.client.write(tableId, 'mode=append&idempotency_key=retry', JSON.stringify([{ id: 1, name: 'fixed' }]), 'application/json');
    assert.deepEqual([fixed.status, fixed.body.rows_inserted], [200, 1]);
  });

  test('concurrent requests with one key write once and all answer the first response', async () => {
    const tableId = await newTable();
    const body = JSON.stringify(Array.from({ length: 500 }, (_, id) => ({ id, name: `n${id}` })));
    const responses = await Promise.all(Array.from({ length: 12 }, () => suite.client.write(tableId, 'mode=append&idempotency_key=burst', body, 'application/json')));
    assert.deepEqual(responses.map((response) => response.status), Array(12).fill(200));
    for (const response of responses) assert.deepEqual(response.body, responses[0]!.body);
    assert.deepEqual([responses[0]!.body.rows_inserted, responses[0]!.body.dataset_version], [500, 1]);
    const state = await table(tableId);
    assert.deepEqual([state.rowCount, state.version], [500, 1]);
    assert.equal(responses.filter((response) => response.headers.get('x-idempotent-replay') === 'true').length, 11);
  });

  test('keys and their first responses survive a restart', async () => {
    const tableId = await newTable();
    const first = await suite.client.write(tableId, 'mode=upsert&idempotency_key=durable', rowsBody, 'application/json');
    assert.equal(first.status, 200);
    await suite.server.restart();
    const replay = await suite.client.write(tableId, 'mode=upsert&idempotency_key=durable', rowsBody, 'application/json');
    assert.deepEqual([replay.status, replay.body], [200, first.body]);
    const conflict = await suite.client.write(tableId, 'mode=upsert&idempotency_key=durable', '[]', 'application/json');
    assert.equal(conflict.status, 409);
    assert.equal((await table(tableId)).version, 1);
  });

  test('keys are kept at least 24 hours by default', () => {
    assert.ok(suite.server.core.config.idempotencyRetentionHours >= 24);
  });
});
