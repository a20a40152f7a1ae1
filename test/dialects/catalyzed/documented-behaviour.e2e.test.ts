import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useCatalyzedSuite } from '../../helpers/catalyzed-suite.ts';
import { CONTENT_TYPES, encodeRows, ORDER_FIELDS, type Row } from '../../helpers/catalyzed-client.ts';
import { TinybirdClient } from '../../helpers/tinybird-client.ts';

/**
 * Behaviours the README promises for the Catalyzed dialect that the other Catalyzed tests leave
 * unexercised: body formats and their corner cases, coercion rules, skip_validation, what makes two
 * requests with one idempotency key the same, the configured limits, row-filtered tokens and the
 * types of computed query columns.
 */

const SEED: Row[] = [
  { id: 1, name: 'a', amount: 1.5 },
  { id: 2, name: 'b', amount: 2.5 },
  { id: 3, name: 'c', amount: 3.5 },
];

describe('Catalyzed documented behaviour: body formats and values', () => {
  const suite = useCatalyzedSuite({ dataset: 'documented' });
  let counter = 0;

  async function seededTable(): Promise<string> {
    const tableId = await suite.client.createTable(suite.datasetId, `t${(counter += 1)}`, ORDER_FIELDS, ['id']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', SEED);
    return tableId;
  }

  test('several JSON arrays in one body are read in turn, their rows written as one write', async () => {
    const tableId = await seededTable();
    const body = '[{"id": 4, "name": "d", "amount": 4}]\n[{"id": 5, "name": "e"}, {"id": 6, "amount": 6.5}] [{"id": 7}]';
    const response = await suite.client.write(tableId, 'mode=append', body, CONTENT_TYPES.json);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual([response.body.rows_inserted, response.body.dataset_version], [4, 2]);
    assert.deepEqual((await suite.client.rows(tableId)).slice(3), [
      { id: 4, name: 'd', amount: 4 }, { id: 5, name: 'e', amount: null }, { id: 6, name: null, amount: 6.5 }, { id: 7, name: null, amount: null },
    ]);
  });

  test('a CSV header row alone writes no rows: an append adds none and an overwrite empties the table', async () => {
    const tableId = await seededTable();
    const appended = await suite.client.write(tableId, 'mode=append', 'id,name,amount\n', CONTENT_TYPES.csv);
    assert.equal(appended.status, 200, JSON.stringify(appended.body));
    assert.equal(appended.body.rows_inserted, 0);
    assert.deepEqual(await suite.client.rows(tableId), SEED);
    const overwritten = await suite.client.write(tableId, 'mode=overwrite', 'id,name,amount\n', CONTENT_TYPES.csv);
    assert.equal(overwritten.status, 200, JSON.stringify(overwritten.body));
    assert.deepEqual([overwritten.body.rows_deleted, overwritten.body.rows_inserted, overwritten.body.rows_affected], [SEED.length, 0, SEED.length]);
    assert.deepEqual(await suite.client.rows(tableId), []);
  });

  test('an Arrow stream none of whose fields is a column of the table is a 400, and an overwrite with it leaves the rows', async () => {
    const tableId = await seededTable();
    const stream = await encodeRows('arrow', [{ foo: 1, bar: 'x' }, { foo: 2, bar: 'y' }]);
    const response = await suite.client.write(tableId, 'mode=overwrite', stream, CONTENT_TYPES.arrow);
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.code, 'VALIDATION_ERROR');
    assert.match(response.body.error, /"foo", "bar"/);
    assert.deepEqual(await suite.client.rows(tableId), SEED);
  });

  test('a delete from Parquet or Arrow takes rows holding only the key columns', async () => {
    for (const format of ['parquet', 'arrow'] as const) {
      const tableId = await seededTable();
      const response = await suite.client.writeRows(tableId, 'mode=delete', format, [{ id: 1 }, { id: 3 }]);
      assert.deepEqual([response.rows_deleted, response.rows_affected], [2, 2], format);
      assert.deepEqual(await suite.client.rows(tableId), [SEED[1]], format);
    }
  });

  test('the empty text and "null" are NULL in integer, float and timestamp columns, and "" stays the empty string in a text column', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'empties', [
      { name: 'id', arrowType: 'int32' }, { name: 'i', arrowType: 'int64' }, { name: 'f', arrowType: 'float32' },
      { name: 'ts', arrowType: 'timestamp[ms]' }, { name: 's', arrowType: 'utf8' },
    ], ['id']);
    const body = [{ id: 1, i: '', f: '', ts: '', s: '' }, { id: 2, i: 'null', f: 'NULL', ts: 'null', s: 'null' }];
    const response = await suite.client.write(tableId, 'mode=append', JSON.stringify(body), CONTENT_TYPES.json);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(await suite.client.rows(tableId), [
      { id: 1, i: null, f: null, ts: null, s: '' },
      { id: 2, i: null, f: null, ts: null, s: 'null' },
    ]);
  });

  test('a float16 column holds up to 65504: that value is stored, and a larger one is refused with its column rather than stored as infinity', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'halves', [{ name: 'id', arrowType: 'int32' }, { name: 'h', arrowType: 'float16' }], ['id']);
    const kept = await suite.client.write(tableId, 'mode=append', JSON.stringify([{ id: 1, h: 65504 }, { id: 2, h: -65504 }]), CONTENT_TYPES.json);
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    for (const value of [65505, 70000, '-1e5']) {
      const refused = await suite.client.write(tableId, 'mode=append', JSON.stringify([{ id: 3, h: 1 }, { id: 4, h: value }]), CONTENT_TYPES.json);
      assert.equal(refused.status, 400, `${value}: ${JSON.stringify(refused.body)}`);
      assert.deepEqual(refused.body.details.errors.map(({ row, columns }: { row: number; columns: string[] }) => ({ row, columns })), [{ row: 2, columns: ['h'] }], String(value));
    }
    assert.deepEqual(await suite.client.rows(tableId), [{ id: 1, h: 65504 }, { id: 2, h: -65504 }]);
  });

  test('a float16 column takes NaN as float32 and float64 columns do, and infinities', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'not_numbers', [
      { name: 'id', arrowType: 'int32' }, { name: 'h', arrowType: 'float16' }, { name: 'f', arrowType: 'float32' }, { name: 'd', arrowType: 'float64' },
    ], ['id']);
    const body = [{ id: 1, h: 'NaN', f: 'NaN', d: 'NaN' }, { id: 2, h: 'nan', f: 'nan', d: 'nan' }, { id: 3, h: 'Infinity', f: 'Infinity', d: 'Infinity' }, { id: 4, h: '-inf', f: '-inf', d: '-inf' }];
    for (const query of ['mode=upsert', 'mode=upsert&skip_validation=true']) {
      const response = await suite.client.write(tableId, query, JSON.stringify(body), CONTENT_TYPES.json);
      assert.equal(response.status, 200, `${query}: ${JSON.stringify(response.body)}`);
    }
    const { body: read } = await suite.client.query('SELECT id, isnan(h) AS h, isnan(f) AS f, isnan(d) AS d, h::DOUBLE AS value FROM t ORDER BY id', { t: tableId });
    assert.deepEqual(read.rows.map(({ id, h, f, d }: Row) => [id, h, f, d]), [[1, true, true, true], [2, true, true, true], [3, false, false, false], [4, false, false, false]]);
    assert.deepEqual(read.rows.slice(2).map(({ value }: Row) => value), ['inf', '-inf']);
  });

  test('with skip_validation=true the text "null" is not read as NULL: an integer column refuses it, where validation would store NULL', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'counts', [{ name: 'id', arrowType: 'int32' }, { name: 'n', arrowType: 'int64' }], ['id']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, n: 10 }]);
    const body = JSON.stringify([{ id: 1, n: 'null' }]);
    const skipped = await suite.client.write(tableId, 'mode=upsert&skip_validation=true', body, CONTENT_TYPES.json);
    assert.equal(skipped.status, 400, JSON.stringify(skipped.body));
    assert.equal(skipped.body.code, 'VALIDATION_ERROR');
    assert.deepEqual(await suite.client.rows(tableId), [{ id: 1, n: 10 }]);
    const validated = await suite.client.write(tableId, 'mode=upsert', body, CONTENT_TYPES.json);
    assert.equal(validated.status, 200, JSON.stringify(validated.body));
    assert.deepEqual(await suite.client.rows(tableId), [{ id: 1, n: null }]);
  });
});

describe('Catalyzed documented behaviour: what makes a request the same for an idempotency key', () => {
  const suite = useCatalyzedSuite({ dataset: 'same_request' });
  let counter = 0;
  const newTable = () => suite.client.createTable(suite.datasetId, `k${(counter += 1)}`, ORDER_FIELDS, ['id']);
  const version = async (tableId: string) => (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body.version as number;

  test('the request is the format, not the Content-Type spelling: text/csv and application/csv, or skip_validation given as 1 and true, or false and left out, replay one another', async () => {
    const variants: Array<[first: [query: string, contentType: string], again: [query: string, contentType: string]]> = [
      [['mode=upsert&idempotency_key=csv', 'text/csv'], ['mode=upsert&idempotency_key=csv', 'application/csv']],
      [['mode=upsert&idempotency_key=skip&skip_validation=1', 'text/csv'], ['mode=upsert&idempotency_key=skip&skip_validation=true', 'text/csv']],
      [['mode=upsert&idempotency_key=noskip&skip_validation=false', 'text/csv'], ['mode=upsert&idempotency_key=noskip', 'text/csv']],
    ];
    for (const [[firstQuery, firstType], [againQuery, againType]] of variants) {
      const tableId = await newTable();
      const body = 'id,name,amount\n1,a,1.5\n2,b,2.5\n';
      const first = await suite.client.write(tableId, firstQuery, body, firstType);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const again = await suite.client.write(tableId, againQuery, body, againType);
      assert.deepEqual([again.status, again.body, again.headers.get('x-idempotent-replay')], [200, first.body, 'true'], `${againQuery} ${againType}`);
      assert.equal(await version(tableId), 1);
    }
  });

  test("the request is the body's bytes, not the rows they mean: the same rows spelled with other spacing are a 409 IDEMPOTENCY_CONFLICT and write nothing", async () => {
    const tableId = await newTable();
    const first = await suite.client.write(tableId, 'mode=upsert&idempotency_key=bytes', '[{"id": 1, "name": "a"}]', CONTENT_TYPES.json);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const respaced = await suite.client.write(tableId, 'mode=upsert&idempotency_key=bytes', '[{"id":1,"name":"a"}]', CONTENT_TYPES.json);
    assert.equal(respaced.status, 409, JSON.stringify(respaced.body));
    assert.deepEqual([respaced.body.code, respaced.body.retryable], ['IDEMPOTENCY_CONFLICT', false]);
    assert.equal(respaced.headers.get('x-idempotent-replay'), null);
    assert.equal(await version(tableId), 1);
  });
});

describe('Catalyzed documented behaviour: SLUICE_MAX_BODY_BYTES bounds an Arrow stream', () => {
  const suite = useCatalyzedSuite({ dataset: 'body_cap', config: { maxRequestBodyBytes: 64 * 1024 } });

  test('an Arrow IPC stream larger than SLUICE_MAX_BODY_BYTES is a 413 PAYLOAD_TOO_LARGE and writes nothing, while a smaller one is written', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'capped', ORDER_FIELDS, ['id']);
    const rows = (count: number) => Array.from({ length: count }, (_, id) => ({ id, name: 'x'.repeat(20), amount: id }));
    const big = await encodeRows('arrow', rows(5000));
    assert.ok(big.length > 64 * 1024, String(big.length));
    const refused = await suite.client.write(tableId, 'mode=append', big, CONTENT_TYPES.arrow);
    assert.equal(refused.status, 413, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(await suite.client.rows(tableId), []);
    const small = await encodeRows('arrow', rows(10));
    assert.ok(small.length < 64 * 1024, String(small.length));
    const written = await suite.client.write(tableId, 'mode=append', small, CONTENT_TYPES.arrow);
    assert.deepEqual([written.status, written.body.rows_inserted], [200, 10]);
  });
});

describe('Catalyzed documented behaviour: SLUICE_MAX_PENDING_WRITES', () => {
  const suite = useCatalyzedSuite({ dataset: 'pending', config: { maxPendingWrites: 1 } });

  test('writes past the cap of those waiting for a table are refused with 429, retryable, with Retry-After, and write nothing; the table holds the rows of the writes answered 200', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'busy', ORDER_FIELDS, ['id']);
    const responses = await Promise.all(Array.from({ length: 40 }, (_, index) =>
      suite.client.write(tableId, 'mode=append', JSON.stringify([{ id: index, name: `n${index}` }]), CONTENT_TYPES.json)));
    const refused = responses.filter((response) => response.status === 429);
    const accepted = responses.filter((response) => response.status === 200);
    assert.equal(refused.length + accepted.length, 40, JSON.stringify(responses.map((response) => [response.status, response.body])));
    assert.ok(refused.length > 0, 'some writes were refused');
    for (const response of refused) {
      assert.equal(response.body.retryable, true, JSON.stringify(response.body));
      assert.match(response.body.error, /Too many writes are waiting for table "busy"/);
      assert.equal(response.headers.get('retry-after'), '1');
    }
    assert.equal((await suite.client.rows(tableId)).length, accepted.length);
  });
});

describe('Catalyzed documented behaviour: queries', () => {
  const suite = useCatalyzedSuite({ dataset: 'reads', config: { queryTimeoutMs: 300 } });

  test('a query past SLUICE_QUERY_TIMEOUT_MS is a 503 SERVICE_UNAVAILABLE that is retryable, and the next query is answered', async () => {
    const stopped = await suite.client.query('SELECT count(*) AS n FROM range(1000000000000000) t(x) WHERE x % 7 = 3', {});
    assert.equal(stopped.status, 503, JSON.stringify(stopped.body));
    assert.deepEqual([stopped.body.code, stopped.body.retryable], ['SERVICE_UNAVAILABLE', true]);
    const next = await suite.client.query('SELECT 41 + 1 AS n', {});
    assert.deepEqual([next.status, next.body.rows], [200, [{ n: 42 }]]);
  });

  test("a token with a row filter queries only the rows its filter admits, the query's own filters applied on top, in JSON and in Arrow", async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'orders', ORDER_FIELDS, ['id']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', Array.from({ length: 10 }, (_, index) => ({ id: index + 1, name: index % 2 === 0 ? 'odd' : 'even', amount: index + 1 })));
    const { secret } = await suite.server.core.tokens.create('orders-over-4', [{ action: 'read', namespace: 'reads', table: 'orders', filter: 'amount > 4' }]);
    const all = await suite.client.query('SELECT id FROM o ORDER BY id', { o: tableId }, {}, secret);
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body.rows.map((row: Row) => row['id']), [5, 6, 7, 8, 9, 10]);
    const filtered = await suite.client.query('SELECT count(*) AS n, sum(amount) AS total FROM o', { o: { tableId, filters: [{ field: 'name', op: 'eq', value: 'odd' }] } }, {}, secret);
    assert.deepEqual(filtered.body.rows, [{ n: 3, total: 5 + 7 + 9 }]);
    const arrow = await suite.server.fetch('/queries', {
      method: 'POST', token: secret, headers: { accept: CONTENT_TYPES.arrow, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT id FROM o', tables: { o: tableId } }),
    });
    assert.equal(arrow.status, 200);
    assert.equal(arrow.headers.get('x-row-count'), '6');
    // The admin token reads every row.
    assert.equal((await suite.client.query('SELECT count(*) AS n FROM o', { o: tableId })).body.rows[0].n, 10);
  });

  test('a computed 128-bit integer is typed int128 and exact, an interval is utf8, and a decimal a double cannot hold keeps every digit as a string', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'big', [{ name: 'id', arrowType: 'int32' }, { name: 'v', arrowType: 'int64' }], ['id']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, v: '9223372036854775807' }, { id: 2, v: '9223372036854775807' }]);
    const { status, body } = await suite.client.query(
      "SELECT sum(v) AS total, INTERVAL 1 DAY AS span, CAST('12345678901234567890.12' AS DECIMAL(22, 2)) AS exact FROM t",
      { t: tableId },
    );
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.columns.slice(0, 2), [{ name: 'total', type: 'int128' }, { name: 'span', type: 'utf8' }]);
    // 2 × (2^63 − 1)
    assert.equal(body.rows[0].total, (2n * 9223372036854775807n).toString());
    assert.equal(typeof body.rows[0].span, 'string');
    assert.equal(body.rows[0].exact, '12345678901234567890.12');
  });
});

describe("Catalyzed documented behaviour: another API's tables", () => {
  const suite = useCatalyzedSuite();

  test("a Tinybird data source is a table of the workspace's dataset whose rows Catalyzed writes by column name, whatever JSONPaths its schema reads events by; renaming or dropping it is a 409 CONFLICT", async () => {
    const tinybird = new TinybirdClient(suite.server);
    const created = await tinybird.form('/v0/datasources?name=events', { schema: 'n Int32 `json:$.payload.n`, s String `json:$.s`', format: 'ndjson' });
    assert.equal(created.status, 200, await created.clone().text());
    const datasets = (await suite.client.call('GET', '/datasets?pageSize=100')).body.datasets as Array<{ datasetId: string; name: string }>;
    const workspace = datasets.find((dataset) => dataset.name === 'default');
    assert.ok(workspace, JSON.stringify(datasets));
    const tables = (await suite.client.call('GET', `/dataset-tables?datasetId=${workspace.datasetId}`)).body.tables as Array<{ tableId: string; tableName: string }>;
    const table = tables.find((candidate) => candidate.tableName === 'events');
    assert.ok(table, JSON.stringify(tables));

    // JSON keys and Parquet columns name the columns, regardless of case, as for any table.
    const json = await suite.client.write(table.tableId, 'mode=append', JSON.stringify([{ n: 2, s: 'b' }, { N: '1', S: 'a' }]), CONTENT_TYPES.json);
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.deepEqual(json.body.warnings, []);
    const parquet = await suite.client.write(table.tableId, 'mode=append', await encodeRows('parquet', [{ n: 3, s: 'c' }]), CONTENT_TYPES.parquet);
    assert.equal(parquet.status, 200, JSON.stringify(parquet.body));
    // Tinybird's events still read the values by their paths.
    const event = await suite.server.fetch('/v0/events?name=events&wait=true', { method: 'POST', body: '{"payload": {"n": 4}, "s": "d"}\n' });
    assert.equal(event.status, 200, await event.clone().text());
    assert.deepEqual(await tinybird.sql('SELECT n, s FROM events ORDER BY n'), [{ n: 1, s: 'a' }, { n: 2, s: 'b' }, { n: 3, s: 'c' }, { n: 4, s: 'd' }]);

    for (const [method, body] of [['PUT', { tableName: 'renamed' }], ['DELETE', undefined]] as const) {
      const refused = await suite.client.call(method, `/dataset-tables/${table.tableId}`, body);
      assert.deepEqual([refused.status, refused.body.code], [409, 'CONFLICT'], `${method}: ${JSON.stringify(refused.body)}`);
    }
    const after = (await suite.client.call('GET', `/dataset-tables/${table.tableId}`)).body;
    assert.deepEqual([after.tableName, after.rowCount], ['events', 4]);
  });
});
