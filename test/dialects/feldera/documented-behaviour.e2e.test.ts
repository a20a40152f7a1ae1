import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from '../../helpers/test-server.ts';
import { EgressStream, FelderaClient, felderaError, useFelderaSuite } from './feldera-fixture.ts';

/**
 * Behaviours the README promises for the Feldera dialect that the other Feldera tests leave out:
 * the defaults of ingress, egress and query parameters, update formats on tables without a key,
 * pushes across pauses, stops and the body limit, program changes, refused constraints, row filters
 * on egress, and views that fail on a row.
 */

const ITEMS = 'CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR NOT NULL, price INT);';
const LOG = 'CREATE TABLE log (msg VARCHAR, n INT);';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Feldera behaviour the README documents', () => {
  const suite = useFelderaSuite();
  let count = 0;
  /** A new running pipeline with this program. */
  const fresh = async (program: string) => {
    count += 1;
    await suite.client.pipeline(`d${count}`, program);
    return `d${count}`;
  };
  const itemsOf = (pipeline: string) => suite.client.rows(pipeline, 'SELECT id, name, price FROM items ORDER BY id');
  const openEgress = async (pipeline: string, relation: string, query = '', token?: string) => {
    const response = await suite.server.fetch(`/v0/pipelines/${pipeline}/egress/${relation}${query ? `?${query}` : ''}`, { method: 'POST', ...(token && { token }) });
    assert.equal(response.status, 200, response.status === 200 ? '' : await response.text());
    return new EgressStream(response.body!.getReader());
  };

  /**
   * Opens a streamed push of `first` to `items` and waits until its `committed` records are
   * visible, the body still open; `send` adds to the body and `close` ends it.
   */
  const openPush = async (server: TestServer, client: FelderaClient, pipeline: string, first: string, committed: number, query = 'format=json') => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => { controller = c; } });
    const push = server.fetch(`/v0/pipelines/${pipeline}/ingress/items?${query}`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    push.catch(() => {});
    controller.enqueue(new TextEncoder().encode(first));
    let seen: unknown[] = [];
    for (let attempt = 0; attempt < 500 && seen.length < committed; attempt += 1) {
      seen = await client.rows(pipeline, 'SELECT id FROM items');
      if (seen.length < committed) await sleep(20);
    }
    assert.equal(seen.length, committed, 'the first records were not committed while the body was still open');
    return { push, send: (text: string) => controller.enqueue(new TextEncoder().encode(text)), close: () => controller.close() };
  };

  test('a push without format is read as CSV, and a JSON push without update_format as insert_delete changes', async () => {
    const pipeline = await fresh(ITEMS);
    const csv = await suite.server.fetch(`/v0/pipelines/${pipeline}/ingress/items`, { method: 'POST', body: '1,a,5\n2,"b, c",\n3,c,7\n' });
    assert.equal(csv.status, 200, await csv.clone().text());
    assert.deepEqual(await itemsOf(pipeline), [{ id: 1, name: 'a', price: 5 }, { id: 2, name: 'b, c', price: null }, { id: 3, name: 'c', price: 7 }]);
    // insert_delete: a delete by key and an update apply; a bare row (the raw format) is not a change record.
    await suite.client.pushOk(pipeline, 'items', '{"delete": {"id": 1}}\n{"update": {"id": 2, "price": 9}}', 'format=json');
    await felderaError(await suite.client.push(pipeline, 'items', '{"id": 4, "name": "raw"}', 'format=json'), 400, 'ParseErrors');
    assert.deepEqual(await itemsOf(pipeline), [{ id: 2, name: 'b, c', price: 9 }, { id: 3, name: 'c', price: 7 }]);
  });

  test("a CSV record with text after a closing quote is a bad record naming it, where DuckDB's lenient reader cut the value; doubled quotes and quoted line breaks read, and the other records are kept", async () => {
    const pipeline = await fresh(ITEMS);
    const body = '1,"ab"cd,5\n2,"a"b,6\n3,"say ""hi""",7\n4,"two\nlines",8\r\n5,"x"\n';
    const error = await felderaError(await suite.client.push(pipeline, 'items', body, 'format=csv'), 400, 'ParseErrors');
    const errors = error.details!['errors'] as Array<{ event_number: number; description: string; invalid_text: string }>;
    assert.deepEqual(errors.map((entry) => [entry.event_number, entry.invalid_text]), [[1, '1,"ab"cd,5'], [2, '2,"a"b,6']]);
    assert.match(errors[0]!.description, /text follows the closing quote of a field/);
    assert.deepEqual(await itemsOf(pipeline), [{ id: 3, name: 'say "hi"', price: 7 }, { id: 4, name: 'two\nlines', price: 8 }, { id: 5, name: 'x', price: null }]);
  });

  test('a quote inside an unquoted CSV field is text, as in Feldera, and the records after it are read; a field may start with spaces before its opening quote', async () => {
    const pipeline = await fresh(ITEMS);
    await suite.client.pushOk(pipeline, 'items', '1,a"b,5\n2,6" pipe,6\n3, "c, d",7\n4,e,8', 'format=csv');
    assert.deepEqual(await itemsOf(pipeline), [
      { id: 1, name: 'a"b', price: 5 },
      { id: 2, name: '6" pipe', price: 6 },
      { id: 3, name: 'c, d', price: 7 },
      { id: 4, name: 'e', price: 8 },
    ]);
  });

  test('every CSV record with text after a closing quote is a bad record, however many, the good ones kept; a CRLF line is reported without its carriage return', async () => {
    const pipeline = await fresh(ITEMS);
    const body = Array.from({ length: 24_000 }, (_, index) => (index % 2 ? `${index},"a"b,1\r\n` : `${index},good,1\r\n`)).join('');
    const error = await felderaError(await suite.client.push(pipeline, 'items', body, 'format=csv'), 400, 'ParseErrors');
    assert.equal(error.details!['num_errors'], 12_000);
    const errors = error.details!['errors'] as Array<{ event_number: number; invalid_text: string }>;
    assert.deepEqual([errors[0]!.event_number, errors[0]!.invalid_text], [2, '1,"a"b,1']);
    assert.deepEqual(await suite.client.rows(pipeline, 'SELECT count(*) AS n, count(*) FILTER (WHERE id % 2 = 1) AS odd FROM items'), [{ n: 12_000, odd: 0 }]);
  });

  test('a JSON row’s unknown keys are ignored, a null or absent value takes the column DEFAULT, and a null in a NOT NULL column without one is a bad record', async () => {
    const pipeline = await fresh(`CREATE TABLE t (id INT NOT NULL PRIMARY KEY, status VARCHAR NOT NULL DEFAULT 'new', qty INT NOT NULL, note VARCHAR, tag VARCHAR DEFAULT 'none');`);
    const body = [
      '{"insert": {"id": 1, "status": null, "qty": 1, "note": "x", "tag": null, "extra": 42, "nested": {"a": [1]}}}',
      '{"insert": {"id": 2, "qty": null}}',
      '{"insert": {"id": 3, "qty": 3, "unknown": "ignored"}}',
    ].join('\n');
    const error = await felderaError(await suite.client.push(pipeline, 't', body), 400, 'ParseErrors');
    const errors = error.details!['errors'] as Array<{ event_number: number; field: string }>;
    assert.deepEqual(errors.map((entry) => [entry.event_number, entry.field]), [[2, 'qty']]);
    // In CSV, a trailing field left out and an empty field of a nullable column are NULL: the DEFAULT fills them.
    await suite.client.pushOk(pipeline, 't', '4,done,4\n5,done,5,,\n', 'format=csv');
    assert.deepEqual(await suite.client.rows(pipeline, 'SELECT * FROM t ORDER BY id'), [
      { id: 1, status: 'new', qty: 1, note: 'x', tag: 'none' },
      { id: 3, status: 'new', qty: 3, note: null, tag: 'none' },
      { id: 4, status: 'done', qty: 4, note: null, tag: 'none' },
      { id: 5, status: 'done', qty: 5, note: null, tag: 'none' },
    ]);
  });

  test('on a table without a key, a weight of -2 removes two copies, and debezium updates and deletes remove the before row', async () => {
    const pipeline = await fresh(LOG);
    await suite.client.pushOk(pipeline, 'log', 'x,1\nx,1\nx,1\ny,2\ny,2\n', 'format=csv');
    await suite.client.pushOk(pipeline, 'log', '{"weight": -2, "data": {"msg": "x", "n": 1}}', 'format=json&update_format=weighted');
    assert.deepEqual(await suite.client.rows(pipeline, 'SELECT msg, n, count(*) AS c FROM log GROUP BY msg, n ORDER BY msg'), [{ msg: 'x', n: 1, c: 1 }, { msg: 'y', n: 2, c: 2 }]);
    await suite.client.pushOk(pipeline, 'log', [
      '{"payload": {"op": "u", "before": {"msg": "y", "n": 2}, "after": {"msg": "y", "n": 3}}}',
      '{"payload": {"op": "d", "before": {"msg": "x", "n": 1}, "after": null}}',
    ].join('\n'), 'format=json&update_format=debezium');
    assert.deepEqual(await suite.client.rows(pipeline, 'SELECT msg, n, count(*) AS c FROM log GROUP BY msg, n ORDER BY msg, n'), [{ msg: 'y', n: 2, c: 1 }, { msg: 'y', n: 3, c: 1 }]);
  });

  test('force=true pushes to a paused pipeline only: a stopped one still refuses the push with 503 PipelineInteractionNotDeployed, whatever the table, as does one whose program did not compile', async () => {
    const pipeline = await fresh(ITEMS);
    assert.equal((await suite.client.action(pipeline, 'stop')).status, 202);
    await felderaError(await suite.client.push(pipeline, 'items', '1,a,5\n', 'format=csv&force=true'), 503, 'PipelineInteractionNotDeployed');
    await felderaError(await suite.client.push(pipeline, 'no_such_table', '1,a,5\n', 'format=csv'), 503, 'PipelineInteractionNotDeployed');
    const broken = await suite.client.putPipeline('broken_program', { program_code: 'CREATE TABLE t (id INT);\nCREATE VIEW v AS SELECT nosuch FROM t;' });
    assert.equal(((await broken.json()) as { program_status: string }).program_status, 'SqlError');
    await felderaError(await suite.client.push('broken_program', 't', '1\n', 'format=csv'), 503, 'PipelineInteractionNotDeployed');
    assert.equal((await suite.client.action(pipeline, 'start')).status, 202);
    assert.deepEqual(await itemsOf(pipeline), []);
  });

  test('a push still streaming when its pipeline is paused holds its next records until it resumes, then completes', async () => {
    const pipeline = await fresh(ITEMS);
    const stream = await openPush(suite.server, suite.client, pipeline, '{"insert": {"id": 1, "name": "before"}}\n', 1);
    assert.equal((await suite.client.action(pipeline, 'pause')).status, 202);
    stream.send('{"insert": {"id": 2, "name": "while paused"}}\n');
    // Well past the 200 ms after which a running pipeline commits a waiting record.
    await sleep(800);
    assert.deepEqual((await itemsOf(pipeline)).map((row) => row['id']), [1]);
    assert.equal((await suite.client.action(pipeline, 'resume')).status, 202);
    stream.send('{"insert": {"id": 3, "name": "after"}}\n');
    stream.close();
    const response = await stream.push;
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual((await itemsOf(pipeline)).map((row) => row['name']), ['before', 'while paused', 'after']);
  });

  test('a table removed from the program is dropped with its rows, and a table added back starts empty; PATCH changes the program while stopped', async () => {
    const pipeline = await fresh(`${ITEMS}\n${LOG}`);
    await suite.client.pushOk(pipeline, 'items', '1,kept,5\n', 'format=csv');
    await suite.client.pushOk(pipeline, 'log', 'gone,1\n', 'format=csv');
    assert.equal((await suite.client.action(pipeline, 'stop')).status, 202);
    const patch = (program: string) => suite.server.fetch(`/v0/pipelines/${pipeline}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ program_code: program }) });
    const without = await patch(ITEMS);
    const withoutBody = (await without.json()) as Record<string, any>;
    assert.equal(without.status, 200);
    assert.deepEqual([withoutBody['program_status'], withoutBody['program_info'].schema.inputs.map((input: { name: string }) => input.name)], ['Success', ['items']]);
    assert.equal((await suite.client.action(pipeline, 'start')).status, 202);
    await felderaError(await suite.client.push(pipeline, 'log', 'x,1\n', 'format=csv'), 404, 'UnknownInputStream');
    await felderaError(await suite.client.query(pipeline, 'SELECT * FROM log'), 400, 'AdHocQueryError');
    assert.equal((await suite.client.action(pipeline, 'stop')).status, 202);
    assert.equal((await patch(`${ITEMS}\n${LOG}`)).status, 200);
    assert.equal((await suite.client.action(pipeline, 'start')).status, 202);
    assert.deepEqual(await suite.client.rows(pipeline, 'SELECT * FROM log'), []);
    assert.deepEqual(await itemsOf(pipeline), [{ id: 1, name: 'kept', price: 5 }]);
  });

  test('FOREIGN KEY constraints, on a column or on the table, and INTERNED are accepted and not enforced, as in Feldera; a foreign key of no column is a SqlError', async () => {
    await suite.client.pipeline('foreign', `CREATE TABLE customer (id INT NOT NULL PRIMARY KEY, name VARCHAR INTERNED);
      CREATE TABLE purchase (id INT NOT NULL PRIMARY KEY, customer_id INT FOREIGN KEY REFERENCES customer(id), amount INT);
      CREATE TABLE refund (id INT, purchase_id INT, CONSTRAINT fk FOREIGN KEY (purchase_id) REFERENCES purchase (id));
      CREATE MATERIALIZED VIEW spent AS SELECT customer_id, sum(amount) AS total FROM purchase GROUP BY customer_id;`);
    // Not enforced: a purchase of a customer that is not there is kept.
    await suite.client.pushOk('foreign', 'purchase', '{"insert": {"id": 1, "customer_id": 99, "amount": 5}}');
    assert.deepEqual(await suite.client.rows('foreign', 'SELECT * FROM spent'), [{ customer_id: 99, total: 5 }]);
    const refused = await suite.client.putPipeline('bad_foreign', { program_code: 'CREATE TABLE t (a INT, FOREIGN KEY (b) REFERENCES u (id));' });
    const body = (await refused.json()) as { program_status: string; program_error: { sql_compilation: { messages: Array<{ message: string }> } } };
    assert.equal(body.program_status, 'SqlError');
    assert.match(body.program_error.sql_compilation.messages[0]!.message, /Foreign key column "b" is not a column of table "t"/);
  });

  test('UNIQUE and CHECK constraints are refused as unsupported where they are written, on a column or on the table', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['CREATE TABLE t (a INT UNIQUE);', 23, /UNIQUE is not supported/],
      ['CREATE TABLE t (a INT, b INT, UNIQUE (a, b));', 31, /UNIQUE is not supported/],
      ['CREATE TABLE t (a INT, CHECK (a > 0));', 24, /CHECK is not supported/],
      ['CREATE TABLE t (a INT, CONSTRAINT positive CHECK (a > 0));', 44, /CHECK is not supported/],
      ['CREATE TABLE t (a INT REFERENCES u (id));', 23, /REFERENCES is not supported/],
    ];
    for (const [index, [program, column, message]] of cases.entries()) {
      const response = await suite.client.putPipeline(`constrained${index}`, { program_code: program });
      const body = (await response.json()) as { program_status: string; program_error: { sql_compilation: { messages: Array<{ start_line_number: number; start_column: number; message: string }> } } };
      assert.equal(body.program_status, 'SqlError', program);
      const error = body.program_error.sql_compilation.messages[0]!;
      assert.match(error.message, message, program);
      assert.deepEqual([error.start_line_number, error.start_column], [1, column], `${program}: ${error.message}`);
      assert.equal(suite.server.core.catalog.listTables(suite.server.core.catalog.getNamespace(`constrained${index}`).id).length, 0, program);
    }
  });

  test('egress without options streams CSV and sends no snapshot: the rows already there are left out, the next change comes first', async () => {
    const pipeline = await fresh(ITEMS);
    await suite.client.pushOk(pipeline, 'items', '1,old,5\n', 'format=csv');
    const stream = await openEgress(pipeline, 'items');
    try {
      await suite.client.pushOk(pipeline, 'items', '2,new,7\n', 'format=csv');
      const chunk = await stream.chunk();
      assert.deepEqual(chunk, { sequence_number: 0, text_data: '2,new,7,1\n' });
    } finally {
      stream.cancel();
    }
  });

  test('egress with send_snapshot=true in CSV first sends the rows already there, each with weight 1, then the changes', async () => {
    const pipeline = await fresh(ITEMS);
    await suite.client.pushOk(pipeline, 'items', '1,a,5\n2,b,\n', 'format=csv');
    const stream = await openEgress(pipeline, 'items', 'format=csv&send_snapshot=true');
    try {
      const snapshot = await stream.chunk();
      assert.equal(snapshot?.sequence_number, 0);
      assert.deepEqual(snapshot?.text_data?.split('\n').filter(Boolean).sort(), ['1,a,5,1', '2,b,,1']);
      await suite.client.pushOk(pipeline, 'items', '{"delete": {"id": 1}}');
      assert.deepEqual(await stream.chunk(), { sequence_number: 1, text_data: '1,a,5,-1\n' });
    } finally {
      stream.cancel();
    }
  });

  test("a view's egress stream follows pushes to every table the view reads, not only the first", async () => {
    const pipeline = await fresh(`CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, sku VARCHAR);
      CREATE TABLE prices (sku VARCHAR NOT NULL PRIMARY KEY, price INT);
      CREATE VIEW priced AS SELECT o.id, p.price FROM orders o JOIN prices p ON o.sku = p.sku;`);
    const stream = await openEgress(pipeline, 'priced', 'format=json');
    try {
      await suite.client.pushOk(pipeline, 'orders', '1,apple\n', 'format=csv');
      await suite.client.pushOk(pipeline, 'prices', 'apple,3\n', 'format=csv');
      assert.deepEqual(await stream.items(1), [{ insert: { id: 1, price: 3 } }]);
      await suite.client.pushOk(pipeline, 'prices', '{"insert": {"sku": "apple", "price": 4}}');
      assert.deepEqual(await stream.items(2), [{ delete: { id: 1, price: 3 } }, { insert: { id: 1, price: 4 } }]);
    } finally {
      stream.cancel();
    }
  });

  test("a token's row filter applies to its egress stream, snapshot and changes alike, and to its queries", async () => {
    const pipeline = await fresh(ITEMS);
    await suite.client.pushOk(pipeline, 'items', '1,cheap,5\n2,dear,50\n', 'format=csv');
    const { secret } = await suite.server.core.tokens.create(`${pipeline}-dear`, [{ action: 'read', namespace: pipeline, table: 'items', filter: 'price > 10' }]);
    const stream = await openEgress(pipeline, 'items', 'format=json&send_snapshot=true', secret);
    try {
      assert.deepEqual(await stream.items(1), [{ insert: { id: 2, name: 'dear', price: 50 } }]);
      await suite.client.pushOk(pipeline, 'items', '3,cheap too,1\n4,dear too,40\n', 'format=csv');
      assert.deepEqual(await stream.items(1), [{ insert: { id: 4, name: 'dear too', price: 40 } }]);
    } finally {
      stream.cancel();
    }
    const queried = await suite.server.fetch(`/v0/pipelines/${pipeline}/query?format=json&sql=${encodeURIComponent('SELECT id FROM items ORDER BY id')}`, { token: secret });
    assert.equal(await queried.text(), '{"id":2}\n{"id":4}\n');
  });

  test('a query without format answers the text format: an ASCII table', async () => {
    const pipeline = await fresh(ITEMS);
    await suite.client.pushOk(pipeline, 'items', '1,ann,250\n2,bo,\n', 'format=csv');
    const response = await suite.server.fetch(`/v0/pipelines/${pipeline}/query?sql=${encodeURIComponent('SELECT id, name, price FROM items ORDER BY id')}`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), [
      '+----+------+-------+',
      '| id | name | price |',
      '+----+------+-------+',
      '| 1  | ann  | 250   |',
      '| 2  | bo   |       |',
      '+----+------+-------+',
      '',
    ].join('\n'));
  });

  test('a view that fails on a row fails its queries with 400 AdHocQueryError while the pipeline takes pushes, until the row is changed', async () => {
    const pipeline = await fresh(`CREATE TABLE raw (id INT NOT NULL PRIMARY KEY, s VARCHAR);
      CREATE MATERIALIZED VIEW parsed AS SELECT id, CAST(s AS INT) AS n FROM raw;`);
    await suite.client.pushOk(pipeline, 'raw', '1,10\n2,abc\n', 'format=csv');
    await felderaError(await suite.client.query(pipeline, 'SELECT * FROM parsed'), 400, 'AdHocQueryError');
    await suite.client.pushOk(pipeline, 'raw', '3,30\n', 'format=csv');
    assert.deepEqual(await suite.client.rows(pipeline, 'SELECT id FROM raw ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }]);
    const status = (await (await suite.client.get(pipeline)).json()) as Record<string, unknown>;
    assert.equal(status['deployment_status'], 'Running');
    await suite.client.pushOk(pipeline, 'raw', '{"update": {"id": 2, "s": "20"}}');
    assert.deepEqual(await suite.client.rows(pipeline, 'SELECT * FROM parsed ORDER BY id'), [{ id: 1, n: 10 }, { id: 2, n: 20 }, { id: 3, n: 30 }]);
  });

  test('MAP and ROW values are JSON objects, and VARIANT values any JSON, in JSON and CSV pushes alike; a map with a value that does not convert is a bad record', async () => {
    const pipeline = await fresh('CREATE TABLE m (id INT NOT NULL PRIMARY KEY, attrs MAP<VARCHAR, INT>, pos ROW(x INT, label VARCHAR), extra VARIANT);');
    await suite.client.pushOk(pipeline, 'm', '{"insert": {"id": 1, "attrs": {"a": 1, "b": 2}, "pos": {"x": 3, "label": "p"}, "extra": {"k": [1, "two", null]}}}');
    await suite.client.pushOk(pipeline, 'm', '2,"{""c"": 3}","{""x"": 4, ""label"": ""q""}","[true, 5]"\n', 'format=csv');
    const error = await felderaError(await suite.client.push(pipeline, 'm', '{"insert": {"id": 3, "attrs": {"a": 1, "b": "two"}}}\n{"insert": {"id": 4, "attrs": {}}}'), 400, 'ParseErrors');
    assert.deepEqual((error.details!['errors'] as Array<{ event_number: number; field: string }>).map((entry) => [entry.event_number, entry.field]), [[1, 'attrs']]);
    assert.deepEqual(await suite.client.rows(pipeline, 'SELECT id, attrs, pos, extra FROM m ORDER BY id'), [
      { id: 1, attrs: { a: 1, b: 2 }, pos: { x: 3, label: 'p' }, extra: { k: [1, 'two', null] } },
      { id: 2, attrs: { c: 3 }, pos: { x: 4, label: 'q' }, extra: [true, 5] },
      { id: 4, attrs: {}, pos: null, extra: null },
    ]);
  });
});

describe('Feldera pushes past the body size limit', () => {
  let server: TestServer;
  let client: FelderaClient;
  before(async () => {
    server = await TestServer.start({ maxRequestBodyBytes: 64 * 1024 });
    client = new FelderaClient(server);
  });
  after(() => server.stop());

  test('a push whose body grows past SLUICE_MAX_BODY_BYTES is a 413 that keeps the chunks committed before it', async () => {
    await client.pipeline('limited', ITEMS);
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => { controller = c; } });
    const push = server.fetch('/v0/pipelines/limited/ingress/items?format=csv', { method: 'POST', body, duplex: 'half' } as RequestInit);
    controller.enqueue(new TextEncoder().encode('1,first,1\n'));
    let seen: unknown[] = [];
    for (let attempt = 0; attempt < 500 && seen.length === 0; attempt += 1) {
      seen = await client.rows('limited', 'SELECT id FROM items');
      if (seen.length === 0) await sleep(20);
    }
    assert.deepEqual(seen, [{ id: 1 }], 'the first record was not committed while the body was still open');
    const rest = Array.from({ length: 5000 }, (_, index) => `${index + 2},${'x'.repeat(20)},2\n`).join('');
    assert.ok(rest.length > 64 * 1024);
    controller.enqueue(new TextEncoder().encode(rest));
    controller.close();
    const response = await push;
    assert.equal(response.status, 413, await response.clone().text());
    assert.deepEqual(await client.rows('limited', 'SELECT id FROM items'), [{ id: 1 }]);
    // A body within the limit is taken whole.
    await client.pushOk('limited', 'items', '2,small,2\n', 'format=csv');
    assert.deepEqual(await client.rows('limited', 'SELECT id FROM items ORDER BY id'), [{ id: 1 }, { id: 2 }]);
  });
});
