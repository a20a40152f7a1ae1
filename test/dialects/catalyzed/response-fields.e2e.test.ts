import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { tableFromIPC, tableFromJSON, tableToIPC } from 'apache-arrow';
import { useCatalyzedSuite } from '../../helpers/catalyzed-suite.ts';
import type { Row } from '../../helpers/catalyzed-client.ts';

/**
 * Values of Catalyzed responses that the other tests leave unchecked: timestamps, statistics,
 * versions, row counts, pagination and error fields, each against what the test sent, another
 * endpoint or the client's own clock.
 */

const FIELDS = [{ name: 'id', arrowType: 'int64' }, { name: 'name', arrowType: 'utf8' }];

/** The server's ISO time as milliseconds, and whether it lies within the client's window (same machine). */
const ms = (iso: string) => Date.parse(iso);
function assertWithin(iso: string, from: number, to: number, label: string): void {
  assert.ok(ms(iso) >= from && ms(iso) <= to, `${label} ${iso} is not between ${new Date(from).toISOString()} and ${new Date(to).toISOString()}`);
}

describe('Catalyzed response fields: datasets and tables', () => {
  const suite = useCatalyzedSuite({ dataset: 'fields' });
  let counter = 0;
  const newTable = (primaryKey: string[] | undefined = ['id']) => suite.client.createTable(suite.datasetId, `t${(counter += 1)}`, FIELDS, primaryKey);
  const getTable = async (tableId: string) => (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body;
  const count = async (tableId: string) => (await suite.client.query('SELECT count(*) AS n FROM t', { t: tableId })).body.rows[0].n as number;

  test('a dataset created with a name alone has a null description, no tags, empty metadata, and createdAt equal to updatedAt at the time of the request; a PUT moves updatedAt to its own time and keeps createdAt', async () => {
    const before = Date.now();
    const { status, body: created } = await suite.client.call('POST', '/datasets', { name: 'bare' });
    const after = Date.now();
    assert.equal(status, 201);
    assert.deepEqual([created.description, created.tags, created.metadata], [null, [], {}]);
    assertWithin(created.createdAt, before, after, 'createdAt');
    assert.equal(created.updatedAt, created.createdAt);
    await sleep(20);
    const beforePut = Date.now();
    const updated = await suite.client.call('PUT', `/datasets/${created.datasetId}`, { tags: ['new'] });
    const afterPut = Date.now();
    assert.equal(updated.status, 200);
    assert.equal(updated.body.createdAt, created.createdAt);
    assertWithin(updated.body.updatedAt, beforePut, afterPut, 'updatedAt');
    const read = (await suite.client.call('GET', `/datasets/${created.datasetId}`)).body;
    assert.deepEqual([read.createdAt, read.updatedAt], [created.createdAt, updated.body.updatedAt]);
  });

  test('a new table starts at version 0 with 0 rows, no primary key when none is given, a null description, and createdAt equal to updatedAt at the time of the request; a key column is not nullable', async () => {
    const before = Date.now();
    const { status, body } = await suite.client.call('POST', '/dataset-tables', { datasetId: suite.datasetId, tableName: 'fresh', fields: FIELDS });
    const after = Date.now();
    assert.equal(status, 201, JSON.stringify(body));
    assert.deepEqual([body.version, body.rowCount, body.primaryKeyColumns, body.description], [0, 0, [], null]);
    assertWithin(body.createdAt, before, after, 'createdAt');
    assert.equal(body.updatedAt, body.createdAt);
    assert.deepEqual(await getTable(body.tableId), body);
    const schema = (await suite.client.call('GET', `/dataset-tables/${body.tableId}/schema`)).body;
    assert.deepEqual([schema.version, schema.primaryKeyColumns], [0, []]);
    // A key column is never nullable, though its field left nullability unsaid; the others are.
    const keyed = (await suite.client.call('POST', '/dataset-tables', { datasetId: suite.datasetId, tableName: 'fresh_keyed', fields: FIELDS, primaryKeyColumns: ['id'] })).body;
    assert.deepEqual(keyed.fields.map((field: { nullable: boolean }) => field.nullable), [false, true]);
    const keyedSchema = (await suite.client.call('GET', `/dataset-tables/${keyed.tableId}/schema`)).body;
    assert.deepEqual(keyedSchema.fields, [{ name: 'id', dataType: 'int64', nullable: false }, { name: 'name', dataType: 'utf8', nullable: true }]);
  });

  test("a table's rowCount and version, by id and in its dataset's listing, follow every write mode: the count of its rows and the last dataset_version", async () => {
    const tableId = await newTable();
    const steps: Array<[mode: string, rows: unknown[], rowCount: number]> = [
      ['append', [1, 2, 3, 4].map((id) => ({ id, name: `n${id}` })), 4],
      ['upsert', [{ id: 4, name: 'changed' }, { id: 5, name: 'n5' }, { id: 6, name: 'n6' }], 6],
      ['delete', [1, 2, 99], 4],
      ['overwrite', [{ id: 10, name: 'a' }, { id: 11, name: 'b' }], 2],
      ['append', [{ id: 12, name: 'c' }], 3],
    ];
    for (const [index, [mode, rows, rowCount]] of steps.entries()) {
      const written = await suite.client.write(tableId, `mode=${mode}`, JSON.stringify(rows), 'application/json');
      assert.equal(written.status, 200, JSON.stringify(written.body));
      assert.equal(written.body.dataset_version, index + 1, mode);
      const table = await getTable(tableId);
      assert.deepEqual([table.rowCount, table.version], [rowCount, index + 1], `after ${mode}`);
      assert.equal(await count(tableId), rowCount, `after ${mode}`);
      const listed = (await suite.client.call('GET', `/dataset-tables?datasetId=${suite.datasetId}&pageSize=100`)).body.tables.find((candidate: { tableId: string }) => candidate.tableId === tableId);
      assert.deepEqual([listed.rowCount, listed.version], [rowCount, index + 1], `listed after ${mode}`);
    }
  });

  test("a committed row write moves the table's updatedAt to its time and keeps createdAt; a refused write changes neither updatedAt nor version", async () => {
    const tableId = await newTable();
    const created = await getTable(tableId);
    await sleep(20);
    const before = Date.now();
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, name: 'a' }]);
    const after = Date.now();
    const written = await getTable(tableId);
    assert.equal(written.createdAt, created.createdAt);
    assertWithin(written.updatedAt, before, after, 'updatedAt');
    await sleep(20);
    const refused = await suite.client.write(tableId, 'mode=append', JSON.stringify([{ id: 'not a number' }]), 'application/json');
    assert.equal(refused.status, 400);
    const unchanged = await getTable(tableId);
    assert.deepEqual([unchanged.updatedAt, unchanged.version, unchanged.rowCount], [written.updatedAt, 1, 1]);
  });

  test('a table PUT moves updatedAt and leaves version and rowCount, which count data writes; the schema then names the new name and the same version', async () => {
    const tableId = await newTable();
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
    await suite.client.writeRows(tableId, 'mode=delete', 'json', [{ id: 1 }]);
    const written = await getTable(tableId);
    await sleep(20);
    const before = Date.now();
    const { status, body } = await suite.client.call('PUT', `/dataset-tables/${tableId}`, {
      tableName: 'renamed_table', description: 'd', fields: [...FIELDS, { name: 'extra', arrowType: 'int32' }],
    });
    const after = Date.now();
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual([body.version, body.rowCount, body.createdAt], [2, 1, written.createdAt]);
    assertWithin(body.updatedAt, before, after, 'updatedAt');
    assert.deepEqual(await getTable(tableId), body);
    const schema = (await suite.client.call('GET', `/dataset-tables/${tableId}/schema`)).body;
    assert.deepEqual([schema.tableId, schema.tableName, schema.version], [tableId, 'renamed_table', 2]);
    assert.deepEqual(schema.fields.map((field: { name: string }) => field.name), ['id', 'name', 'extra']);
  });

  test('a Tinybird data source, listed as a dataset table, counts the rows that Tinybird events and a truncation leave, and a version per write', async () => {
    const created = await suite.server.fetch('/v0/datasources?name=tb_events&format=ndjson', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ schema: 'id Int32 `json:$.id`' }).toString(),
    });
    assert.equal(created.status, 200, await created.clone().text());
    const listed = async () => (await suite.client.call('GET', '/dataset-tables?pageSize=100')).body.tables.find((table: { tableName: string }) => table.tableName === 'tb_events');
    const events = await suite.server.fetch('/v0/events?name=tb_events&wait=true', { method: 'POST', body: '{"id": 1}\n{"id": 2}\n{"id": 3}\n' });
    assert.equal(events.status, 200, await events.clone().text());
    const afterEvents = await listed();
    assert.deepEqual([afterEvents.rowCount, afterEvents.version], [3, 1]);
    assert.equal((await suite.server.fetch('/v0/datasources/tb_events/truncate', { method: 'POST' })).status, 205);
    const afterTruncate = (await suite.client.call('GET', `/dataset-tables/${afterEvents.tableId}`)).body;
    assert.deepEqual([afterTruncate.rowCount, afterTruncate.version], [0, 2]);
  });

  test('tables are listed a page at a time: page, pageSize and total, and the page holds the tables in their place', async () => {
    const datasetId = await suite.client.createDataset('paged_tables');
    const ids = [];
    for (const name of ['p1', 'p2', 'p3']) ids.push(await suite.client.createTable(datasetId, name, FIELDS));
    const second = (await suite.client.call('GET', `/dataset-tables?datasetId=${datasetId}&page=2&pageSize=2`)).body;
    assert.deepEqual([second.page, second.pageSize, second.total], [2, 2, 3]);
    assert.deepEqual(second.tables.map((table: { tableId: string }) => table.tableId), [ids[2]]);
    const first = (await suite.client.call('GET', `/dataset-tables?datasetId=${datasetId}`)).body;
    assert.deepEqual([first.page, first.pageSize, first.total, first.tables.length], [1, 20, 3, 3]);
    const datasets = (await suite.client.call('GET', '/datasets')).body;
    assert.equal(datasets.page, 1);
  });
});

describe('Catalyzed response fields: row writes', () => {
  const suite = useCatalyzedSuite({ dataset: 'write_fields' });
  let counter = 0;
  const newTable = () => suite.client.createTable(suite.datasetId, `w${(counter += 1)}`, FIELDS, ['id']);

  test('a delete counts only the rows it removed: keys the table lacks and a key given twice count once or not at all', async () => {
    const tableId = await newTable();
    await suite.client.writeRows(tableId, 'mode=append', 'json', [1, 2, 3].map((id) => ({ id, name: `n${id}` })));
    const response = await suite.client.write(tableId, 'mode=delete', '[1, 1, {"id": 2}, 7, 8]', 'application/json');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual([response.body.rows_deleted, response.body.rows_affected, response.body.rows_inserted, response.body.rows_updated], [2, 2, 0, 0]);
    assert.deepEqual((await suite.client.rows(tableId)).map((row: Row) => row['id']), [3]);
    assert.equal((await suite.client.call('GET', `/dataset-tables/${tableId}`)).body.rowCount, 1);
  });

  test("a replay answers the first write's dataset_version and warnings even after later writes moved the table on, and only a replay carries X-Idempotent-Replay", async () => {
    const tableId = await newTable();
    const body = JSON.stringify([{ id: 1, name: 'first', nmae: 'typo' }]);
    const first = await suite.client.write(tableId, 'mode=upsert&idempotency_key=early', body, 'application/json');
    assert.deepEqual([first.status, first.body.dataset_version, first.headers.get('x-idempotent-replay')], [200, 1, null]);
    assert.deepEqual(first.body.warnings, ['Field "nmae" matches no column of the table; its values were not written']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 2, name: 'later' }]);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 3, name: 'later' }]);
    const replay = await suite.client.write(tableId, 'mode=upsert&idempotency_key=early', body, 'application/json');
    assert.deepEqual([replay.status, replay.body.dataset_version, replay.body.rows_inserted, replay.body.warnings], [200, 1, 1, first.body.warnings]);
    assert.equal(replay.headers.get('x-idempotent-replay'), 'true');
    const table = (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body;
    assert.deepEqual([table.version, table.rowCount], [3, 3]);
  });

  test('an Arrow stream of several record batches is one write: its counts add up every batch and dataset_version moves by 1', async () => {
    const tableId = await newTable();
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, name: 'old' }]);
    const batches = [[{ id: 1, name: 'new' }, { id: 2, name: 'b' }], [{ id: 3, name: 'c' }], [{ id: 4, name: 'd' }, { id: 5, name: 'e' }, { id: 6, name: 'f' }]];
    const stream = batches.map((rows) => tableFromJSON(rows)).reduce((table, next) => table.concat(next));
    assert.equal(stream.batches.length, 3);
    const response = await suite.client.write(tableId, 'mode=upsert', tableToIPC(stream, 'stream'), 'application/vnd.apache.arrow.stream');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual([response.body.rows_inserted, response.body.rows_updated, response.body.rows_affected, response.body.dataset_version], [5, 1, 6, 2]);
    const table = (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body;
    assert.deepEqual([table.rowCount, table.version], [6, 2]);
  });

  test("concurrent writes in every mode each answer a dataset_version of their own, 1 to N, and the table's rowCount is what their counts add up to and what it holds", async () => {
    const tableId = await newTable();
    const modes = ['append', 'upsert', 'delete', 'overwrite', 'append', 'upsert'];
    const requests = Array.from({ length: 18 }, (_, index) => {
      const mode = modes[index % modes.length]!;
      const rows = mode === 'delete' ? [index - 1, index - 2, 1000 + index]
        : Array.from({ length: (index % 4) + 1 }, (_, k) => ({ id: mode === 'upsert' ? k : 100 * index + k, name: mode }));
      return suite.client.write(tableId, `mode=${mode}`, JSON.stringify(rows), 'application/json');
    });
    const responses = await Promise.all(requests);
    assert.deepEqual(responses.map((response) => response.status), responses.map(() => 200), JSON.stringify(responses.map((response) => response.body)));
    assert.deepEqual(responses.map((response) => response.body.dataset_version).sort((a, b) => a - b), responses.map((_, index) => index + 1));
    // Each write changes the rows by its inserts less its deletes (an overwrite deletes the rows before it), in whatever order they ran.
    const net = responses.reduce((rows, { body }) => rows + body.rows_inserted - body.rows_deleted, 0);
    const holds = (await suite.client.query('SELECT count(*) AS n FROM t', { t: tableId })).body.rows[0].n;
    const table = (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body;
    assert.deepEqual([table.rowCount, holds, table.version], [net, net, responses.length]);
  });

  test("a restart keeps every field of a dataset and a table as they were last answered (times, version, rowCount, fields and key) and a keyed write's response, warnings included", async () => {
    const dataset = (await suite.client.call('POST', '/datasets', { name: 'lasting', description: 'kept', tags: ['a'], metadata: { n: 1 } })).body;
    const tableId = await newTable();
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' }]);
    const keyed = await suite.client.write(tableId, 'mode=delete&idempotency_key=kept', '[{"id": 2, "nmae": "typo"}]', 'application/json');
    assert.equal(keyed.status, 200, JSON.stringify(keyed.body));
    await suite.client.call('PUT', `/dataset-tables/${tableId}`, { description: 'described' });
    const table = (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body;
    const schema = (await suite.client.call('GET', `/dataset-tables/${tableId}/schema`)).body;
    assert.deepEqual([table.rowCount, table.version, table.description], [2, 2, 'described']);
    await suite.server.restart();
    assert.deepEqual((await suite.client.call('GET', `/datasets/${dataset.datasetId}`)).body, dataset);
    assert.deepEqual((await suite.client.call('GET', `/dataset-tables/${tableId}`)).body, table);
    assert.deepEqual((await suite.client.call('GET', `/dataset-tables/${tableId}/schema`)).body, schema);
    const replay = await suite.client.write(tableId, 'mode=delete&idempotency_key=kept', '[{"id": 2, "nmae": "typo"}]', 'application/json');
    assert.deepEqual([replay.body, replay.headers.get('x-idempotent-replay')], [keyed.body, 'true']);
    assert.equal(replay.body.warnings.length, 1);
  });

  test('duration_ms is the time the write took: more than 0 for a large write, and no longer than the request', async () => {
    const tableId = await newTable();
    const body = JSON.stringify(Array.from({ length: 50_000 }, (_, id) => ({ id, name: `name ${id}` })));
    const started = performance.now();
    const response = await suite.client.write(tableId, 'mode=upsert', body, 'application/json');
    const elapsed = performance.now() - started;
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.rows_inserted, 50_000);
    assert.ok(Number.isInteger(response.body.duration_ms), String(response.body.duration_ms));
    assert.ok(response.body.duration_ms > 0 && response.body.duration_ms <= Math.ceil(elapsed), `duration_ms ${response.body.duration_ms}, request ${elapsed} ms`);
  });
});

describe('Catalyzed response fields: queries and errors', () => {
  const suite = useCatalyzedSuite({ dataset: 'query_fields' });

  const TYPED_FIELDS = [
    { name: 'id', arrowType: 'int64' }, { name: 'i8', arrowType: 'int8' }, { name: 'u16', arrowType: 'uint16' }, { name: 'u64', arrowType: 'uint64' },
    { name: 'h', arrowType: 'float16' }, { name: 'f', arrowType: 'float32' }, { name: 'd', arrowType: 'float64' },
    { name: 's', arrowType: 'utf8' }, { name: 'ls', arrowType: 'largeutf8' }, { name: 'bin', arrowType: 'binary' }, { name: 'lbin', arrowType: 'largebinary' },
    { name: 'b', arrowType: 'bool' }, { name: 'd32', arrowType: 'date32' }, { name: 'd64', arrowType: 'date64' },
    { name: 'ts', arrowType: 'timestamp' }, { name: 'ts_s', arrowType: 'timestamp[s]' }, { name: 'ts_ms', arrowType: 'timestamp[ms]' }, { name: 'ts_ns', arrowType: 'timestamp[ns]' },
    { name: 'l', arrowType: 'list<int64>' }, { name: 'v', arrowType: 'fixed_size_list[2]<int32>' },
  ];

  test("a query's columns carry each table column's type as the table's schema reports it, and a query of an empty table answers no rows, rowCount 0 and no truncation", async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'typed', TYPED_FIELDS, ['id']);
    const schema = (await suite.client.call('GET', `/dataset-tables/${tableId}/schema`)).body;
    const { status, body } = await suite.client.query('SELECT * FROM t', { t: tableId });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.columns, schema.fields.map(({ name, dataType }: { name: string; dataType: string }) => ({ name, type: dataType })));
    assert.deepEqual([body.rows, body.rowCount, body.truncated], [[], 0, false]);
  });

  test('an Arrow result within maxRows gives its whole row count and no truncation in headers, and its fields are the columns a JSON answer names', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'arrow_rows', FIELDS, ['id']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', Array.from({ length: 7 }, (_, id) => ({ id, name: `n${id}` })));
    const sql = 'SELECT id, upper(name) AS shout FROM t ORDER BY id';
    const response = await suite.server.fetch('/queries', {
      method: 'POST', headers: { accept: 'application/vnd.apache.arrow.stream', 'content-type': 'application/json' },
      body: JSON.stringify({ sql, tables: { t: tableId }, maxRows: 50 }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual([response.headers.get('x-row-count'), response.headers.get('x-truncated')], ['7', 'false']);
    const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    assert.equal(table.numRows, 7);
    const json = (await suite.client.query(sql, { t: tableId })).body;
    assert.deepEqual(table.schema.fields.map((field) => field.name), json.columns.map((column: { name: string }) => column.name));
    assert.notEqual(response.headers.get('x-query-id'), json.queryId);
  });

  test('stats.executionTimeMs measures the query: more than 0 for a query that takes a while, and no longer than the request', async () => {
    const started = performance.now();
    const { status, body } = await suite.client.query('SELECT count(*) AS n FROM range(30000000) r(i) WHERE hash(i) % 7 = 0', {});
    const elapsed = performance.now() - started;
    assert.equal(status, 200, JSON.stringify(body));
    assert.ok(Number.isInteger(body.stats.executionTimeMs), String(body.stats.executionTimeMs));
    assert.ok(body.stats.executionTimeMs > 0 && body.stats.executionTimeMs <= Math.ceil(elapsed), `executionTimeMs ${body.stats.executionTimeMs}, request ${elapsed} ms`);
  });

  test('an error repeats error as message, is not retryable when the request is at fault, and carries details naming what was not found, or null', async () => {
    const unknownDataset = 'd'.repeat(21);
    const cases: Array<[method: string, path: string, body: unknown, status: number, code: string, details: unknown]> = [
      ['GET', `/datasets/${unknownDataset}`, undefined, 404, 'NOT_FOUND', { datasetId: unknownDataset }],
      ['GET', `/dataset-tables/${'t'.repeat(21)}/schema`, undefined, 404, 'NOT_FOUND', { tableId: 't'.repeat(21) }],
      ['POST', '/datasets', [1, 2], 400, 'VALIDATION_ERROR', null],
      ['POST', '/datasets', { name: 'query_fields' }, 409, 'CONFLICT', undefined],
      ['POST', '/queries', { sql: 'SELEC 1' }, 400, 'QUERY_ERROR', undefined],
    ];
    for (const [method, path, body, status, code, details] of cases) {
      const response = await suite.client.call(method, path, body);
      const label = `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(response.body)}`;
      assert.deepEqual([response.status, response.body.code, response.body.retryable], [status, code, false], label);
      assert.equal(typeof response.body.error, 'string', label);
      assert.ok(response.body.error.length > 0, label);
      assert.equal(response.body.message, response.body.error, label);
      if (details !== undefined) assert.deepEqual(response.body.details, details, label);
    }
  });
});
