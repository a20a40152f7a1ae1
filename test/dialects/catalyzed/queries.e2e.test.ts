import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useCatalyzedSuite } from '../../helpers/catalyzed-suite.ts';
import { tableFromIPC } from 'apache-arrow';

describe('Catalyzed queries', () => {
  const suite = useCatalyzedSuite();
  let orders: string;
  let customers: string;
  before(async () => {
    const datasetId = await suite.client.createDataset('shop');
    orders = await suite.client.createTable(datasetId, 'orders', [
      { name: 'id', arrowType: 'int64' }, { name: 'customer', arrowType: 'int32' }, { name: 'status', arrowType: 'utf8' }, { name: 'amount', arrowType: 'float64' },
    ], ['id']);
    customers = await suite.client.createTable(datasetId, 'customers', [{ name: 'id', arrowType: 'int32' }, { name: 'name', arrowType: 'utf8' }], ['id']);
    await suite.client.writeRows(orders, 'mode=append', 'json', [
      { id: 1, customer: 1, status: 'paid', amount: 10 },
      { id: 2, customer: 1, status: 'open', amount: 20 },
      { id: 3, customer: 2, status: 'paid', amount: 30 },
      { id: 4, customer: 2, status: null, amount: 40 },
      { id: '9007199254740993', customer: 3, status: 'big', amount: 0.1 },
    ]);
    await suite.client.writeRows(customers, 'mode=append', 'json', [{ id: 1, name: 'Ann' }, { id: 2, name: 'Bo' }]);
  });

  test('names in tables bind table ids; the answer has Arrow-typed columns, rows, the count and stats', async () => {
    const { status, body } = await suite.client.query(
      'SELECT c.name, sum(o.amount) AS total, count(*) AS n FROM orders o JOIN people c ON c.id = o.customer GROUP BY c.name ORDER BY c.name',
      { orders, people: customers },
    );
    assert.equal(status, 200, JSON.stringify(body));
    assert.match(body.queryId, /^[0-9a-z]{21}$/);
    assert.deepEqual(body.columns, [{ name: 'name', type: 'utf8' }, { name: 'total', type: 'float64' }, { name: 'n', type: 'int64' }]);
    assert.deepEqual(body.rows, [{ name: 'Ann', total: 30, n: 1 + 1 }, { name: 'Bo', total: 70, n: 2 }]);
    assert.deepEqual([body.rowCount, body.truncated, typeof body.stats.executionTimeMs], [2, false, 'number']);
  });

  test('64-bit integers keep every digit in JSON', async () => {
    const { body } = await suite.client.query('SELECT id FROM orders WHERE status = \'big\'', { orders });
    assert.deepEqual(body.rows, [{ id: '9007199254740993' }]);
  });

  const FILTER_CASES: Array<[filter: Record<string, unknown>, ids: unknown[]]> = [
    [{ field: 'status', op: 'eq', value: 'paid' }, [1, 3]],
    [{ field: 'status', op: 'neq', value: 'paid' }, [2, '9007199254740993']],
    [{ field: 'amount', op: 'gt', value: 20 }, [3, 4]],
    [{ field: 'amount', op: 'gte', value: 20 }, [2, 3, 4]],
    [{ field: 'amount', op: 'lt', value: 10 }, ['9007199254740993']],
    [{ field: 'amount', op: 'lte', value: 10 }, [1, '9007199254740993']],
    [{ field: 'customer', op: 'in', value: [2, 3] }, [3, 4, '9007199254740993']],
    [{ field: 'customer', op: 'not_in', value: [1, 2] }, ['9007199254740993']],
    [{ field: 'status', op: 'like', value: 'pa%' }, [1, 3]],
    [{ field: 'status', op: 'is_null' }, [4]],
    [{ field: 'STATUS', op: 'is_not_null' }, [1, 2, 3, '9007199254740993']],
    [{ field: 'id', op: 'eq', value: '9007199254740993' }, ['9007199254740993']],
  ];
  for (const [filter, ids] of FILTER_CASES) {
    test(`filter ${filter['op']} on ${filter['field']} applies before the query sees the table`, async () => {
      const { status, body } = await suite.client.query('SELECT id FROM o ORDER BY id', { o: { tableId: orders, filters: [filter] } });
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(body.rows.map((row: { id: unknown }) => row.id), ids);
    });
  }

  test('several filters all apply, also to aggregates, and each reference to a bound name is filtered', async () => {
    const filters = [{ field: 'status', op: 'eq', value: 'paid' }, { field: 'amount', op: 'gt', value: 15 }];
    const { body } = await suite.client.query('SELECT count(*) AS n, (SELECT count(*) FROM o) AS again FROM o', { o: { tableId: orders, filters } });
    assert.deepEqual(body.rows, [{ n: 1, again: 1 }]);
  });

  test('a filter value is read as the column\'s type: timestamps from ISO-8601 with offsets, fractions kept, bytes from base64, and a value that does not convert is a 400 naming it, even where the query reads no row', async () => {
    const datasetId = await suite.client.createDataset('typed_filters');
    const events = await suite.client.createTable(datasetId, 'events', [{ name: 'id', arrowType: 'int64' }, { name: 'at', arrowType: 'timestamp[ms]' }, { name: 'ok', arrowType: 'bool' }, { name: 'raw', arrowType: 'binary' }], ['id']);
    await suite.client.writeRows(events, 'mode=append', 'json', [{ id: 1, at: '2024-01-01T00:00:00Z', ok: true, raw: 'AAE=' }, { id: 2, at: '2024-06-01T00:00:00Z', ok: false, raw: '/w==' }]);
    const ids = async (filter: Record<string, unknown>, sql = 'SELECT id FROM e ORDER BY id') => {
      const { status, body } = await suite.client.query(sql, { e: { tableId: events, filters: [filter] } });
      return status === 200 ? body.rows.map((row: { id: number }) => row.id) : [status, body.code, body.message, body.details?.field];
    };
    assert.deepEqual(await ids({ field: 'at', op: 'gt', value: '2024-01-01T01:00:00+02:00' }), [1, 2]);
    assert.deepEqual(await ids({ field: 'at', op: 'lt', value: '2024-01-01T03:00:00+02:00' }), [1]);
    assert.deepEqual(await ids({ field: 'id', op: 'gt', value: 1.5 }), [2]);
    assert.deepEqual(await ids({ field: 'id', op: 'in', value: ['1', 2] }), [1, 2]);
    assert.deepEqual(await ids({ field: 'ok', op: 'eq', value: 'yes' }), [1]);
    const notTime = [400, 'VALIDATION_ERROR', 'Filter on "at": column "at": value "yesterday" is not a valid timestamp[ms]', 'at'];
    assert.deepEqual(await ids({ field: 'at', op: 'gt', value: 'yesterday' }), notTime);
    assert.deepEqual(await ids({ field: 'at', op: 'gt', value: 'yesterday' }, 'SELECT id FROM e WHERE false'), notTime);
    assert.deepEqual(await ids({ field: 'at', op: 'in', value: ['2024-01-01T00:00:00Z', 'yesterday'] }, 'SELECT id FROM e LIMIT 0'), notTime);
    assert.deepEqual(await ids({ field: 'id', op: 'eq', value: 'abc' }), [400, 'VALIDATION_ERROR', 'Filter on "id": "abc" is not a number', 'id']);
    // Bytes are base64, as rows are written and read in JSON.
    assert.deepEqual(await ids({ field: 'raw', op: 'eq', value: '/w==' }), [2]);
    const notBase64 = await ids({ field: 'raw', op: 'eq', value: 'not base64!' });
    assert.deepEqual(notBase64.slice(0, 2), [400, 'VALIDATION_ERROR']);
    assert.match(String(notBase64[2]), /Filter on "raw"/);
  });

  test('a float filter takes NaN and the infinities as rows written to the column do', async () => {
    const datasetId = await suite.client.createDataset('float_filters');
    const floats = await suite.client.createTable(datasetId, 'floats', [{ name: 'id', arrowType: 'int32' }, { name: 'f', arrowType: 'float64' }], ['id']);
    await suite.client.writeRows(floats, 'mode=append', 'json', [{ id: 1, f: 'Infinity' }, { id: 2, f: 'NaN' }, { id: 3, f: '-Infinity' }, { id: 4, f: 1.5 }]);
    const ids = async (filter: Record<string, unknown>) => {
      const { status, body } = await suite.client.query('SELECT id FROM t ORDER BY id', { t: { tableId: floats, filters: [filter] } });
      assert.equal(status, 200, JSON.stringify(body));
      return body.rows.map((row: { id: number }) => row.id);
    };
    assert.deepEqual(await ids({ field: 'f', op: 'eq', value: 'Infinity' }), [1]);
    assert.deepEqual(await ids({ field: 'f', op: 'eq', value: 'NaN' }), [2]);
    assert.deepEqual(await ids({ field: 'f', op: 'in', value: ['-inf', 1.5] }), [3, 4]);
    assert.deepEqual(await ids({ field: 'f', op: 'lt', value: 'inf' }), [3, 4]);
  });

  test('a struct filter takes a JSON object of its fields, or its text, nested structs and lists included; a member that is no field is a 400', async () => {
    const datasetId = await suite.client.createDataset('struct_filters');
    const table = await suite.client.createTable(datasetId, 'structs', [
      { name: 'id', arrowType: 'int32' }, { name: 'st', arrowType: 'struct<a: int32, b: utf8>' },
      { name: 'deep', arrowType: 'struct<tags: list<utf8>, inner: struct<z: float64>>' },
    ], ['id']);
    await suite.client.writeRows(table, 'mode=append', 'json', [
      { id: 1, st: { a: 1, b: 'q' }, deep: { tags: ['x'], inner: { z: 1.5 } } },
      { id: 2, st: { a: 1, b: 'r' }, deep: { tags: ['x', 'y'], inner: { z: 2.5 } } },
    ]);
    const ids = async (filter: Record<string, unknown>) => {
      const { status, body } = await suite.client.query('SELECT id FROM t ORDER BY id', { t: { tableId: table, filters: [filter] } });
      assert.equal(status, 200, JSON.stringify(body));
      return body.rows.map((row: { id: number }) => row.id);
    };
    assert.deepEqual(await ids({ field: 'st', op: 'eq', value: '{"a": 1, "b": "q"}' }), [1]);
    assert.deepEqual(await ids({ field: 'st', op: 'neq', value: { a: 1, b: 'q' } }), [2]);
    assert.deepEqual(await ids({ field: 'deep', op: 'eq', value: { tags: ['x', 'y'], inner: { z: 2.5 } } }), [2]);
    assert.deepEqual(await ids({ field: 'st', op: 'in', value: [{ a: 1, b: 'r' }, '{"a": 9, "b": "none"}'] }), [2]);
    const unknown = await suite.client.query('SELECT id FROM t', { t: { tableId: table, filters: [{ field: 'st', op: 'eq', value: { a: 1, zz: 2 } }] } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /"zz" is no field of the struct/);
  });

  test('a JSON number in a filter keeps every digit a double would lose: eq and in on int64, uint64 and decimal columns match the rows written with those numbers', async () => {
    const datasetId = await suite.client.createDataset('exact_filters');
    const numbers = await suite.client.createTable(datasetId, 'numbers', [
      { name: 'n', arrowType: 'int32' }, { name: 'i', arrowType: 'int64' }, { name: 'u', arrowType: 'uint64' },
      { name: 'd', arrowType: 'decimal128(38, 0)' }, { name: 'f', arrowType: 'decimal128(20, 2)' },
    ], ['n']);
    // Written as JSON numbers, which row writes store exactly; neighbours differ only past a double's precision.
    const written = await suite.client.write(numbers, 'mode=append', `[
      {"n": 1, "i": 9007199254740993, "u": 18446744073709551615, "d": 123456789012345678901234567, "f": 123456789012345678.91},
      {"n": 2, "i": 9007199254740992, "u": 18446744073709551614, "d": 123456789012345678901234568, "f": 123456789012345678.90},
      {"n": 3, "i": -9007199254740993, "u": 1, "d": 1, "f": 1.5}]`, 'application/json');
    assert.equal(written.status, 200, JSON.stringify(written.body));
    // The body is sent as text: JSON.stringify would round the numbers before the server saw them.
    const ns = async (filter: string) => {
      const response = await suite.server.fetch('/queries', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: `{"sql": "SELECT n FROM t ORDER BY n", "tables": {"t": {"tableId": "${numbers}", "filters": [${filter}]}}}`,
      });
      const body = (await response.json()) as { rows: Array<{ n: number }> };
      assert.equal(response.status, 200, `${filter}: ${JSON.stringify(body)}`);
      return body.rows.map((row) => row.n);
    };
    assert.deepEqual(await ns('{"field": "i", "op": "eq", "value": 9007199254740993}'), [1]);
    assert.deepEqual(await ns('{"field": "i", "op": "eq", "value": -9007199254740993}'), [3]);
    assert.deepEqual(await ns('{"field": "i", "op": "in", "value": [9007199254740993, -9007199254740993]}'), [1, 3]);
    assert.deepEqual(await ns('{"field": "u", "op": "eq", "value": 18446744073709551615}'), [1]);
    assert.deepEqual(await ns('{"field": "u", "op": "in", "value": [18446744073709551614, 1]}'), [2, 3]);
    assert.deepEqual(await ns('{"field": "d", "op": "eq", "value": 123456789012345678901234567}'), [1]);
    assert.deepEqual(await ns('{"field": "d", "op": "in", "value": [123456789012345678901234568, 1]}'), [2, 3]);
    assert.deepEqual(await ns('{"field": "f", "op": "eq", "value": 123456789012345678.91}'), [1]);
    assert.deepEqual(await ns('{"field": "f", "op": "in", "value": [123456789012345678.9, 1.5]}'), [2, 3]);
    // Numbers a double holds are read as before, and big ones elsewhere in the body are still refused.
    assert.deepEqual(await ns('{"field": "i", "op": "gt", "value": 9007199254740992.0}'), [1]);
    const refused = await suite.server.fetch('/queries', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql": "SELECT 1", "maxRows": 100000000000000000001}',
    });
    assert.equal(refused.status, 400);
  });

  test('a filter value is a literal, never SQL', async () => {
    const { status, body } = await suite.client.query('SELECT count(*) AS n FROM o', { o: { tableId: orders, filters: [{ field: 'status', op: 'eq', value: "paid' OR 1=1 --" }] } });
    assert.deepEqual([status, body.rows], [200, [{ n: 0 }]]);
  });

  test('maxRows bounds the rows and says the result was truncated; it defaults to 1000 and may not exceed 10000', async () => {
    const limited = (await suite.client.query('SELECT * FROM range(5000) r(i)', {}, { maxRows: 3 })).body;
    assert.deepEqual([limited.rows.length, limited.rowCount, limited.truncated], [3, 3, true]);
    const byDefault = (await suite.client.query('SELECT * FROM range(5000) r(i)', {})).body;
    assert.deepEqual([byDefault.rowCount, byDefault.truncated], [1000, true]);
    const exact = (await suite.client.query('SELECT * FROM range(10) r(i)', {}, { maxRows: 10 })).body;
    assert.deepEqual([exact.rowCount, exact.truncated], [10, false]);
    for (const maxRows of [0, 10_001, 'many']) assert.equal((await suite.client.query('SELECT 1', {}, { maxRows })).status, 400, String(maxRows));
  });

  test('includeStats: false leaves the stats out', async () => {
    const { body } = await suite.client.query('SELECT 1 AS one', {}, { includeStats: false });
    assert.deepEqual(Object.keys(body).sort(), ['columns', 'queryId', 'rowCount', 'rows', 'truncated']);
  });

  test('Accept: application/vnd.apache.arrow.stream answers Arrow IPC with the query id, row count and truncation in headers', async () => {
    const response = await suite.server.fetch('/queries', {
      method: 'POST', headers: { accept: 'application/vnd.apache.arrow.stream', 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT id, status FROM orders ORDER BY id', tables: { orders }, maxRows: 2 }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/vnd.apache.arrow.stream');
    assert.match(response.headers.get('x-query-id') ?? '', /^[0-9a-z]{21}$/);
    assert.deepEqual([response.headers.get('x-row-count'), response.headers.get('x-truncated')], ['2', 'true']);
    const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    assert.deepEqual(table.toArray().map((row) => ({ id: Number(row.id), status: row.status })), [{ id: 1, status: 'paid' }, { id: 2, status: 'open' }]);
  });

  test('a struct without field names keeps every field, by position: a JSON array, and an Arrow struct', async () => {
    const sql = "SELECT (1, 'x') AS t, [(2, 'a'), (3, 'b')] AS l, {'n': (4, 5)} AS s";
    const { status, body } = await suite.client.query(sql, {});
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.rows, [{ t: [1, 'x'], l: [[2, 'a'], [3, 'b']], s: { n: [4, 5] } }]);
    const response = await suite.server.fetch('/queries', {
      method: 'POST', headers: { accept: 'application/vnd.apache.arrow.stream', 'content-type': 'application/json' },
      body: JSON.stringify({ sql: "SELECT (1, 'x') AS t" }),
    });
    assert.equal(response.status, 200);
    const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    const struct = table.getChild('t')!.get(0)!;
    assert.deepEqual([...struct].map(([, value]) => value), [1, 'x']);
  });

  test('a date64 column keeps its declared type: the schema and the query columns say date64, and an Arrow result carries Date(MILLISECOND)', async () => {
    const datasetId = await suite.client.createDataset('calendar');
    const days = await suite.client.createTable(datasetId, 'days', [{ name: 'id', arrowType: 'int32' }, { name: 'd', arrowType: 'date64' }, { name: 'd32', arrowType: 'date32' }]);
    await suite.client.writeRows(days, 'mode=append', 'json', [{ id: 1, d: '2024-05-01', d32: '2024-05-01' }]);
    const schema = (await suite.client.call('GET', `/dataset-tables/${days}/schema`)).body;
    assert.deepEqual(schema.fields.map(({ dataType }: { dataType: string }) => dataType), ['int32', 'date64', 'date32']);

    const { status, body } = await suite.client.query('SELECT id, d, d32, max(d) AS latest FROM t GROUP BY ALL', { t: { tableId: days, filters: [{ field: 'd', op: 'gte', value: '2024-01-01' }] } });
    assert.equal(status, 200, JSON.stringify(body));
    // A computed date is DuckDB's DATE: date32.
    assert.deepEqual(body.columns, [{ name: 'id', type: 'int32' }, { name: 'd', type: 'date64' }, { name: 'd32', type: 'date32' }, { name: 'latest', type: 'date32' }]);
    assert.deepEqual(body.rows, [{ id: 1, d: '2024-05-01', d32: '2024-05-01', latest: '2024-05-01' }]);

    const response = await suite.server.fetch('/queries', {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/vnd.apache.arrow.stream' },
      body: JSON.stringify({ sql: 'SELECT d, d32 FROM t', tables: { t: days } }),
    });
    assert.equal(response.status, 200);
    const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    assert.deepEqual(table.schema.fields.map((field) => String(field.type)), ['Date64<MILLISECOND>', 'Date32<DAY>']);
    assert.deepEqual(table.toArray().map((row) => [row.d, row.d32]), [[Date.UTC(2024, 4, 1), Date.UTC(2024, 4, 1)]]);
  });

  /** An Arrow result's rows and, per field, its name, type and nullability. */
  async function arrowResult(sql: string, tables: Record<string, unknown>): Promise<{ fields: Array<[string, string, boolean]>; rows: unknown[][] }> {
    const response = await suite.server.fetch('/queries', {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/vnd.apache.arrow.stream' }, body: JSON.stringify({ sql, tables }),
    });
    assert.equal(response.status, 200, sql);
    const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    return {
      fields: table.schema.fields.map((field) => [field.name, String(field.type), field.nullable]),
      rows: table.toArray().map((row) => table.schema.fields.map((field) => row[field.name])),
    };
  }

  test('Arrow result fields are nullable unless the query says a column never holds NULL, whatever the rows: a nullable column filtered to its values stays nullable, a key column or a count is not', async () => {
    const datasetId = await suite.client.createDataset('nullability');
    const t = await suite.client.createTable(datasetId, 'values', [{ name: 'id', arrowType: 'int32' }, { name: 'v', arrowType: 'int32' }], ['id']);
    await suite.client.writeRows(t, 'mode=append', 'json', [{ id: 1, v: 10 }, { id: 2 }]);
    const cases: Array<[sql: string, fields: Array<[string, string, boolean]>]> = [
      ['SELECT v FROM t WHERE v IS NOT NULL', [['v', 'Int32', true]]],
      ['SELECT v FROM t', [['v', 'Int32', true]]],
      ['SELECT id, v FROM t WHERE id > 100', [['id', 'Int32', false], ['v', 'Int32', true]]],
      ['SELECT * FROM t', [['id', 'Int32', false], ['v', 'Int32', true]]],
      ['SELECT count(*) AS n, max(id) AS top FROM t', [['n', 'Int64', false], ['top', 'Int32', true]]],
      // A left join may give a row without a match, whatever the rows give.
      ['SELECT b.id FROM t a LEFT JOIN t b ON a.id = b.id', [['id', 'Int32', true]]],
    ];
    for (const [sql, fields] of cases) {
      assert.deepEqual((await arrowResult(sql, { t })).fields, fields, sql);
      // The JSON answer names the same columns and types, and says nothing of nullability.
      const { body } = await suite.client.query(sql, { t });
      assert.deepEqual(body.columns, fields.map(([name, type]) => ({ name, type: type.toLowerCase() })), sql);
    }
  });

  test('a column declared null, and a NULL of no other type, are typed null in columns and Null in an Arrow result; a NULL cast to a type keeps that type', async () => {
    const datasetId = await suite.client.createDataset('nothing');
    const t = await suite.client.createTable(datasetId, 'gaps', [{ name: 'id', arrowType: 'int32' }, { name: 'n', arrowType: 'null' }], ['id']);
    await suite.client.writeRows(t, 'mode=append', 'json', [{ id: 1 }, { id: 2, n: null }]);
    const sql = 'SELECT id, n, NULL AS x, NULL::INTEGER AS y FROM t ORDER BY id';
    const { status, body } = await suite.client.query(sql, { t });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.columns, [{ name: 'id', type: 'int32' }, { name: 'n', type: 'null' }, { name: 'x', type: 'null' }, { name: 'y', type: 'int32' }]);
    assert.deepEqual(body.rows, [{ id: 1, n: null, x: null, y: null }, { id: 2, n: null, x: null, y: null }]);
    assert.deepEqual(await arrowResult(sql, { t }), {
      fields: [['id', 'Int32', false], ['n', 'Null', true], ['x', 'Null', true], ['y', 'Int32', true]],
      rows: [[1, null, null, null], [2, null, null, null]],
    });
    const bare = await suite.client.query('SELECT NULL AS x', {});
    assert.deepEqual([bare.body.columns, bare.body.rows], [[{ name: 'x', type: 'null' }], [{ x: null }]]);
    assert.deepEqual((await arrowResult('SELECT NULL AS x', {})).fields, [['x', 'Null', true]]);
  });

  test('refused queries: unbound names, unknown ids and fields, unknown ops and binding keys, writes and SQL errors', async () => {
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ['SELECT * FROM nowhere', {}, 400, 'VALIDATION_ERROR'],
      ['SELECT * FROM shop.orders', { orders }, 400, 'VALIDATION_ERROR'],
      ['SELECT * FROM t', { t: 'x'.repeat(21) }, 404, 'NOT_FOUND'],
      ['SELECT * FROM t', { t: { tableId: orders, filters: [{ field: 'nope', op: 'eq', value: 1 }] } }, 400, 'VALIDATION_ERROR'],
      ['SELECT * FROM t', { t: { tableId: orders, filters: [{ field: 'id', op: 'between', value: 1 }] } }, 400, 'VALIDATION_ERROR'],
      ['SELECT * FROM t', { t: { tableId: orders, filters: [{ field: 'id', op: 'in', value: [] }] } }, 400, 'VALIDATION_ERROR'],
      ['SELECT * FROM t', { t: { tableId: orders, filters: [{ field: 'id', op: 'like', value: '1%' }] } }, 400, 'VALIDATION_ERROR'],
      // A misspelt key would be ignored and every row read.
      ['SELECT * FROM t', { t: { tableId: orders, filter: [{ field: 'id', op: 'eq', value: 1 }] } }, 400, 'VALIDATION_ERROR'],
      ['DELETE FROM t', { t: orders }, 400, 'QUERY_ERROR'],
      ['SELECT * FROM read_csv(\'/etc/passwd\')', {}, 400, 'QUERY_ERROR'],
      ['SELEC 1', {}, 400, 'QUERY_ERROR'],
      ['SELECT no_such_column FROM t', { t: orders }, 400, 'QUERY_ERROR'],
    ];
    for (const [sql, tables, status, code] of cases) {
      const response = await suite.client.query(sql, tables);
      assert.deepEqual([response.status, response.body.code], [status, code], `${sql} ${JSON.stringify(tables)}: ${JSON.stringify(response.body)}`);
    }
    assert.equal((await suite.client.call('POST', '/queries', { tables: {} })).status, 400);
  });

  test('a query that names no table needs a read scope: 403 for a token that only writes, 200 for one that reads', async () => {
    const { secret: writer } = await suite.server.core.tokens.create('shop-writer', [{ action: 'append', namespace: 'shop' }]);
    const { secret: reader } = await suite.server.core.tokens.create('shop-reader', [{ action: 'read', namespace: 'shop', table: 'orders' }]);
    const denied = await suite.client.query('SELECT count(*) AS n FROM range(10)', { o: orders }, {}, writer);
    assert.deepEqual([denied.status, denied.body], [403, { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' }]);
    const answered = await suite.client.query('SELECT count(*) AS n FROM range(10)', {}, {}, reader);
    assert.deepEqual([answered.status, answered.body.rows], [200, [{ n: 10 }]]);
  });

  test('a token reads only the tables its scopes allow', async () => {
    const { secret } = await suite.server.core.tokens.create('customers-reader', [{ action: 'read', namespace: 'shop', table: 'customers' }]);
    assert.equal((await suite.client.query('SELECT count(*) FROM c', { c: customers }, {}, secret)).status, 200);
    const denied = await suite.client.query('SELECT count(*) FROM o', { o: orders }, {}, secret);
    assert.deepEqual([denied.status, denied.body.error], [403, 'FORBIDDEN']);
  });
});

describe('Catalyzed overwrite atomicity', () => {
  const suite = useCatalyzedSuite();

  test('readers during overwrites see all old rows or all new rows, never an empty or half table', async () => {
    const datasetId = await suite.client.createDataset('atomic');
    const tableId = await suite.client.createTable(datasetId, 'snapshot', [{ name: 'id', arrowType: 'int64' }, { name: 'generation', arrowType: 'int32' }], ['id']);
    const generation = (number: number, size: number) => JSON.stringify(Array.from({ length: size }, (_, id) => ({ id, generation: number })));
    const sizes = [3000, 5000, 2000, 4000, 6000];
    await suite.client.write(tableId, 'mode=overwrite', generation(0, sizes[0]!), 'application/json');

    let writing = true;
    const seen: Array<{ n: number; generations: number; generation: number }> = [];
    const reader = async () => {
      while (writing) {
        const { status, body } = await suite.client.query('SELECT count(*) AS n, count(DISTINCT generation) AS generations, min(generation) AS generation FROM t', { t: tableId });
        assert.equal(status, 200);
        seen.push(body.rows[0]);
      }
    };
    const readers = Array.from({ length: 4 }, reader);
    for (let number = 1; number < sizes.length; number += 1) {
      const { status, body } = await suite.client.write(tableId, 'mode=overwrite', generation(number, sizes[number]!), 'application/json');
      assert.deepEqual([status, body.rows_deleted, body.rows_inserted], [200, sizes[number - 1], sizes[number]]);
    }
    writing = false;
    await Promise.all(readers);

    assert.ok(seen.length > 0);
    for (const snapshot of seen) {
      assert.equal(snapshot.generations, 1, JSON.stringify(snapshot));
      assert.equal(snapshot.n, sizes[snapshot.generation], JSON.stringify(snapshot));
    }
    assert.deepEqual(await suite.client.query('SELECT count(*) AS n, min(generation) AS g FROM t', { t: tableId }).then((response) => response.body.rows), [{ n: 6000, g: 4 }]);
  });
});
