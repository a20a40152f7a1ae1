import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from '../../helpers/test-server.ts';
import { EgressStream, FelderaClient, felderaError, type EgressChunk } from './feldera-fixture.ts';

const PROGRAM = `
  CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR, price INT);
  CREATE VIEW totals AS SELECT count(*) AS n, sum(price) AS total FROM items;
  CREATE LOCAL VIEW hidden AS SELECT id FROM items;`;

describe('Feldera egress', () => {
  let server: TestServer;
  let client: FelderaClient;
  let count = 0;
  const fresh = async () => {
    count += 1;
    await client.pipeline(`e${count}`, PROGRAM);
    return `e${count}`;
  };
  const open = async (pipeline: string, relation: string, query = 'format=json') => {
    const response = await server.fetch(`/v0/pipelines/${pipeline}/egress/${relation}?${query}`, { method: 'POST' });
    assert.equal(response.status, 200);
    return new EgressStream(response.body!.getReader());
  };

  before(async () => {
    server = await TestServer.start();
    client = new FelderaClient(server);
  });
  after(() => server.stop());

  test('a table stream passes on inserts, and an upsert as the old row deleted and the new one inserted', async () => {
    const pipeline = await fresh();
    const stream = await open(pipeline, 'items');
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "a", "price": 5}}');
    assert.deepEqual(await stream.items(1), [{ insert: { id: 1, name: 'a', price: 5 } }]);
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "b", "price": 7}}\n{"delete": {"id": 9}}');
    assert.deepEqual(await stream.items(2), [{ delete: { id: 1, name: 'a', price: 5 } }, { insert: { id: 1, name: 'b', price: 7 } }]);
  });

  test("one change's deletes and inserts go out in one chunk, deletes first, in JSON and CSV, for tables and views", async () => {
    const pipeline = await fresh();
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "a", "price": 5}}');
    const json = await open(pipeline, 'items');
    const csv = await open(pipeline, 'items', 'format=csv');
    const view = await open(pipeline, 'totals');
    await client.pushOk(pipeline, 'items', '{"update": {"id": 1, "price": 7}}\n{"insert": {"id": 2, "name": "b", "price": 1}}');
    // Deletes first; the inserts in no particular order.
    const { sequence_number, json_data } = JSON.parse((await json.line())!) as { sequence_number: number; json_data: Array<Record<string, unknown>> };
    assert.deepEqual([sequence_number, json_data[0], json_data.slice(1).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))],
      [0, { delete: { id: 1, name: 'a', price: 5 } }, [{ insert: { id: 1, name: 'a', price: 7 } }, { insert: { id: 2, name: 'b', price: 1 } }]]);
    const lines = (await csv.chunk())!.text_data!.split('\n');
    assert.deepEqual([lines[0], lines.slice(1).sort()], ['1,a,5,-1', ['', '1,a,7,1', '2,b,1,1']]);
    assert.equal(await view.line(), '{"sequence_number":0,"json_data":[{"delete":{"n":1,"total":5}},{"insert":{"n":2,"total":8}}]}');
  });

  test('a change of more rows than a chunk holds goes out in chunks of at most 2048 rows, none with a delete after an insert', async () => {
    const pipeline = await fresh();
    const push = (name: string) => client.pushOk(pipeline, 'items', Array.from({ length: 3000 }, (_, id) => `${id},${name},1\n`).join(''), 'format=csv');
    await push('a');
    const stream = await open(pipeline, 'items', 'format=json&backpressure=true');
    await push('b');
    const rows = new Map(Array.from({ length: 3000 }, (_, id) => [id, 'a']));
    let items = 0;
    while (items < 6000) {
      const chunk = await stream.chunk();
      assert.ok(chunk, 'the stream ended early');
      const data = chunk.json_data ?? [];
      assert.ok(data.length <= 2048, `a chunk of ${data.length} rows`);
      const kinds = data.map((item) => ('delete' in item ? 'delete' : 'insert'));
      assert.ok(kinds.indexOf('insert') < 0 || kinds.lastIndexOf('delete') < kinds.indexOf('insert'), 'a delete after an insert');
      for (const item of data) {
        const row = (item['delete'] ?? item['insert']) as { id: number; name: string };
        if ('delete' in item) assert.equal(rows.get(row.id), row.name);
        rows.set(row.id, 'insert' in item ? row.name : '');
      }
      items += data.length;
    }
    assert.deepEqual(new Set(rows.values()), new Set(['b']));
    stream.cancel();
  });

  test('without backpressure, a client that reads gets every chunk of a large change, numbered without a gap (none dropped for want of room in a socket buffer)', async () => {
    const pipeline = await fresh();
    const push = (name: string) => client.pushOk(pipeline, 'items', Array.from({ length: 3000 }, (_, id) => `${id},${name},1\n`).join(''), 'format=csv');
    await push('a');
    const stream = await open(pipeline, 'items', 'format=json');
    await push('b');
    const seen = { deletes: 0, inserts: 0 };
    const numbers: number[] = [];
    while (seen.deletes + seen.inserts < 6000) {
      const chunk = await stream.chunk();
      assert.ok(chunk, `the stream ended after ${JSON.stringify(seen)}`);
      numbers.push(chunk.sequence_number);
      // A heartbeat (after 3 s of silence) means nothing more is coming.
      if (chunk.json_data === undefined) break;
      for (const item of chunk.json_data) seen['delete' in item ? 'deletes' : 'inserts'] += 1;
    }
    assert.deepEqual(seen, { deletes: 3000, inserts: 3000 });
    assert.deepEqual(numbers, numbers.map((_, index) => numbers[0]! + index));
    stream.cancel();
  });

  test('64-bit integers and wide decimals are JSON numbers with all their digits, in egress chunks and JSON query results, as Feldera writes them', async () => {
    const pipeline = await fresh();
    const stream = await open(pipeline, 'items');
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 9007199254740993, "name": "big", "price": 1}}');
    assert.equal(await stream.line(), '{"sequence_number":0,"json_data":[{"insert":{"id":9007199254740993,"name":"big","price":1}}]}');
    const queried = await client.query(pipeline, "SELECT id, CAST('12345678901234567.125' AS DECIMAL(38, 3)) AS d FROM items", 'json');
    assert.equal(await queried.text(), '{"id":9007199254740993,"d":12345678901234567.125}\n');
  });

  test('a view stream passes on how the view changed, starting from its snapshot when asked', async () => {
    const pipeline = await fresh();
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "a", "price": 5}}');
    const stream = await open(pipeline, 'TOTALS', 'format=json&send_snapshot=true&backpressure=true');
    const first = await stream.chunk();
    assert.equal(first?.sequence_number, 0);
    assert.deepEqual(first?.json_data, [{ insert: { n: 1, total: 5 } }]);
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 2, "name": "b", "price": 10}}');
    assert.deepEqual(await stream.items(2), [{ delete: { n: 1, total: 5 } }, { insert: { n: 2, total: 15 } }]);
  });

  test('a view of a ROW built without field names streams and is queried with its fields named as Calcite names them (EXPR$0, EXPR$1)', async () => {
    await client.pipeline('rows', `CREATE TABLE t (id INT, x INT);
      CREATE MATERIALIZED VIEW v AS SELECT id, ROW(x, x + 1) AS r, ARRAY[ROW(x, 'a')] AS l FROM t;`);
    const stream = await open('rows', 'v');
    await client.pushOk('rows', 't', '{"insert": {"id": 1, "x": 5}}');
    const row = { id: 1, r: { EXPR$0: 5, EXPR$1: 6 }, l: [{ EXPR$0: 5, EXPR$1: 'a' }] };
    assert.deepEqual(await stream.items(1), [{ insert: row }]);
    assert.deepEqual(await client.rows('rows', 'SELECT * FROM v'), [row]);
    type Field = { name: string; columntype: { type: string; fields?: Field[] } };
    const described = (await (await client.get('rows')).json()) as { program_info: { schema: { outputs: Array<{ fields: Field[] }> } } };
    const fields = described.program_info.schema.outputs[0]!.fields[1]!.columntype.fields!;
    assert.deepEqual(fields.map((field) => [field.name, field.columntype.type]), [['EXPR$0', 'INTEGER'], ['EXPR$1', 'INTEGER']]);
  });

  test("a view stream passes on nothing for a push to a table the view does not read, even where evaluating the view again gives other rows (NOW())", async () => {
    await client.pipeline('unread', `CREATE TABLE items (id INT); CREATE TABLE other (x INT);
      CREATE MATERIALIZED VIEW stamped AS SELECT id, NOW() AS at FROM items;`);
    await client.pushOk('unread', 'items', '{"insert": {"id": 0}}');
    const stream = await open('unread', 'stamped');
    const token = await client.pushOk('unread', 'other', '{"insert": {"x": 1}}');
    const status = await (await server.fetch(`/v0/pipelines/unread/completion_status?token=${encodeURIComponent(token)}`)).json();
    assert.deepEqual(status, { status: 'complete', step: null });
    await client.pushOk('unread', 'items', '{"insert": {"id": 1}}');
    // The first change passed on is the push to items: the view evaluated again, row 1 among its inserts.
    const ids = (await stream.items(3)).map((item) => Object.entries(item).map(([kind, row]) => `${kind} ${(row as { id: number }).id}`)[0]).sort();
    assert.deepEqual(ids, ['delete 0', 'insert 0', 'insert 1']);
  });

  test('CSV chunks carry each row with its weight, NULL empty and an empty string quoted', async () => {
    const pipeline = await fresh();
    const response = await server.fetch(`/v0/pipelines/${pipeline}/egress/items?format=csv`, { method: 'POST' });
    const stream = new EgressStream(response.body!.getReader());
    // An empty string comes from JSON: CSV's empty field is NULL in a nullable column, as Feldera reads it.
    await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "x, y"}}\n{"insert": {"id": 2, "name": "", "price": 3}}');
    const chunk = await stream.chunk();
    assert.deepEqual(chunk?.text_data?.split('\n').filter(Boolean).sort(), ['1,"x, y",,1', '2,"",3,1']);
  });

  test('CSV chunks write binary values and arrays as JSON, so that a chunk pushed back to a table gives the same rows', async () => {
    await client.pipeline('bytes', 'CREATE TABLE b (id INT, v VARBINARY, a INT ARRAY); CREATE TABLE copy (id INT, v VARBINARY, a INT ARRAY);');
    const response = await server.fetch('/v0/pipelines/bytes/egress/b?format=csv', { method: 'POST' });
    const stream = new EgressStream(response.body!.getReader());
    await client.pushOk('bytes', 'b', '{"insert": {"id": 1, "v": [1, 2, 255], "a": [4, 5]}}');
    const lines = (await stream.chunk())!.text_data!;
    assert.equal(lines, '1,"[1,2,255]","[4,5]",1\n');
    // The weight column is the change's, not the table's.
    await client.pushOk('bytes', 'copy', lines.replace(/,1\n$/, '\n'), 'format=csv');
    assert.deepEqual(await client.rows('bytes', 'SELECT id, v, a FROM copy'), [{ id: 1, v: [1, 2, 255], a: [4, 5] }]);
  });

  test('a completion token is complete once the open streams have passed its changes on', async () => {
    const pipeline = await fresh();
    const stream = await open(pipeline, 'totals', 'format=json&backpressure=true');
    const token = await client.pushOk(pipeline, 'items', '{"insert": {"id": 1, "name": "a", "price": 5}}');
    assert.deepEqual(await stream.items(2), [{ delete: { n: 0, total: null } }, { insert: { n: 1, total: 5 } }]);
    const status = await server.fetch(`/v0/pipelines/${pipeline}/completion_status?token=${encodeURIComponent(token)}`);
    assert.deepEqual(await status.json(), { status: 'complete', step: null });
  });

  test('with backpressure, a completion token waits for a stream whose client is not reading', async () => {
    const pipeline = await fresh();
    const stream = await open(pipeline, 'items', 'format=json&backpressure=true');
    // Far more than the sockets between server and client hold, so that the stream must wait for the client.
    const long = 'x'.repeat(1000);
    const rows = Array.from({ length: 40_000 }, (_, index) => `${index},${long},1\n`).join('');
    const token = await client.pushOk(pipeline, 'items', rows, 'format=csv');
    const statusOf = async () => (await (await server.fetch(`/v0/pipelines/${pipeline}/completion_status?token=${encodeURIComponent(token)}`)).json()) as { status: string };
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await statusOf()).status, 'inprogress');
    assert.equal((await stream.items(40_000)).length, 40_000);
    assert.equal((await statusOf()).status, 'complete');
  });

  test('a stop while a change is being passed on breaks the stream off rather than ending it as if the change were whole', async () => {
    const pipeline = await fresh();
    const stream = await open(pipeline, 'items', 'format=json&backpressure=true');
    // One commit of far more rows than the sockets between server and client hold: the stream waits for the client mid-change.
    await client.pushOk(pipeline, 'items', Array.from({ length: 200_000 }, (_, index) => `${index},n,1\n`).join(''), 'format=csv');
    // Once its first rows have come, the change is being passed on (a fixed wait was too short on a busy machine).
    const received: unknown[] = [];
    while (received.length === 0) {
      const chunk = await stream.chunk();
      assert.ok(chunk !== null, 'the stream ended before the change came');
      received.push(...(chunk.json_data ?? []));
    }
    assert.equal((await client.action(pipeline, 'stop')).status, 202);
    const reading = async () => {
      for (let chunk = await stream.chunk(); chunk !== null; chunk = await stream.chunk()) received.push(...(chunk.json_data ?? []));
    };
    await assert.rejects(reading());
    assert.ok(received.length > 0 && received.length < 200_000, `${received.length} items`);
  });

  test('with backpressure, a stream that waits for its client again and again leaves no listener behind each time', async () => {
    const pipeline = await fresh();
    const stream = await open(pipeline, 'items', 'format=json&backpressure=true');
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      // Each batch is more than the sockets between server and client hold, so the stream waits for the client once per batch.
      const long = 'x'.repeat(1000);
      for (let batch = 0; batch < 15; batch += 1) {
        const rows = Array.from({ length: 3000 }, (_, index) => `${batch * 3000 + index},${long},1\n`).join('');
        await client.pushOk(pipeline, 'items', rows, 'format=csv');
        const ids = (await stream.items(3000)).map((item) => (item['insert'] as { id: number }).id).sort((a, b) => a - b);
        assert.deepEqual(ids, Array.from({ length: 3000 }, (_, index) => batch * 3000 + index));
      }
      // Node reports a listener leak past ten listeners of one event on one emitter.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map(String), []);
    } finally {
      process.off('warning', onWarning);
      stream.cancel();
    }
  });

  test("a stream's snapshot cannot be read by users' queries", async () => {
    const pipeline = await fresh();
    await open(pipeline, 'items');
    // Snapshots are numbered as streams open: this stream's is one of the first ten.
    const names = Array.from({ length: 10 }, (_, index) => [`sluice_snapshots.s${index + 1}_rows`, `sluice_snapshots.main.s${index + 1}_rows`]).flat();
    for (const name of names) {
      assert.equal((await client.query(pipeline, `SELECT * FROM ${name}`)).status, 400, name);
      const sql = await server.fetch(`/v0/sql?q=${encodeURIComponent(`SELECT * FROM ${name} FORMAT JSON`)}`);
      assert.ok(sql.status >= 400 && sql.status < 500, `${name}: ${sql.status} ${await sql.text()}`);
    }
  });

  test('a stream of a view that fails on a row is broken off, not ended as if it were done', async () => {
    await client.pipeline('failing', `CREATE TABLE raw (s VARCHAR);
      CREATE MATERIALIZED VIEW parsed AS SELECT CAST(s AS INT) AS n FROM raw;`);
    const stream = await open('failing', 'parsed');
    await client.pushOk('failing', 'raw', '1\n', 'format=csv');
    assert.deepEqual(await stream.items(1), [{ insert: { n: 1 } }]);
    await client.pushOk('failing', 'raw', 'abc\n', 'format=csv');
    await assert.rejects(async () => {
      while ((await stream.chunk()) !== null);
    }, 'the read fails rather than seeing the stream end');
  });

  test('streams opening while their pipeline stops are refused or end: none outlives the stop', { timeout: 60_000 }, async () => {
    const pipeline = await fresh();
    const opening = Array.from({ length: 10 }, () => server.fetch(`/v0/pipelines/${pipeline}/egress/items?format=json`, { method: 'POST' }));
    assert.equal((await client.action(pipeline, 'stop')).status, 202);
    const statuses = await Promise.all(opening.map(async (pending) => {
      const response = await pending;
      // A stream still open after the stop would send heartbeats for ever, and the test would time out.
      await response.text();
      return response.status;
    }));
    assert.ok(statuses.every((status) => status === 200 || status === 503), statuses.join());
  });

  test('a stream ends when its pipeline stops; unknown and local relations are UnknownOutputStream, an unknown format UnknownOutputFormat', async () => {
    const pipeline = await fresh();
    const stream = await open(pipeline, 'items');
    assert.equal((await client.action(pipeline, 'stop')).status, 202);
    let chunk: EgressChunk | null;
    do chunk = await stream.chunk();
    while (chunk !== null);
    assert.equal(chunk, null);
    await felderaError(await server.fetch(`/v0/pipelines/${pipeline}/egress/items`, { method: 'POST' }), 503, 'PipelineInteractionNotDeployed');
    assert.equal((await client.action(pipeline, 'start')).status, 202);
    await felderaError(await server.fetch(`/v0/pipelines/${pipeline}/egress/nope`, { method: 'POST' }), 404, 'UnknownOutputStream');
    await felderaError(await server.fetch(`/v0/pipelines/${pipeline}/egress/hidden`, { method: 'POST' }), 404, 'UnknownOutputStream');
    await felderaError(await server.fetch(`/v0/pipelines/${pipeline}/egress/items?format=xml`, { method: 'POST' }), 400, 'UnknownOutputFormat');
  });
});
