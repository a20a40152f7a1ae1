import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from '../../helpers/test-server.ts';
import { FelderaClient, felderaError } from './feldera-fixture.ts';

const ITEMS = `
  CREATE TABLE items (
    id BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR NOT NULL,
    price DECIMAL(10, 2)
  );
  CREATE MATERIALIZED VIEW expensive AS SELECT id, name FROM items WHERE price > 10;`;

const itemsOf = (client: FelderaClient, pipeline: string) => client.rows(pipeline, 'SELECT id, name, price FROM items ORDER BY id');
const expensiveOf = (client: FelderaClient, pipeline: string) => client.rows(pipeline, 'SELECT id, name FROM expensive ORDER BY id');

/** The same changes in each update format: 1, 2 and 3 inserted, 3 deleted, 1 replaced. */
const CHANGES: Record<string, string[]> = {
  insert_delete: [
    '{"insert": {"id": 1, "name": "a", "price": 5}}',
    '{"insert": {"id": 2, "name": "b", "price": 20}}',
    '{"insert": {"id": 3, "name": "c", "price": 30}}',
    '{"delete": {"id": 3}}',
    '{"insert": {"id": 1, "name": "a2", "price": 15}}',
  ],
  raw: [
    '{"id": 1, "name": "a", "price": 5}',
    '{"id": 2, "name": "b", "price": 20}',
    '{"id": 1, "name": "a2", "price": 15}',
  ],
  weighted: [
    '{"weight": 1, "data": {"id": 1, "name": "a", "price": 5}}',
    '{"weight": 1, "data": {"id": 2, "name": "b", "price": 20}}',
    '{"weight": 1, "data": {"id": 3, "name": "c", "price": 30}}',
    '{"weight": -1, "data": {"id": 3, "name": "c", "price": 30}}',
    '{"weight": 1, "data": {"id": 1, "name": "a2", "price": 15}}',
  ],
  debezium: [
    '{"payload": {"op": "c", "before": null, "after": {"id": 1, "name": "a", "price": 5}}}',
    '{"payload": {"op": "c", "before": null, "after": {"id": 2, "name": "b", "price": 20}}}',
    '{"payload": {"op": "r", "before": null, "after": {"id": 3, "name": "c", "price": 30}}}',
    '{"payload": {"op": "d", "before": {"id": 3, "name": "c", "price": 30}, "after": null}}',
    '{"payload": {"op": "u", "before": {"id": 1, "name": "a", "price": 5}, "after": {"id": 1, "name": "a2", "price": 15}}}',
  ],
};

describe('Feldera ingress', () => {
  let server: TestServer;
  let client: FelderaClient;
  let count = 0;
  const fresh = async (program = ITEMS) => {
    count += 1;
    await client.pipeline(`p${count}`, program);
    return `p${count}`;
  };

  before(async () => {
    server = await TestServer.start();
    client = new FelderaClient(server);
  });
  after(() => server.stop());

  for (const [updateFormat, records] of Object.entries(CHANGES)) {
    for (const array of [false, true]) {
      test(`${updateFormat} changes${array ? ' in arrays' : ''} apply in order to the table and its view`, async () => {
        const pipeline = await fresh();
        const body = array ? `[${records.slice(0, 2).join(', ')}]\n[${records.slice(2).join(',\n ')}]` : records.join('\n');
        await client.pushOk(pipeline, 'items', body, `force=false&format=json&array=${array}&update_format=${updateFormat}`);
        assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'a2', price: 15 }, { id: 2, name: 'b', price: 20 }]);
        assert.deepEqual(await expensiveOf(client, pipeline), [{ id: 1, name: 'a2' }, { id: 2, name: 'b' }]);
      });
    }
  }

  test('two thousand changes to five keys in one push leave what applying them one by one leaves, in the table and its view', async () => {
    const pipeline = await fresh();
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "one", "price": 11}}\n{"insert": {"id": 2, "name": "two", "price": 2}}');
    // The model: the rows by key, changed one record at a time as Feldera applies them.
    type Item = { id: number; name: string; price: number | null };
    const model = new Map<number, Item>([[1, { id: 1, name: 'one', price: 11 }], [2, { id: 2, name: 'two', price: 2 }]]);
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor(seed / 65536) % n;
    };
    const records: string[] = [];
    for (let index = 0; index < 2000; index += 1) {
      const id = 1 + random(5);
      const row = model.get(id);
      const choice = random(6);
      if (choice === 0) {
        records.push(JSON.stringify({ delete: { id } }));
        model.delete(id);
      } else if (choice === 1) {
        const item = { id, name: `n${index}`, price: random(4) === 0 ? null : random(30) };
        records.push(JSON.stringify({ insert: item }));
        model.set(id, item);
      } else {
        const sets = [{ name: `u${index}` }, { price: random(30) }, { price: null }, { name: `b${index}`, price: random(30) }][choice - 2]!;
        records.push(JSON.stringify({ update: { id, ...sets } }));
        if (row) model.set(id, { ...row, ...sets });
      }
    }
    await client.pushOk(pipeline, 'items', records.join('\n'));
    const expected = [...model.values()].sort((a, b) => a.id - b.id);
    assert.ok(expected.length > 0 && expected.length < 5, 'the sequence leaves some keys without a row');
    assert.deepEqual(await itemsOf(client, pipeline), expected);
    assert.deepEqual(await expensiveOf(client, pipeline), expected.filter((item) => (item.price ?? 0) > 10).map(({ id, name }) => ({ id, name })));
  });

  test('in one push an update after a delete of its key is ignored, and an insert after a delete brings the key back', async () => {
    const pipeline = await fresh();
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "a", "price": 5}}\n{"insert": {"id": 2, "name": "b", "price": 6}}');
    await client.pushOk(pipeline, 'items', [
      '{"update": {"id": 1, "price": 7}}',
      '{"delete": {"id": 1}}',
      '{"update": {"id": 1, "name": "ghost"}}',
      '{"delete": {"id": 2}}',
      '{"insert": {"id": 2, "name": "back", "price": null}}',
      '{"update": {"id": 2, "price": 12}}',
      '{"insert": {"id": 3, "name": "new", "price": 1}}',
      '{"delete": {"id": 3}}',
    ].join('\n'));
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 2, name: 'back', price: 12 }]);
    assert.deepEqual(await expensiveOf(client, pipeline), [{ id: 2, name: 'back' }]);
  });

  test('beside a DECIMAL column, a record with long numbers keeps the numbers of its VARIANT column as numbers, in each update format', async () => {
    const pipeline = await fresh('CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, d DECIMAL(30, 20), p VARIANT);');
    const row = (id: number) => `{"id": ${id}, "d": 0.12345678901234567891, "p": {"x": 1.5, "y": [2.25]}}`;
    await client.pushOk(pipeline, 't', `{"insert": ${row(1)}}`, 'format=json&update_format=insert_delete');
    await client.pushOk(pipeline, 't', `{"weight": 1, "data": ${row(2)}}`, 'format=json&update_format=weighted');
    await client.pushOk(pipeline, 't', `{"payload": {"op": "c", "before": null, "after": ${row(3)}}}`, 'format=json&update_format=debezium');
    await client.pushOk(pipeline, 't', row(4), 'format=json&update_format=raw');
    const rows = await client.rows(pipeline, 'SELECT id, CAST(d AS VARCHAR) AS d, CAST(p AS VARCHAR) AS p FROM t ORDER BY id');
    assert.deepEqual(rows, [1, 2, 3, 4].map((id) => ({ id, d: '0.12345678901234567891', p: '{"x":1.5,"y":[2.25]}' })));
  });

  test("a MAP's entries are kept in key order, as Feldera's sorted maps are: two maps of the same entries sent in other orders are one value (grouped and compared as one), MAP[…] in a view too", async () => {
    const pipeline = await fresh(`CREATE TABLE m (id INT NOT NULL PRIMARY KEY, m MAP<VARCHAR, INT>, n MAP<INT, MAP<VARCHAR, INT>>);
      CREATE MATERIALIZED VIEW groups AS SELECT m, COUNT(*) AS c, MAX(m = MAP['b', 2, 'a', 1]) AS literal_equal FROM m GROUP BY m;`);
    await client.pushOk(pipeline, 'm', '{"id": 1, "m": {"a": 1, "b": 2}, "n": {"10": {"z": 1, "y": 2}, "9": {}}}\n{"id": 2, "m": {"b": 2, "a": 1}}', 'format=json&update_format=raw');
    assert.deepEqual(await client.rows(pipeline, 'SELECT * FROM groups'), [{ m: { a: 1, b: 2 }, c: 2, literal_equal: true }]);
    const [first] = await client.rows(pipeline, 'SELECT CAST(n AS VARCHAR) AS n FROM m WHERE id = 1');
    assert.equal(first!['n'], '{9={}, 10={y=2, z=1}}');
    // A value that does not convert is still found, in whichever place its key sorts.
    const error = await felderaError(await client.push(pipeline, 'm', '{"id": 3, "m": {"z": 1, "a": "x"}}', 'format=json&update_format=raw'), 400, 'ParseErrors');
    assert.match(JSON.stringify(error.details), /is not a valid MAP<VARCHAR, INTEGER>/);
  });

  test('a VARIANT keeps every digit of its numbers, at any depth and in each update format, as Feldera reads them into DECIMALs; strings that look like numbers stay strings', async () => {
    const pipeline = await fresh('CREATE TABLE v (id BIGINT NOT NULL PRIMARY KEY, p VARIANT);');
    const value = '{"a":12345678901234567890.1234567891,"b":[0.12345678901234567891,"0.12345678901234567891"],"c":1.5,"d":-1.2345678901234567890e-30}';
    await client.pushOk(pipeline, 'v', `{"insert": {"id": 1, "p": ${value}}}`, 'format=json&update_format=insert_delete');
    await client.pushOk(pipeline, 'v', `{"id": 2, "p": ${value}}`, 'format=json&update_format=raw');
    await client.pushOk(pipeline, 'v', '{"id": 3, "p": 98765432109876543210.5}', 'format=json&update_format=raw');
    const rows = await client.rows(pipeline, 'SELECT id, CAST(p AS VARCHAR) AS p FROM v ORDER BY id');
    assert.deepEqual(rows, [{ id: 1, p: value }, { id: 2, p: value }, { id: 3, p: '98765432109876543210.5' }]);
  });

  test('a push sent as multipart/form-data is read as its bytes, as Feldera ignores the Content-Type: never a 200 that wrote nothing', async () => {
    const pipeline = await fresh();
    const multipart = (body: string, query: string) => server.fetch(`/v0/pipelines/${pipeline}/ingress/items?${query}`, {
      method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body,
    });
    const json = await multipart('{"insert": {"id": 1, "name": "a", "price": 5}}', 'format=json');
    assert.equal(json.status, 200, await json.clone().text());
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'a', price: 5 }]);
    const framed = await multipart('--x\r\nContent-Disposition: form-data; name="file"; filename="rows.csv"\r\n\r\n2,b,7\r\n--x--\r\n', 'format=csv');
    await felderaError(framed, 400, 'ParseErrors');
  });

  test('pretty-printed JSON values and positional rows are read like NDJSON objects; a positional row of another length than the columns is a bad record', async () => {
    const pipeline = await fresh();
    await client.pushOk(pipeline, 'items', '{\n  "insert": {\n    "id": 1,\n    "name": "a"\n  }\n}\n{"insert": [2, "b", "12.50"]}');
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'a', price: null }, { id: 2, name: 'b', price: 12.5 }]);
    const refused = await felderaError(await client.push(pipeline, 'items', '{"insert": [3]}\n{"insert": [4, "d", 1, "extra"]}\n{"insert": [5, "e", 2]}'), 400, 'ParseErrors');
    const errors = (refused.details as { errors: Array<{ event_number: number; description: string; invalid_text: string }> }).errors;
    assert.deepEqual(errors.map((error) => [error.event_number, error.description]), [
      [1, 'expected an array of 3 values, one per column, got 1'], [2, 'expected an array of 3 values, one per column, got 4'],
    ]);
    assert.equal(errors[0]!.invalid_text, '{"insert": [3]}');
    assert.deepEqual((await itemsOf(client, pipeline)).map((row) => row['id']), [1, 2, 5]);
  });

  test('CSV fields fill columns in order, with RFC 4180 quoting, booleans, JSON arrays, and missing or extra fields', async () => {
    const pipeline = await fresh(`CREATE TABLE t (id INT NOT NULL, label VARCHAR, ok BOOLEAN, tags VARCHAR ARRAY, at TIMESTAMP);`);
    const csv = '1,"a, ""quoted"" label",true,"[""x"", ""y""]",2024-01-02 03:04:05\n2,plain,false,,2024-01-02T03:04:05.5Z,extra\n3,short\n';
    await client.pushOk(pipeline, 't', csv, 'format=csv');
    assert.deepEqual(await client.rows(pipeline, 'SELECT * FROM t ORDER BY id'), [
      { id: 1, label: 'a, "quoted" label', ok: true, tags: ['x', 'y'], at: '2024-01-02 03:04:05' },
      { id: 2, label: 'plain', ok: false, tags: null, at: '2024-01-02 03:04:05.5' },
      { id: 3, label: 'short', ok: null, tags: null, at: null },
    ]);
  });

  test("CSV empty and missing fields as Feldera reads them: empty is NULL in a nullable column, quoted or not, and '' in a NOT NULL text; a missing NOT NULL field takes its DEFAULT or is a bad record", async () => {
    const pipeline = await fresh(`CREATE TABLE d (id INT NOT NULL PRIMARY KEY, b VARCHAR NOT NULL, n VARCHAR, f VARCHAR NOT NULL DEFAULT 'dflt', i INT);`);
    const refused = await felderaError(await client.push(pipeline, 'd', '1,,,x,\n2,"","",y,""\n3,text\n4\n', 'format=csv'), 400, 'ParseErrors');
    const errors = (refused.details as { errors: Array<{ event_number: number; field: string; description: string }> }).errors;
    assert.deepEqual(errors.map((entry) => [entry.event_number, entry.field]), [[4, 'b']]);
    assert.match(errors[0]!.description, /missing/);
    assert.deepEqual(await client.rows(pipeline, 'SELECT * FROM d ORDER BY id'), [
      { id: 1, b: '', n: null, f: 'x', i: null },
      { id: 2, b: '', n: null, f: 'y', i: null },
      { id: 3, b: 'text', n: null, f: 'dflt', i: null },
    ]);
  });

  test('a CSV quote that is never closed is a parse error for the rest of the body, not a field holding it', async () => {
    const pipeline = await fresh();
    const refused = await felderaError(await client.push(pipeline, 'items', '20,kept,1\n21,"unterminated\n22,c,3\n23,d,4\n', 'format=csv'), 400, 'ParseErrors');
    const errors = (refused.details as { errors: Array<{ event_number: number; description: string; invalid_text: string }> }).errors;
    assert.deepEqual(errors.map((error) => error.event_number), [2]);
    assert.match(errors[0]!.description, /quoted field is not closed/);
    assert.equal(errors[0]!.invalid_text, '21,"unterminated\n22,c,3\n23,d,4\n');
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 20, name: 'kept', price: 1 }]);
  });

  test('a keyed table upserts on insert, ignores deletes and updates of missing keys, and merges updates into the row', async () => {
    const pipeline = await fresh();
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "a", "price": 5}}\n{"insert": {"id": 2, "name": "b", "price": 6}}');
    await client.pushOk(pipeline, 'items', [
      '{"insert": {"id": 1, "name": "A", "price": 50}}',
      '{"delete": {"id": 99}}',
      '{"update": {"id": 98, "name": "nobody"}}',
      '{"update": {"id": 2, "price": 60}}',
      '{"update": {"id": 2, "name": "B"}}',
    ].join('\n'));
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'A', price: 50 }, { id: 2, name: 'B', price: 60 }]);
    assert.deepEqual(await expensiveOf(client, pipeline), [{ id: 1, name: 'A' }, { id: 2, name: 'B' }]);
  });

  test('an integer column takes whole numbers only: a fraction or an exponent is a parse error, not rounded', async () => {
    const pipeline = await fresh('CREATE TABLE n (i INT, b BIGINT, r REAL);');
    for (const [body, query] of [['{"insert": {"i": 2.5}}', 'format=json'], ['{"insert": {"b": 1e2}}', 'format=json'], ['7,1.5,\n', 'format=csv'], ['{"insert": {"r": 1e40}}', 'format=json']]) {
      await felderaError(await client.push(pipeline, 'n', body!, query), 400, 'ParseErrors');
    }
    await client.pushOk(pipeline, 'n', '{"insert": {"i": -3, "b": 42, "r": 1.5}}');
    assert.deepEqual(await client.rows(pipeline, 'SELECT i, b, r FROM n'), [{ i: -3, b: 42, r: 1.5 }]);
  });

  test("a string longer than its column's declared length is taken whole, as Feldera's decoders do not enforce it", async () => {
    const pipeline = await fresh('CREATE TABLE s (id INT, v VARCHAR(4), c CHAR(2));');
    await client.pushOk(pipeline, 's', '{"insert": {"id": 1, "v": "abcdefg", "c": "xyz"}}');
    await client.pushOk(pipeline, 's', '2,"hijklmn",uvw\n', 'format=csv');
    assert.deepEqual(await client.rows(pipeline, 'SELECT id, v, c FROM s ORDER BY id'), [{ id: 1, v: 'abcdefg', c: 'xyz' }, { id: 2, v: 'hijklmn', c: 'uvw' }]);
  });

  test('a body that fails as a whole (gzip over bytes that are not gzip) is ParseErrors with one error of no record in its details, as clients read them', async () => {
    const pipeline = await fresh();
    const response = await server.fetch(`/v0/pipelines/${pipeline}/ingress/items?format=json`, {
      method: 'POST', body: '{"insert": {"id": 1, "name": "a", "price": 5}}', headers: { 'content-encoding': 'gzip' },
    });
    const refused = await felderaError(response, 400, 'ParseErrors');
    assert.deepEqual(refused.details, {
      num_errors: 1,
      errors: [{ description: refused.message, event_number: null, field: null, invalid_text: null, suggestion: null }],
    });
    assert.match(refused.message, /not valid gzip/);
    assert.deepEqual(await itemsOf(client, pipeline), []);
  });

  test("json_flavor=pandas, as the Python SDK's input_pandas pushes a DataFrame, takes a TIMESTAMP as milliseconds since the epoch; an unknown or unsupported flavor is a 400", async () => {
    const pipeline = await fresh('CREATE TABLE t (id INT NOT NULL PRIMARY KEY, ts TIMESTAMP, day DATE);');
    const query = 'format=json&array=true&update_format=raw&json_flavor=pandas';
    await client.pushOk(pipeline, 't', '[{"id": 1, "ts": 1714557600000, "day": "2024-05-01"}, {"id": 2, "ts": 1714557600123, "day": null}, {"id": 3, "ts": null}]', query);
    assert.deepEqual(await client.rows(pipeline, 'SELECT * FROM t ORDER BY id'), [
      { id: 1, ts: '2024-05-01 10:00:00', day: '2024-05-01' }, { id: 2, ts: '2024-05-01 10:00:00.123', day: null }, { id: 3, ts: null, day: null },
    ]);
    const text = await felderaError(await client.push(pipeline, 't', '[{"id": 4, "ts": "2024-05-01 10:00:00"}]', query), 400, 'ParseErrors');
    assert.match((text.details as { errors: Array<{ description: string }> }).errors[0]!.description, /not a number of milliseconds since the epoch/);
    for (const flavor of ['bogus', 'debezium_mysql']) {
      await felderaError(await client.push(pipeline, 't', '[{"id": 5}]', `format=json&array=true&update_format=raw&json_flavor=${flavor}`), 400, 'InvalidParam');
    }
  });

  test('a record may hold a delete, an insert and an update, applied in that order as Feldera applies them; {} and a null change are no-ops, another key a parse error', async () => {
    const pipeline = await fresh();
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "a", "price": 5}}\n{"insert": {"id": 2, "name": "b"}}');
    const body = [
      '{"insert": {"id": 1, "name": "replaced"}, "delete": {"id": 1}}',
      '{"update": {"id": 2, "price": 9}, "insert": {"id": 2, "name": "b2", "price": 1}, "delete": {"id": 2}}',
      '{"insert": {"id": 3, "name": "c"}, "delete": null}',
      '{}',
      '{"insert": null}',
      '{"upsert": {"id": 4, "name": "d"}}',
    ].join('\n');
    const refused = await felderaError(await client.push(pipeline, 'items', body), 400, 'ParseErrors');
    const errors = (refused.details as { errors: Array<{ event_number: number; description: string }> }).errors;
    assert.deepEqual(errors.map((error) => error.event_number), [6]);
    assert.match(errors[0]!.description, /expected \{"insert": row\} or \{"delete": row\}/);
    assert.deepEqual(await itemsOf(client, pipeline), [
      { id: 1, name: 'replaced', price: null }, { id: 2, name: 'b2', price: 9 }, { id: 3, name: 'c', price: null },
    ]);
    // Without a key the delete comes first too: of no copy it deletes nothing, and the insert adds one.
    const log = await fresh('CREATE TABLE log (msg VARCHAR, n INT);');
    await client.pushOk(log, 'log', '{"insert": {"msg": "x", "n": 1}, "delete": {"msg": "x", "n": 1}}\n{"delete": {"msg": "y", "n": 2}, "insert": {"msg": "y", "n": 2}}');
    await client.pushOk(log, 'log', '{"insert": {"msg": "y", "n": 2}, "delete": {"msg": "y", "n": 2}}');
    assert.deepEqual(await client.rows(log, 'SELECT msg, n, count(*) AS c FROM log GROUP BY ALL ORDER BY msg'), [{ msg: 'x', n: 1, c: 1 }, { msg: 'y', n: 2, c: 1 }]);
  });

  test('a JSON record with bytes that are not UTF-8 is a parse error, not text with U+FFFD in their place; the push keeps its other records', async () => {
    const pipeline = await fresh();
    const body = Buffer.concat([Buffer.from('{"insert": {"id": 1, "name": "kept"}}\n{"insert": {"id": 2, "name": "a'), Buffer.from([0xff]), Buffer.from('b"}}\n')]);
    const response = await server.fetch(`/v0/pipelines/${pipeline}/ingress/items?format=json`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    const refused = await felderaError(response, 400, 'ParseErrors');
    const errors = (refused.details as { errors: Array<{ event_number: number; description: string }> }).errors;
    assert.deepEqual(errors.map((error) => error.event_number), [2]);
    assert.match(errors[0]!.description, /invalid UTF-8/);
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'kept', price: null }]);
  });

  test('on a table without a key, each delete removes as many copies of its row as its weight asks and no more than there are, a NULL matching a NULL', async () => {
    const pipeline = await fresh('CREATE TABLE log (msg VARCHAR, n INT);');
    await client.pushOk(pipeline, 'log', 'x,1\nx,1\nx,1\n,2\n,2\ny,\ny,\nz,4\n', 'format=csv');
    await client.pushOk(pipeline, 'log', [
      '{"weight": -2, "data": {"msg": "x", "n": 1}}',
      '{"weight": -1, "data": {"msg": null, "n": 2}}',
      '{"weight": -5, "data": {"msg": "y", "n": null}}',
      '{"weight": -1, "data": {"msg": "z", "n": 5}}',
    ].join('\n'), 'format=json&update_format=weighted');
    assert.deepEqual(await client.rows(pipeline, 'SELECT msg, n, count(*) AS c FROM log GROUP BY ALL ORDER BY msg NULLS FIRST, n'), [
      { msg: null, n: 2, c: 1 }, { msg: 'x', n: 1, c: 1 }, { msg: 'z', n: 4, c: 1 },
    ]);
  });

  test('on a table without a key, changes apply in the order of their records whatever the batching: a delete of an absent row does nothing, so a delete and then an insert leave a row in one push as in two', async () => {
    const pipeline = await fresh('CREATE TABLE m (a INT, b VARCHAR);');
    const count = async (a: number) => (await client.rows(pipeline, `SELECT count(*) AS c FROM m WHERE a = ${a}`))[0]!['c'];
    const change = (kind: string, a: number) => `{"${kind}": {"a": ${a}, "b": "x"}}`;
    await client.pushOk(pipeline, 'm', [change('delete', 1), change('insert', 1)].join('\n'), 'format=json&update_format=insert_delete');
    await client.pushOk(pipeline, 'm', change('delete', 2), 'format=json&update_format=insert_delete');
    await client.pushOk(pipeline, 'm', change('insert', 2), 'format=json&update_format=insert_delete');
    await client.pushOk(pipeline, 'm', ['{"weight": -1, "data": {"a": 3, "b": "x"}}', '{"weight": 1, "data": {"a": 3, "b": "x"}}'].join('\n'), 'format=json&update_format=weighted');
    assert.deepEqual([await count(1), await count(2), await count(3)], [1, 1, 1]);
    // From a copy there: two deletes (the second finds none) and an insert leave one; an insert then a delete leave as many as before.
    await client.pushOk(pipeline, 'm', [change('delete', 1), change('delete', 1), change('insert', 1)].join('\n'), 'format=json&update_format=insert_delete');
    await client.pushOk(pipeline, 'm', [change('insert', 2), change('delete', 2)].join('\n'), 'format=json&update_format=insert_delete');
    await client.pushOk(pipeline, 'm', ['{"weight": -3, "data": {"a": 3, "b": "x"}}', '{"weight": 2, "data": {"a": 3, "b": "x"}}'].join('\n'), 'format=json&update_format=weighted');
    assert.deepEqual([await count(1), await count(2), await count(3)], [1, 1, 2]);
  });

  test('an update sets a column to null when it gives null, and is refused on a table without a key', async () => {
    const pipeline = await fresh(`${ITEMS}\nCREATE TABLE log (msg VARCHAR);`);
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "a", "price": 5}}');
    await client.pushOk(pipeline, 'items', '{"update": {"id": 1, "price": null}}');
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'a', price: null }]);
    const refused = await felderaError(await client.push(pipeline, 'log', '{"update": {"msg": "x"}}'), 400, 'ParseErrors');
    assert.match(JSON.stringify(refused.details), /primary key/);
  });

  test('a table without a key is a multiset: inserts add copies, a delete removes one matching row', async () => {
    const pipeline = await fresh('CREATE TABLE log (msg VARCHAR, n INT); CREATE MATERIALIZED VIEW counts AS SELECT msg, count(*) AS c FROM log GROUP BY msg;');
    await client.pushOk(pipeline, 'log', 'x,1\nx,1\ny,2\n', 'format=csv');
    await client.pushOk(pipeline, 'log', '{"delete": {"msg": "x", "n": 1}}\n{"delete": {"msg": "absent", "n": 0}}', 'format=json&update_format=insert_delete');
    await felderaError(await client.push(pipeline, 'log', '{"weight": 2, "data": {"msg": "z", "n": 3}}', 'format=json&update_format=insert_delete'), 400, 'ParseErrors');
    await client.pushOk(pipeline, 'log', '{"weight": 2, "data": {"msg": "z", "n": 3}}', 'format=json&update_format=weighted');
    for (const weight of ['1.5', '"2"', '1e2']) {
      const refused = await felderaError(await client.push(pipeline, 'log', `{"weight": ${weight}, "data": {"msg": "w", "n": 1}}`, 'format=json&update_format=weighted'), 400, 'ParseErrors');
      assert.match(JSON.stringify(refused.details), /expected an integer/, weight);
    }
    assert.deepEqual(await client.rows(pipeline, 'SELECT * FROM counts ORDER BY msg'), [{ msg: 'x', c: 1 }, { msg: 'y', c: 1 }, { msg: 'z', c: 2 }]);
  });

  test('a weight beyond a million copies is a parse error, and a batch whose weights add over ten million copies is refused whole', async () => {
    const pipeline = await fresh('CREATE TABLE log (msg VARCHAR, n INT);');
    const weighted = 'format=json&update_format=weighted';
    await client.pushOk(pipeline, 'log', '{"weight": 1000000, "data": {"msg": "many", "n": 1}}', weighted);
    for (const weight of ['1000001', '-1000001', '9223372036854775807', '-9223372036854775808']) {
      const refused = await felderaError(await client.push(pipeline, 'log', `{"weight": ${weight}, "data": {"msg": "w", "n": 1}}`, weighted), 400, 'ParseErrors');
      assert.match(JSON.stringify(refused.details), /between -1000000 and 1000000/, weight);
    }
    const body = Array.from({ length: 11 }, (_, n) => `{"weight": 1000000, "data": {"msg": "big", "n": ${n}}}`).join('\n');
    const tooMany = await felderaError(await client.push(pipeline, 'log', body, weighted), 413, 'InvalidParam');
    assert.match(tooMany.message, /at most 10000000/);
    assert.deepEqual(await client.rows(pipeline, 'SELECT msg, count(*) AS c FROM log GROUP BY msg'), [{ msg: 'many', c: 1000000 }]);
  });

  test('unquoted table and column names are case-insensitive; quoted ones are exact', async () => {
    const pipeline = await fresh('CREATE TABLE T1 (ID INT, "Name" VARCHAR); CREATE TABLE "TaBle1" (x INT);');
    await client.pushOk(pipeline, 'T1', '{"insert": {"id": 1, "Name": "exact"}}');
    await client.pushOk(pipeline, 't1', '{"insert": {"Id": 2, "name": "wrong case"}}');
    await client.pushOk(pipeline, '%22TaBle1%22', '{"insert": {"X": 7}}');
    await felderaError(await client.push(pipeline, 'TaBle1', '{"insert": {"x": 1}}'), 404, 'UnknownInputStream');
    await felderaError(await client.push(pipeline, '%22t1%22x', '{}'), 404, 'UnknownInputStream');
    assert.deepEqual(await client.rows(pipeline, 'SELECT * FROM t1 ORDER BY id'), [{ id: 1, Name: 'exact' }, { id: 2, Name: null }]);
    assert.deepEqual(await client.rows(pipeline, 'SELECT * FROM "TaBle1"'), [{ x: 7 }]);
  });

  test('a body mixing good and bad records keeps the good ones and answers 400 ParseErrors naming each bad one', async () => {
    const pipeline = await fresh();
    const body = [
      '{"insert": {"id": 1, "name": "good"}}',
      '{"insert": {"id": "one", "name": "bad id"}}',
      '{"insert": {"id": 3, "name": "unclosed"',
      '{"insert": {"id": 4}}',
      '{"insert": {"id": 5, "name": "good too", "price": 7}}',
    ].join('\n');
    const error = await felderaError(await client.push(pipeline, 'items', body), 400, 'ParseErrors');
    const details = error.details as { num_errors: number; errors: Array<{ description: string; event_number: number; field: string | null; invalid_text: string | null }> };
    assert.equal(details.num_errors, 3);
    assert.deepEqual(details.errors.map((entry) => [entry.event_number, entry.field]), [[2, 'id'], [3, null], [4, 'name']]);
    assert.equal(details.errors[0]!.invalid_text, 'one');
    assert.match(details.errors[0]!.description, /"one" is not a valid BIGINT/);
    assert.match(details.errors[2]!.description, /missing/);
    assert.match(error.message, /3 errors/);
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'good', price: null }, { id: 5, name: 'good too', price: 7 }]);
  });

  test('an error shows at most 4096 characters of a bad value, however long the value is', async () => {
    const pipeline = await fresh();
    const huge = 'x'.repeat(100_000);
    const error = await felderaError(await client.push(pipeline, 'items', `{"insert": {"id": "${huge}"}}\n{"insert": {"id": "${huge}y"}}`), 400, 'ParseErrors');
    const details = error.details as { num_errors: number; errors: Array<{ field: string | null; invalid_text: string | null }> };
    assert.equal(details.num_errors, 2);
    assert.deepEqual(details.errors.map((entry) => [entry.field, entry.invalid_text]), [['id', huge.slice(0, 4096)], ['id', huge.slice(0, 4096)]]);
  });

  test('a JSON value of another kind than its column takes is a parse error naming the column, as Feldera decodes JSON: no text from an object or a number, no boolean from "yes" or 1, no timestamp from a number; a number may be a string', async () => {
    const pipeline = await fresh(`CREATE TABLE k (
      s VARCHAR, b BOOLEAN, i INT, f DOUBLE, d DECIMAL(10, 2), ts TIMESTAMP, day DATE, arr INT ARRAY, m MAP<VARCHAR, INT>, v VARIANT);`);
    const good = { s: 'x', b: true, i: 5, f: 1, d: '1.50', ts: '2024-01-01 10:00:00', day: '2024-01-01', arr: [1], m: { a: 1 }, v: { any: ['thing'] } };
    const wrong: Array<[string, unknown, string]> = [
      ['s', { o: 1 }, 'value {"o":1} is an object, not a string'], ['s', true, 'value true is a boolean, not a string'],
      ['s', 12.5, 'value 12.5 is a number, not a string'], ['b', 'yes', 'value "yes" is a string, not true or false'],
      ['b', 1, 'value 1 is a number, not true or false'], ['b', 'true', 'value "true" is a string, not true or false'],
      ['ts', 1700000000, 'value 1700000000 is a number, not a string'], ['day', 20240101, 'value 20240101 is a number, not a string'],
      ['arr', 1, 'value 1 is a number, not an array'], ['m', [1], 'value [1] is an array, not an object'],
    ];
    const body = [good, ...wrong.map(([column, value]) => ({ ...good, [column]: value })), { ...good, i: '7', f: '2.5', d: 2.25, v: 'text', s: null }]
      .map((row) => JSON.stringify({ insert: row })).join('\n');
    const error = await felderaError(await client.push(pipeline, 'k', body, 'format=json&update_format=insert_delete'), 400, 'ParseErrors');
    const { errors } = error.details as { errors: Array<{ description: string; event_number: number; field: string | null }> };
    assert.deepEqual(errors.map(({ event_number, field, description }) => [event_number, field, description]),
      wrong.map(([column, , message], index) => [index + 2, column, `column "${column}": ${message}`]));
    assert.deepEqual(await client.rows(pipeline, 'SELECT s, b, i, f, d, v FROM k ORDER BY d'), [
      { s: 'x', b: true, i: 5, f: 1, d: 1.5, v: { any: ['thing'] } }, { s: null, b: true, i: 7, f: 2.5, d: 2.25, v: 'text' },
    ]);
  });

  test('a bare NaN or Infinity in JSON is a parse error (no JSON number), and a CSV boolean is true or false only, as Feldera parses them; a CSV NaN is a double', async () => {
    const pipeline = await fresh('CREATE TABLE nb (id INT NOT NULL, b BOOLEAN, f DOUBLE, v VARIANT);');
    const json = ['{"insert": {"id": 1, "b": true, "f": 1.5}}', '{"insert": {"id": 2, "f": NaN}}', '{"insert": {"id": 3, "f": -Infinity}}', '{"insert": {"id": 4, "v": Infinity}}'].join('\n');
    const jsonError = await felderaError(await client.push(pipeline, 'nb', json, 'format=json&update_format=insert_delete'), 400, 'ParseErrors');
    const jsonErrors = (jsonError.details as { errors: Array<{ description: string; event_number: number; field: string | null }> }).errors;
    assert.deepEqual(jsonErrors.map(({ event_number, field, description }) => [event_number, field, description]), [
      [2, 'f', 'column "f": value NaN is not JSON (NaN and Infinity are no JSON numbers)'],
      [3, 'f', 'column "f": value -Infinity is not JSON (NaN and Infinity are no JSON numbers)'],
      [4, 'v', 'column "v": value Infinity is not JSON (NaN and Infinity are no JSON numbers)'],
    ]);
    const csvError = await felderaError(await client.push(pipeline, 'nb', '10,true,NaN,\n11,false,inf,\n12,t,1,\n13,1,1,\n14,TRUE,1,\n15,yes,1,\n', 'format=csv'), 400, 'ParseErrors');
    const csvErrors = (csvError.details as { errors: Array<{ event_number: number; field: string | null; invalid_text: string | null }> }).errors;
    assert.deepEqual(csvErrors.map(({ event_number, field, invalid_text }) => [event_number, field, invalid_text]), [[3, 'b', 't'], [4, 'b', '1'], [5, 'b', 'TRUE'], [6, 'b', 'yes']]);
    assert.deepEqual(await client.rows(pipeline, 'SELECT id, b, isnan(f) AS nan, NOT isnan(f) AND f > 1e308 AS inf FROM nb ORDER BY id'), [
      { id: 1, b: true, nan: false, inf: false }, { id: 10, b: true, nan: true, inf: false }, { id: 11, b: false, nan: false, inf: true },
    ]);
  });

  test('a ROW value takes its fields from an object\'s keys in any case (an exact name first), and a key naming no field is ignored', async () => {
    const pipeline = await fresh('CREATE TABLE r (id INT NOT NULL, pos ROW(x INT, label VARCHAR));');
    await client.pushOk(pipeline, 'r', [
      '{"insert": {"id": 1, "pos": {"X": 1, "Label": "a"}}}', '{"insert": {"id": 2, "pos": {"x": 2, "X": 9, "label": "b", "extra": true}}}',
    ].join('\n'));
    assert.deepEqual(await client.rows(pipeline, 'SELECT * FROM r ORDER BY id'), [{ id: 1, pos: { x: 1, label: 'a' } }, { id: 2, pos: { x: 2, label: 'b' } }]);
  });

  test('a bad CSV record is reported and the records around it are kept', async () => {
    const pipeline = await fresh();
    const error = await felderaError(await client.push(pipeline, 'items', '1,a,1.5\nx,b,2\n3,c,not a number\n4,d,4\n', 'format=csv'), 400, 'ParseErrors');
    assert.deepEqual((error.details!['errors'] as Array<{ event_number: number; field: string }>).map((entry) => [entry.event_number, entry.field]), [[2, 'id'], [3, 'price']]);
    assert.deepEqual((await itemsOf(client, pipeline)).map((row) => row['id']), [1, 4]);
  });

  test('BINARY and VARBINARY values are arrays of bytes, read back as sent; an array with a non-byte or an array element of the wrong type is a parse error', async () => {
    await client.pipeline('blobs', 'CREATE TABLE blobs (id INT NOT NULL, b VARBINARY, tags INT ARRAY);');
    const body = [
      '{"insert": {"id": 1, "b": [104, 105, 0, 255], "tags": [1, 2]}}',
      '{"insert": {"id": 2, "b": [], "tags": []}}',
      '{"insert": {"id": 3, "b": [256]}}',
      '{"insert": {"id": 4, "b": "hi"}}',
      '{"insert": {"id": 5, "tags": [1, "two"]}}',
    ].join('\n');
    const error = await felderaError(await client.push('blobs', 'blobs', body), 400, 'ParseErrors');
    const errors = error.details!['errors'] as Array<{ event_number: number; field: string; description: string }>;
    assert.deepEqual(errors.map((entry) => [entry.event_number, entry.field]), [[3, 'b'], [4, 'b'], [5, 'tags']]);
    assert.match(errors[0]!.description, /"\[256\]" is not a valid VARBINARY/);
    assert.deepEqual(await client.rows('blobs', 'SELECT id, b, tags FROM blobs ORDER BY id'), [
      { id: 1, b: [104, 105, 0, 255], tags: [1, 2] },
      { id: 2, b: [], tags: [] },
    ]);
  });

  test('with array=true a bad element drops its whole array and the other arrays are kept', async () => {
    const pipeline = await fresh();
    const body = '[{"insert": {"id": 1, "name": "a"}}, {"insert": {"id": 2, "name": "b"}}]\n[{"insert": {"id": 3, "name": "c"}}, {"insert": {"id": "bad", "name": "d"}}]\n[{"insert": {"id": 5, "name": "e"}}]';
    const error = await felderaError(await client.push(pipeline, 'items', body, 'format=json&array=true'), 400, 'ParseErrors');
    const errors = error.details!['errors'] as Array<{ description: string; event_number: number }>;
    // Only the bad element is an error, as in Feldera; its description says what it took with it.
    assert.equal(error.details!['num_errors'], 1);
    assert.deepEqual(errors.map((entry) => entry.event_number), [4]);
    assert.match(errors[0]!.description, /"bad" is not a valid BIGINT; the 1 other change of its group \(its array, or its record\) not applied$/);
    assert.deepEqual((await itemsOf(client, pipeline)).map((row) => row['id']), [1, 2, 5]);
  });

  test('with array=true a record that is not in an array is a parse error, and the arrays around it are applied', async () => {
    const pipeline = await fresh();
    const body = '[{"insert": {"id": 1, "name": "a"}}]\n{"insert": {"id": 2, "name": "b"}}\n[{"insert": {"id": 3, "name": "c"}}]';
    const error = await felderaError(await client.push(pipeline, 'items', body, 'format=json&array=true'), 400, 'ParseErrors');
    const errors = error.details!['errors'] as Array<{ description: string; event_number: number }>;
    assert.deepEqual(errors.map((entry) => entry.event_number), [2]);
    assert.match(errors[0]!.description, /expected an array of records, found an object/);
    assert.deepEqual((await itemsOf(client, pipeline)).map((row) => row['id']), [1, 3]);
  });

  test('an unknown pipeline, table, format or update format is refused with its code', async () => {
    const pipeline = await fresh();
    await felderaError(await client.push('nope', 'items', '{}'), 404, 'UnknownPipelineName');
    await felderaError(await client.push(pipeline, 'nope', '{}'), 404, 'UnknownInputStream');
    await felderaError(await client.push(pipeline, 'expensive', '{}'), 404, 'UnknownInputStream');
    await felderaError(await client.push(pipeline, 'items', '{}', 'format=xml'), 400, 'UnknownInputFormat');
    await felderaError(await client.push(pipeline, 'items', '{}', 'format=json&update_format=upsert'), 400, 'InvalidParam');
    await felderaError(await client.push(pipeline, 'items', '{}', 'format=json&array=maybe'), 400, 'InvalidParam');
  });

  test('a stopped pipeline refuses pushes with 503 PipelineInteractionNotDeployed', async () => {
    const pipeline = await fresh();
    assert.equal((await client.action(pipeline, 'stop')).status, 202);
    await felderaError(await client.push(pipeline, 'items', '{"insert": {"id": 1, "name": "a"}}'), 503, 'PipelineInteractionNotDeployed');
  });

  test('a paused pipeline takes a push with force=true at once', async () => {
    const pipeline = await fresh();
    assert.equal((await client.action(pipeline, 'pause')).status, 202);
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "forced"}}', 'format=json&force=true');
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'forced', price: null }]);
  });

  test('a push to a paused pipeline waits until it is resumed, then is ingested', async () => {
    const pipeline = await fresh();
    assert.equal((await client.action(pipeline, 'pause')).status, 202);
    let answered = false;
    const push = client.push(pipeline, 'items', '{"insert": {"id": 1, "name": "waited"}}').then((response) => {
      answered = true;
      return response;
    });
    assert.equal((await client.get(pipeline)).status, 200);
    assert.equal(answered, false);
    assert.deepEqual(await itemsOf(client, pipeline), []);
    assert.equal((await client.action(pipeline, 'resume')).status, 202);
    assert.equal((await push).status, 200);
    assert.deepEqual(await itemsOf(client, pipeline), [{ id: 1, name: 'waited', price: null }]);
  });

  test('a push whose client gives up while the pipeline is paused is not taken when it resumes', async () => {
    const pipeline = await fresh();
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "kept"}}');
    assert.equal((await client.action(pipeline, 'pause')).status, 202);
    const giveUp = new AbortController();
    const abandoned = server.fetch(`/v0/pipelines/${pipeline}/ingress/items?format=json`, { method: 'POST', body: '{"delete": {"id": 1}}', signal: giveUp.signal });
    abandoned.catch(() => {});
    // The push is waiting when its client goes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    giveUp.abort();
    await assert.rejects(abandoned);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await client.action(pipeline, 'resume')).status, 202);
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 2, "name": "after"}}');
    assert.deepEqual((await itemsOf(client, pipeline)).map((row) => row['name']), ['kept', 'after']);
  });

  /**
   * Opens a streamed push of `first` to `items` and waits until its `committed` records are visible,
   * the body still open; `send` adds to the body and `close` ends it.
   */
  async function openStream(pipeline: string, first: string, committed: number) {
    let send!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => { send = controller; } });
    const push = server.fetch(`/v0/pipelines/${pipeline}/ingress/items?format=json`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    send.enqueue(new TextEncoder().encode(first));
    let seen: unknown[] = [];
    for (let attempt = 0; attempt < 500 && seen.length < committed; attempt += 1) {
      seen = await itemsOf(client, pipeline);
      if (seen.length < committed) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(seen.length, committed, 'the first records were not committed while the body was still open');
    return { push, send: (text: string) => send.enqueue(new TextEncoder().encode(text)), close: () => send.close() };
  }

  test('a streamed body is committed as it arrives: its first records are visible before it ends', async () => {
    const pipeline = await fresh();
    const stream = await openStream(pipeline, '{"insert": {"id": 1, "name": "early"}}\n{"insert": {"id": 2, "name": "early"}}\n', 2);
    stream.send('{"insert": {"id": 3, "name": "late"}}\n');
    stream.close();
    const response = await stream.push;
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(typeof ((await response.json()) as { token: string }).token, 'string');
    assert.deepEqual((await itemsOf(client, pipeline)).map((row) => row['name']), ['early', 'early', 'late']);
  });

  test('a streamed body that outlives a stop keeps what was committed before it and ends with 503', async () => {
    const pipeline = await fresh();
    const stream = await openStream(pipeline, '{"insert": {"id": 1, "name": "before"}}\n', 1);
    assert.equal((await client.action(pipeline, 'stop')).status, 202);
    stream.send('{"insert": {"id": 2, "name": "after"}}\n');
    stream.close();
    await felderaError(await stream.push, 503, 'PipelineInteractionNotDeployed');
    assert.equal((await client.action(pipeline, 'start')).status, 202);
    assert.deepEqual((await itemsOf(client, pipeline)).map((row) => row['name']), ['before']);
  });

  test('a streamed body whose client sends nothing more ends with 503 as soon as the pipeline stops, keeping what was committed', async () => {
    const pipeline = await fresh();
    const stream = await openStream(pipeline, '{"insert": {"id": 1, "name": "before"}}\n', 1);
    assert.equal((await client.action(pipeline, 'stop')).status, 202);
    // The body stays open: the stop alone must end the push.
    const body = await felderaError(await stream.push, 503, 'PipelineInteractionNotDeployed');
    assert.match(body.message, /stopped/);
    assert.equal((await client.action(pipeline, 'start')).status, 202);
    assert.deepEqual((await itemsOf(client, pipeline)).map((row) => row['name']), ['before']);
  });

  test('a large CSV body is committed in several chunks that together hold every record', async () => {
    const pipeline = await fresh();
    const rows = Array.from({ length: 200_000 }, (_, index) => `${index},"name ${index}, with a comma and a ""quote""",${index % 100}.25\n`).join('');
    assert.ok(rows.length > 2 * 4 * 1024 * 1024);
    const versionBefore = server.core.catalog.findTable(server.core.catalog.getNamespace(pipeline).id, 'items')!.version;
    await client.pushOk(pipeline, 'items', rows, 'format=csv');
    const table = server.core.catalog.findTable(server.core.catalog.getNamespace(pipeline).id, 'items')!;
    assert.ok(table.version - versionBefore >= 3, `expected several chunk writes, got ${table.version - versionBefore}`);
    assert.deepEqual(await client.rows(pipeline, 'SELECT count(*) AS n, count(DISTINCT id) AS ids, max(id) AS last FROM items'), [{ n: 200_000, ids: 200_000, last: 199_999 }]);
    assert.deepEqual(await client.rows(pipeline, 'SELECT name FROM items WHERE id = 70000'), [{ name: 'name 70000, with a comma and a "quote"' }]);
  });
});

describe('Feldera ingress to a paused pipeline that is not resumed', () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start({ pausedIngressTimeoutMs: 200 });
  });
  after(() => server.stop());

  test('gives up after the configured wait with 503 PipelineInteractionUnreachable and ingests nothing', async () => {
    const client = new FelderaClient(server);
    await client.pipeline('paused', ITEMS);
    assert.equal((await client.action('paused', 'pause')).status, 202);
    await felderaError(await client.push('paused', 'items', '{"insert": {"id": 1, "name": "a"}}'), 503, 'PipelineInteractionUnreachable');
    assert.deepEqual(await itemsOf(client, 'paused'), []);
  });
});
