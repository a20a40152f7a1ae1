import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from '../../helpers/test-server.ts';
import { useTinybirdSuite } from '../../helpers/tinybird-suite.ts';

describe('Tinybird Analyze API', () => {
  const suite = useTinybirdSuite();

  const analyzeFile = (part: string, fileName: string, content: string) => {
    const form = new FormData();
    form.append(part, new Blob([content]), fileName);
    return suite.server.fetch('/v0/analyze', { method: 'POST', body: form });
  };

  test('an NDJSON file gives the seed example: columns, JSONPaths, types, schema and preview', async () => {
    const response = await analyzeFile('ndjson', 'local_file.ndjson', '{"a_nested_array": {"nested_array": [1, 2, 3]}, "an_array": [1, 2, 3], "field": "test", "nested": {"nested_field": "bla"}}\n');
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.analysis.columns, [
      { path: '$.a_nested_array.nested_array[:]', recommended_type: 'Array(Int16)', present_pct: 3, name: 'a_nested_array_nested_array' },
      { path: '$.an_array[:]', recommended_type: 'Array(Int16)', present_pct: 3, name: 'an_array' },
      { path: '$.field', recommended_type: 'String', present_pct: 1, name: 'field' },
      { path: '$.nested.nested_field', recommended_type: 'String', present_pct: 1, name: 'nested_nested_field' },
    ]);
    assert.equal(body.analysis.schema,
      'a_nested_array_nested_array Array(Int16) `json:$.a_nested_array.nested_array[:]`, an_array Array(Int16) `json:$.an_array[:]`, field String `json:$.field`, nested_nested_field String `json:$.nested.nested_field`');
    assert.deepEqual(body.preview.meta, [
      { name: 'a_nested_array_nested_array', type: 'Array(Int16)' }, { name: 'an_array', type: 'Array(Int16)' },
      { name: 'field', type: 'String' }, { name: 'nested_nested_field', type: 'String' },
    ]);
    assert.deepEqual(body.preview.data, [{ a_nested_array_nested_array: [1, 2, 3], an_array: [1, 2, 3], field: 'test', nested_nested_field: 'bla' }]);
    assert.equal(body.preview.rows, 1);
  });

  test('an NDJSON file opening with a byte order mark is analyzed and previewed from its first record, strings in arrays without their quotes; lines may end in \\r\\n and \\n, blank ones among them', async () => {
    const response = await analyzeFile('ndjson', 'bom.ndjson', '\ufeff{"id": 1, "tags": ["a"]}\r\n{"id": 2}\r\n');
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.analysis.schema, 'id Int16 `json:$.id`, tags Array(String) `json:$.tags[:]`');
    assert.deepEqual(body.preview.data, [{ id: 1, tags: ['a'] }, { id: 2, tags: [] }]);
    const mixed = await (await analyzeFile('ndjson', 'mixed.ndjson', '{"id": 1}\r\n\n{"id": 2}\n')).json();
    assert.deepEqual(mixed.preview?.data, [{ id: 1 }, { id: 2 }], JSON.stringify(mixed));
    // The Events API infers a new data source the same way.
    const created = await suite.server.fetch('/v0/events?name=mixed_endings&wait=true', { method: 'POST', body: '{"id": 1}\r\n\n{"id": 2}\n' });
    assert.deepEqual(await created.json(), { successful_rows: 2, quarantined_rows: 0 });
  });

  test('a record of 3,000 keys is analyzed and previewed with every column holding its value', async () => {
    const record = (row: number) => JSON.stringify(Object.fromEntries(Array.from({ length: 3000 }, (_, key) => [`k${key}`, row * 100_000 + key])));
    const response = await analyzeFile('ndjson', 'wide.ndjson', `${record(1)}\n${record(2)}\n`);
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body).slice(0, 500));
    assert.equal(body.analysis.columns.length, 3000);
    assert.deepEqual(body.analysis.columns[2999], { path: '$.k2999', recommended_type: 'Int32', present_pct: 1, name: 'k2999' });
    assert.equal(body.preview.data.length, 2);
    for (const [index, row] of body.preview.data.entries()) {
      assert.deepEqual([row.k0, row.k1500, row.k2999], [(index + 1) * 100_000, (index + 1) * 100_000 + 1500, (index + 1) * 100_000 + 2999]);
    }
  });

  test('the analyzed schema creates a data source that takes the same file', async () => {
    const ndjson = '{"id": 1, "user": {"name": "a"}}\n{"id": 2, "user": {"name": "b"}}\n';
    const analysis = await (await analyzeFile('file', 'users.ndjson', ndjson)).json();
    const form = new FormData();
    form.append('ndjson', new Blob([ndjson]), 'users.ndjson');
    const created = await suite.server.fetch(`/v0/datasources?name=users&format=ndjson&schema=${encodeURIComponent(analysis.analysis.schema)}`, { method: 'POST', body: form });
    assert.equal(created.status, 200, await created.clone().text());
    const rows = await (await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT id, user_name FROM users ORDER BY id')}`)).json();
    assert.deepEqual(rows.data, [{ id: 1, user_name: 'a' }, { id: 2, user_name: 'b' }]);
  });

  test('arrays read from the members of an array of objects keep one item per element, null where an element lacks the member, in the preview and in the data source', async () => {
    const ndjson = '{"id": 1, "items": [{"sku": "A"}, {"sku": "B", "qty": 5}]}\n{"id": 2, "items": [{"sku": "C", "qty": 1}, {"sku": "D"}]}\n';
    const analysis = await (await analyzeFile('ndjson', 'orders.ndjson', ndjson)).json();
    assert.equal(analysis.analysis.schema, 'id Int16 `json:$.id`, items_sku Array(String) `json:$.items[:].sku`, items_qty Array(Nullable(Int16)) `json:$.items[:].qty`');
    const expected = [{ id: 1, items_sku: ['A', 'B'], items_qty: [null, 5] }, { id: 2, items_sku: ['C', 'D'], items_qty: [1, null] }];
    assert.deepEqual(analysis.preview.data, expected);
    const form = new FormData();
    form.append('ndjson', new Blob([ndjson]), 'orders.ndjson');
    const created = await suite.server.fetch(`/v0/datasources?name=orders&format=ndjson&schema=${encodeURIComponent(analysis.analysis.schema)}`, { method: 'POST', body: form });
    assert.equal(created.status, 200, await created.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, items_sku, items_qty FROM orders ORDER BY id'), expected);
    // A member missing under a column whose elements are not Nullable quarantines the row, naming the column.
    const gap = await suite.server.fetch('/v0/events?name=orders&wait=true', { method: 'POST', body: '{"id": 3, "items": [{"qty": 2}, {"sku": "E"}]}\n' });
    assert.deepEqual(await gap.json(), { successful_rows: 0, quarantined_rows: 1 });
    assert.deepEqual(await suite.tb.sql('SELECT c__error_column FROM orders_quarantine'), [{ c__error_column: ['items_sku'] }]);
  });

  test('a CSV column of numbers and \\N (ClickHouse\'s NULL) is recommended as nullable numbers, \\N read as NULL as imports read it, in the preview too', async () => {
    const response = await analyzeFile('csv', 'nulls.csv', 'id,n,s\n1,\\N,\\N\n2,30,x\n3,\\N,y\n');
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.analysis.columns.map((column: { name: string; recommended_type: string }) => [column.name, column.recommended_type]), [['id', 'Int32'], ['n', 'Nullable(Int32)'], ['s', 'Nullable(String)']]);
    assert.deepEqual(body.preview.data, [{ id: 1, n: null, s: null }, { id: 2, n: 30, s: 'x' }, { id: 3, n: null, s: 'y' }]);
  });

  test('a CSV file adds its dialect, and a URL can be analyzed', async () => {
    const url = suite.files.serve('/semicolon.csv', 'id;name\n1;x\n2;y\n');
    const response = await suite.server.fetch('/v0/analyze', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ url }).toString() });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.dialect, { delimiter: ';', has_header: true, newline: '\n', escapechar: null, encoding: 'utf-8' });
    assert.deepEqual(body.analysis.columns.map((column: { name: string; recommended_type: string }) => [column.name, column.recommended_type]), [['id', 'Int32'], ['name', 'String']]);
    assert.deepEqual(body.preview.data, [{ id: 1, name: 'x' }, { id: 2, name: 'y' }]);
  });

  test('a server with default settings refuses to import from its own network', async () => {
    const guarded = await TestServer.start({ allowPrivateUrls: false });
    try {
      const url = suite.files.serve('/internal.csv', 'id\n1\n');
      const response = await guarded.fetch('/v0/analyze', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ url }).toString() });
      assert.equal(response.status, 400);
      assert.match((await response.json()).error, /loopback, private or reserved address/);
    } finally {
      await guarded.stop();
    }
  });

  test('a CSV whose quoted field holds a line break on a row with more fields than the header is analyzed and imported, not a 500', async () => {
    const analyzed = await analyzeFile('csv', 't.csv', 'a\n"x\ny",1\n');
    const body = await analyzed.json();
    assert.equal(analyzed.status, 200, JSON.stringify(body));
    assert.deepEqual(body.analysis.columns.map((column: { name: string }) => column.name), ['a']);
    assert.equal((await suite.tb.upload('name=wrapped', 'csv', 't.csv', 'a\n"x\ny",1\n')).status, 200);
  });

  test('a CSV of 2,000 columns is analyzed with each column typed by its own values, measured a hundred columns at a time', async () => {
    const values = ['7', 'text', '2024-01-02'];
    const header = Array.from({ length: 2000 }, (_, index) => `c${index}`).join(',');
    const row = Array.from({ length: 2000 }, (_, index) => values[index % 3]).join(',');
    const response = await analyzeFile('csv', 'wide.csv', `${header}\n${row}\n${row}\n`);
    const body = await response.json();
    assert.equal(response.status, 200);
    const types = body.analysis.columns.map((column: { recommended_type: string }) => column.recommended_type);
    assert.equal(types.length, 2000);
    assert.deepEqual([types[0], types[1], types[2], types[1998], types[1999]], ['Int32', 'String', 'Date', 'Int32', 'String']);
  });

  test('NDJSON of records without values is a 400 saying so, not a 500', async () => {
    const response = await analyzeFile('ndjson', 'e.ndjson', '{}\n{}\n');
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error: 'The file has no columns to analyze: its records hold no values' });
  });

  test('analyze without a file or url is a 400, and needs the create scope', async () => {
    const empty = await suite.server.fetch('/v0/analyze', { method: 'POST' });
    assert.equal(empty.status, 400);
    const token = await (await suite.server.fetch('/v0/tokens?name=r&scope=DATASOURCES:READ:x', { method: 'POST' })).json();
    const denied = await suite.server.fetch('/v0/analyze', { method: 'POST', token: token.token });
    assert.equal(denied.status, 403);
  });
});
