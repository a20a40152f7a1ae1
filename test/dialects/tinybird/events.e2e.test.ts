import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { WHOLE_BODY_BYTES } from '../../../src/server/body.ts';
import { TestServer } from '../../helpers/test-server.ts';
import { TinybirdClient } from '../../helpers/tinybird-client.ts';

describe('Tinybird Events API', () => {
  let server: TestServer;
  let tb: TinybirdClient;
  before(async () => {
    server = await TestServer.start();
    tb = new TinybirdClient(server);
    await tb.form('/v0/datasources?name=clicks', { schema: 'id Int64 `json:$.id`, kind String `json:$.kind`, ts DateTime `json:$.at`', format: 'ndjson' });
  });
  after(() => server.stop());

  const send = (query: string, body: string | Buffer, headers: Record<string, string> = {}, token?: string | null) =>
    server.fetch(`/v0/events?${query}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers, ...(token !== undefined && { token }) });

  test('wait=true answers 200 once the rows are durable, with counts', async () => {
    const response = await send('name=clicks&wait=true', '{"id": 1, "kind": "a", "at": "2024-01-01 10:00:00"}\n{"id": 2, "kind": "b", "at": 1704103200}\n');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { successful_rows: 2, quarantined_rows: 0 });
    await server.restart();
    assert.deepEqual(await tb.sql('SELECT id, kind, ts FROM clicks ORDER BY id'), [
      { id: 1, kind: 'a', ts: '2024-01-01 10:00:00' }, { id: 2, kind: 'b', ts: '2024-01-01 10:00:00' },
    ]);
  });

  test('without wait the answer is 202; gzip bodies work; bad rows are quarantined, not lost', async () => {
    const response = await send('name=clicks', gzipSync('{"id": 3, "kind": "c", "at": "2024-01-02T00:00:00Z"}\n{"id": "x", "kind": "d", "at": "2024-01-02"}\nnot json\n'), { 'content-encoding': 'gzip' });
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { successful_rows: 1, quarantined_rows: 2 });
    assert.deepEqual(await tb.sql('SELECT count() AS n FROM clicks_quarantine'), [{ n: 2 }]);
  });

  test('a row with an array element of the wrong type is quarantined whole, not kept with a NULL element', async () => {
    await tb.form('/v0/datasources?name=tagged', { schema: 'id Int64 `json:$.id`, scores Array(Int32) `json:$.scores[:]`', format: 'ndjson' });
    const response = await send('name=tagged&wait=true', '{"id": 1, "scores": [1, 2]}\n{"id": 2, "scores": [3, "three"]}\n{"id": 3, "scores": [4, null]}\n');
    assert.deepEqual(await response.json(), { successful_rows: 1, quarantined_rows: 2 });
    assert.deepEqual(await tb.sql('SELECT id, scores FROM tagged'), [{ id: 1, scores: [1, 2] }]);
    const quarantined = await tb.sql<{ id: string; scores: string; c__error_column: string[]; c__error: string[] }>('SELECT id, scores, c__error_column, c__error FROM tagged_quarantine ORDER BY id');
    assert.deepEqual(quarantined.map((row) => [row.id, row.scores, row.c__error_column]), [['2', '[3,"three"]', ['scores']], ['3', '[4,null]', ['scores']]]);
    assert.match(quarantined[0]!.c__error[0]!, /column "scores": value "\[3,"three"\]" is not a valid Array\(Int32\)/);
  });

  test('a value that is no array under a [:] JSONPath is quarantined with its text, not stored as []; a missing or null one is []', async () => {
    await tb.form('/v0/datasources?name=not_arrays', { schema: 'id Int64 `json:$.id`, tags Array(String) `json:$.tags[:]`, names Array(String) `json:$.people[:].name`', format: 'ndjson' });
    const response = await send('name=not_arrays&wait=true', [
      '{"id": 1, "tags": ["a"], "people": [{"name": "x"}]}', '{"id": 2, "tags": "oops"}', '{"id": 3, "people": {"name": "y"}}', '{"id": 4, "tags": 5}',
      '{"id": 5, "tags": null}', '{"id": 6}',
    ].join('\n'));
    assert.deepEqual(await response.json(), { successful_rows: 3, quarantined_rows: 3 });
    assert.deepEqual(await tb.sql('SELECT id, tags, names FROM not_arrays ORDER BY id'), [{ id: 1, tags: ['a'], names: ['x'] }, { id: 5, tags: [], names: [] }, { id: 6, tags: [], names: [] }]);
    const quarantined = await tb.sql<{ id: string; tags: string; names: string; c__error_column: string[] }>('SELECT id, tags, names, c__error_column FROM not_arrays_quarantine ORDER BY id');
    assert.deepEqual(quarantined.map((row) => [row.id, row.tags, row.names, row.c__error_column]), [
      ['2', '"oops"', null, ['tags']], ['3', null, '{"name":"y"}', ['names']], ['4', '5', null, ['tags']],
    ]);
  });

  test('a Tuple object with a key that names none of its elements is quarantined, not stored without it, as ClickHouse refuses it', async () => {
    await tb.form('/v0/datasources?name=tuples', { schema: 'id Int64 `json:$.id`, t Tuple(a Int32, b String) `json:$.t`', format: 'ndjson' });
    const response = await send('name=tuples&wait=true', '{"id": 1, "t": {"a": 1, "b": "x"}}\n{"id": 2, "t": {"a": 2, "b": "y", "zz": 3}}\n{"id": 3, "t": {"A": 3, "b": "z"}}');
    assert.deepEqual(await response.json(), { successful_rows: 1, quarantined_rows: 2 });
    assert.deepEqual(await tb.sql('SELECT id, t FROM tuples'), [{ id: 1, t: { a: 1, b: 'x' } }]);
    const quarantined = await tb.sql<{ id: string; c__error: string[] }>('SELECT id, c__error FROM tuples_quarantine ORDER BY id');
    assert.deepEqual(quarantined.map((row) => row.id), ['2', '3']);
    assert.match(quarantined[0]!.c__error[0]!, /its member "zz" is no field/);
  });

  test('a Tuple is read from a JSON array of one value per element, named or not, as ClickHouse reads it; an array of another length is quarantined', async () => {
    await tb.form('/v0/datasources?name=tuple_arrays', { schema: 'id Int64 `json:$.id`, t Tuple(a Int32, b String) `json:$.t`, u Tuple(Int32, String) `json:$.u`', format: 'ndjson' });
    const response = await send('name=tuple_arrays&wait=true', '{"id": 1, "t": [2, "z"], "u": [1, "y"]}\n{"id": 2, "t": [3], "u": [1, "y"]}\n{"id": 3, "t": {"a": 4, "b": "w"}, "u": [5, "v"]}');
    assert.deepEqual(await response.json(), { successful_rows: 2, quarantined_rows: 1 });
    assert.deepEqual(await tb.sql('SELECT id, t.a AS a, t.b AS b, tupleElement(u, 1) AS u1 FROM tuple_arrays ORDER BY id'), [{ id: 1, a: 2, b: 'z', u1: 1 }, { id: 3, a: 4, b: 'w', u1: 5 }]);
  });

  test('a FixedString(N) value longer than N bytes is quarantined with the column, the value and the reason; a shorter one is padded with NUL bytes, from events and CSV alike', async () => {
    await tb.form('/v0/datasources?name=codes', { schema: 'id Int64 `json:$.id`, code FixedString(3) `json:$.code`', format: 'ndjson' });
    const response = await send('name=codes&wait=true', '{"id": 1, "code": "abc"}\n{"id": 2, "code": "ab"}\n{"id": 3, "code": "abcd"}\n{"id": 4, "code": "éé"}\n');
    assert.deepEqual(await response.json(), { successful_rows: 2, quarantined_rows: 2 });
    assert.deepEqual(await tb.sql('SELECT id, code, strlen(code) AS bytes FROM codes ORDER BY id'), [{ id: 1, code: 'abc', bytes: 3 }, { id: 2, code: 'ab\u0000', bytes: 3 }]);
    const quarantined = await tb.sql<{ id: string; code: string; c__error_column: string[]; c__error: string[] }>('SELECT id, code, c__error_column, c__error FROM codes_quarantine ORDER BY id');
    assert.deepEqual(quarantined.map((row) => [row.id, row.code, row.c__error_column]), [['3', 'abcd', ['code']], ['4', 'éé', ['code']]]);
    assert.match(quarantined[0]!.c__error[0]!, /column "code": value "abcd" is 4 bytes, longer than the 3 of FixedString\(3\)/);
    assert.match(quarantined[1]!.c__error[0]!, /column "code": value "éé" is 4 bytes, longer than the 3 of FixedString\(3\)/);

    await tb.form('/v0/datasources?name=codes_csv', { schema: 'id Int64, code FixedString(2)' });
    const appended = await (await tb.upload('name=codes_csv&mode=append', 'csv', 'c.csv', 'id,code\n1,ab\n2,a\n3,abc\n')).json();
    assert.deepEqual([appended.quarantine_rows, appended.successful_rows], [1, 2]);
    assert.deepEqual(await tb.sql('SELECT id, code FROM codes_csv ORDER BY id'), [{ id: 1, code: 'ab' }, { id: 2, code: 'a\u0000' }]);
    assert.deepEqual(await tb.sql('SELECT code, c__error FROM codes_csv_quarantine'), [{ code: 'abc', c__error: ['column "code": value "abc" is 3 bytes, longer than the 2 of FixedString(2)'] }]);
  });

  test('a fraction, an exponent or a hex number for an integer column is quarantined, not rounded, from events and CSV alike', async () => {
    await tb.form('/v0/datasources?name=whole', { schema: 'id Int64 `json:$.id`, n Int32 `json:$.n`', format: 'ndjson' });
    const response = await send('name=whole&wait=true', '{"id": 1, "n": 27}\n{"id": 2, "n": 27.5}\n{"id": 3, "n": "1e2"}\n{"id": 4, "n": " -8 "}\n');
    assert.deepEqual(await response.json(), { successful_rows: 2, quarantined_rows: 2 });
    assert.deepEqual(await tb.sql('SELECT id, n FROM whole ORDER BY id'), [{ id: 1, n: 27 }, { id: 4, n: -8 }]);
    const quarantined = await tb.sql<{ n: string; c__error: string[] }>('SELECT n, c__error FROM whole_quarantine ORDER BY id');
    assert.deepEqual(quarantined.map((row) => row.n), ['27.5', '1e2']);
    assert.match(quarantined[0]!.c__error[0]!, /column "n": value "27.5" is not a valid Int32/);

    await tb.form('/v0/datasources?name=whole_csv', { schema: 'id Int64, n Int32' });
    const appended = await (await tb.upload('name=whole_csv&mode=append', 'csv', 'w.csv', '1,27\n2,27.5\n3,0x1F\n')).json();
    assert.deepEqual([appended.successful_rows, appended.quarantine_rows], [1, 2]);
  });

  test('a FixedString(N) DEFAULT fills a missing value padded to N bytes, as a given value is', async () => {
    await tb.form('/v0/datasources?name=coded_defaults', { schema: "id Int64 `json:$.id`, code FixedString(3) `json:$.code` DEFAULT 'a'", format: 'ndjson' });
    const response = await send('name=coded_defaults&wait=true', '{"id": 1}\n{"id": 2, "code": "b"}\n');
    assert.deepEqual(await response.json(), { successful_rows: 2, quarantined_rows: 0 });
    assert.deepEqual(await tb.sql('SELECT id, code FROM coded_defaults ORDER BY id'), [{ id: 1, code: 'a\u0000\u0000' }, { id: 2, code: 'b\u0000\u0000' }]);
  });

  test('an empty body is a request of no rows, with or without a Content-Type; to a missing data source it is a 400, as rows are needed to create one', async () => {
    for (const headers of [{}, { 'content-type': 'application/x-ndjson' }] as Array<Record<string, string>>) {
      const response = await server.fetch('/v0/events?name=clicks&wait=true', { method: 'POST', headers });
      assert.equal(response.status, 200, await response.clone().text());
      assert.deepEqual(await response.json(), { successful_rows: 0, quarantined_rows: 0 });
      const missing = await server.fetch('/v0/events?name=never_created&wait=true', { method: 'POST', headers });
      assert.equal(missing.status, 400);
      assert.match(await missing.text(), /holds no JSON object/);
    }
    assert.equal((await server.fetch('/v0/datasources/never_created')).status, 404);
  });

  test('a missing data source is created from the rows when the token may create', async () => {
    const response = await send('name=auto_events&wait=true', '{"user": {"id": 7}, "tags": ["x", "y"], "price": 1.5}\n{"user": {"id": 8}, "tags": [], "price": 2}\n');
    assert.equal(response.status, 200, await response.clone().text());
    const datasource = await (await server.fetch('/v0/datasources/auto_events')).json();
    assert.deepEqual(datasource.columns.map((column: { name: string; jsonpath: string }) => [column.name, column.jsonpath]), [
      ['user_id', '$.user.id'], ['tags', '$.tags[:]'], ['price', '$.price'],
    ]);
    assert.deepEqual(await tb.sql('SELECT user_id, tags FROM auto_events ORDER BY user_id'), [{ user_id: 7, tags: ['x', 'y'] }, { user_id: 8, tags: [] }]);
  });

  test("a data source created from events takes its types from every row of the request, so that none of the request's rows is quarantined", async () => {
    const rows = Array.from({ length: 40_000 }, (_, id) => JSON.stringify({ id, label: id < 30_000 ? 'short' : 'x'.repeat(10) }));
    const response = await send('name=every_row&wait=true', `${rows.join('\n')}\n`);
    assert.deepEqual(await response.json(), { successful_rows: 40_000, quarantined_rows: 0 });
    assert.deepEqual(await tb.sql('SELECT max(id) AS top FROM every_row'), [{ top: 39_999 }]);
  });

  test('an Array column of a data source created from events defaults to [], so that a later event without it is kept', async () => {
    const created = await send('name=optional_arrays&wait=true', '{"a": 1, "b": {"d": [1, 2]}}\n');
    assert.equal(created.status, 200, await created.clone().text());
    const datasource = await (await server.fetch('/v0/datasources/optional_arrays')).json();
    assert.deepEqual(datasource.columns.map((column: { name: string; default_value: string | null }) => [column.name, column.default_value]), [['a', null], ['b_d', '[]']]);
    assert.deepEqual(await (await send('name=optional_arrays&wait=true', '{"a": 2}\n')).json(), { successful_rows: 1, quarantined_rows: 0 });
    assert.deepEqual(await tb.sql('SELECT a, b_d FROM optional_arrays ORDER BY a'), [{ a: 1, b_d: [1, 2] }, { a: 2, b_d: [] }]);
  });

  test("a data source is named by its name or its id (t_…), as Tinybird's APIs take either", async () => {
    const { id } = await (await server.fetch('/v0/datasources/clicks')).json();
    assert.match(id, /^t_/);
    const appended = await send(`name=${id}&wait=true`, '{"id": 900, "kind": "by-id", "at": "2024-01-01 00:00:00"}\n');
    assert.deepEqual(await appended.json(), { successful_rows: 1, quarantined_rows: 0 });
    assert.deepEqual(await tb.sql("SELECT id FROM clicks WHERE kind = 'by-id'"), [{ id: 900 }]);
    const byId = await (await server.fetch(`/v0/datasources/${id}`)).json();
    assert.equal(byId.name, 'clicks');
    const csv = await tb.upload(`name=${id}&mode=append&format=ndjson`, 'ndjson', 'c.ndjson', '{"id": 901, "kind": "by-id", "at": "2024-01-01 00:00:00"}\n');
    assert.equal(csv.status, 200, await csv.clone().text());
    assert.deepEqual(await tb.sql("SELECT count() AS n FROM clicks WHERE kind = 'by-id'"), [{ n: 2 }]);
    const listed = await (await server.fetch('/v0/datasources')).json();
    assert.ok(!listed.datasources.some((datasource: { name: string }) => datasource.name.startsWith('t_')), 'no data source was created under the id');
  });

  test('a line whose bytes are not UTF-8 is quarantined as such, not stored with U+FFFD in their place', async () => {
    await tb.form('/v0/datasources?name=bytes_in', { schema: 'id Int32 `json:$.id`, s String `json:$.s`', format: 'ndjson' });
    const body = Buffer.concat([Buffer.from('{"id": 1, "s": "ok"}\n{"id": 2, "s": "a'), Buffer.from([0xff]), Buffer.from('b"}\n')]);
    const response = await send('name=bytes_in&wait=true', body);
    assert.deepEqual(await response.json(), { successful_rows: 1, quarantined_rows: 1 });
    assert.deepEqual(await tb.sql('SELECT id, s FROM bytes_in'), [{ id: 1, s: 'ok' }]);
    const [quarantined] = await tb.sql<{ c__error: string[] }>('SELECT c__error FROM bytes_in_quarantine');
    assert.match(quarantined!.c__error.join(' '), /invalid UTF-8/);
  });

  test('keys with a backslash or a quote are read by their columns; an empty key makes no column; a second event lands as the first', async () => {
    const record = JSON.stringify({ '': 0, 'a\\': 1, 'x\\\\y': 2, 'q"': 3, b: 4 });
    for (const attempt of [1, 2]) {
      const response = await send('name=odd_keys&wait=true', `${record}\n`);
      assert.equal(response.status, 200, await response.clone().text());
      assert.deepEqual(await response.json(), { successful_rows: 1, quarantined_rows: 0 }, `event ${attempt}`);
    }
    const rows = await tb.sql<Record<string, unknown>>('SELECT * FROM odd_keys');
    assert.deepEqual(rows.map((row) => Object.values(row)), [[1, 2, 3, 4], [1, 2, 3, 4]]);
    const datasource = await (await server.fetch('/v0/datasources/odd_keys')).json();
    assert.deepEqual(datasource.columns.map((column: { jsonpath: string }) => column.jsonpath), ["$.['a\\\\']", "$.['x\\\\\\\\y']", '$.[\'q"\']', '$.b']);
  });

  test('errors are plain text: no name 400, bad token 403, too large 413; an unknown data source is a 404 to a token that may append to it but not create it, a 403 to others', async () => {
    const noName = await send('wait=true', '{}\n');
    assert.equal(noName.status, 400);
    assert.match(noName.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await noName.text(), /name/);
    const badToken = await send('name=clicks', '{}\n', {}, 'nope');
    assert.equal(badToken.status, 403);
    assert.equal(await badToken.text(), 'invalid authentication token');
    const tooLarge = await send('name=clicks', `${'{"id": 1}\n'.repeat(1_200_000)}`);
    assert.equal(tooLarge.status, 413);
    assert.match(tooLarge.headers.get('content-type') ?? '', /^text\/plain/);
    // Chunked, without a length: the size shows only as the body arrives, spooled in pieces. Still a
    // 413, and the server serves on (a piece's write in flight when the spool was removed once ended the process).
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const pieces = Buffer.from('{"id": 1}\n'.repeat(1_200_000));
      const body = new ReadableStream({
        pull(controller) {
          const offset = (this as unknown as { offset?: number }).offset ?? 0;
          if (offset >= pieces.length) return controller.close();
          controller.enqueue(pieces.subarray(offset, offset + 65_536));
          (this as unknown as { offset?: number }).offset = offset + 65_536;
        },
      });
      const chunked = await server.fetch('/v0/events?name=clicks', { method: 'POST', body, ...({ duplex: 'half' } as object) });
      assert.equal(chunked.status, 413);
      assert.equal((await server.fetch('/v0/datasources/clicks')).status, 200);
    }
    const token = await (await server.fetch('/v0/tokens?name=appender&scope=DATASOURCES:APPEND:clicks', { method: 'POST' })).json();
    // A token that may not append to a data source of that name learns nothing of whether there is one.
    const unknown = await send('name=elsewhere', '{"a": 1}\n', {}, token.token);
    assert.equal(unknown.status, 403);
    const awaiting = await (await server.fetch('/v0/tokens?name=awaiting&scope=DATASOURCES:APPEND:elsewhere', { method: 'POST' })).json();
    const missing = await send('name=elsewhere', '{"a": 1}\n', {}, awaiting.token);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'Data Source "elsewhere" does not exist');
    const allowed = await send('name=clicks&wait=true', '{"id": 9, "kind": "z", "at": "2024-01-03"}\n', {}, token.token);
    assert.equal(allowed.status, 200);
  });

  test('a small body read whole, a body streamed in chunks and a body too large to read whole give the same rows and quarantine', async () => {
    // A byte order mark, CRLF line ends, a blank line, a bad value, a line that is not JSON and no final newline.
    const records = '\ufeff{"id": 1, "kind": "a", "at": "2024-01-01"}\r\n\n{"id": "x", "kind": "b", "at": "2024-01-01"}\nnot json\r\n{"id": 2, "kind": "é", "at": "2024-01-02"}';
    const padding = `${'{"id": 0, "kind": "padding", "at": "2024-01-01"}\n'.repeat(Math.ceil(WHOLE_BODY_BYTES / 48))}`;
    const chunked = (text: string) => {
      const bytes = Buffer.from(text);
      // Split inside the two-byte "é" and inside a CRLF, so that readers must carry bytes across chunks.
      const cuts = [0, bytes.indexOf('\r') + 1, bytes.indexOf('é') + 1, bytes.length];
      return new ReadableStream({
        start(controller) {
          for (let index = 1; index < cuts.length; index += 1) controller.enqueue(bytes.subarray(cuts[index - 1], cuts[index]));
          controller.close();
        },
      });
    };
    const bodies: Array<[string, RequestInit['body'], number]> = [
      ['whole', records, 2],
      ['chunked', chunked(records), 2],
      ['too large to read whole', `${records}\n${padding}`, 2 + padding.split('\n').length - 1],
    ];
    for (const [name, body, rows] of bodies) {
      await tb.form(`/v0/datasources?name=shape`, { schema: 'id Int64 `json:$.id`, kind String `json:$.kind`, ts Date `json:$.at`', format: 'ndjson' });
      const response = await server.fetch('/v0/events?name=shape&wait=true', { method: 'POST', body, ...({ duplex: 'half' } as object) });
      assert.equal(response.status, 200, name);
      assert.deepEqual(await response.json(), { successful_rows: rows, quarantined_rows: 2 }, name);
      assert.deepEqual(await tb.sql("SELECT id, kind FROM shape WHERE kind <> 'padding' ORDER BY id"), [{ id: 1, kind: 'a' }, { id: 2, kind: 'é' }], name);
      const quarantined = await tb.sql<{ id: string | null; c__error_column: string[]; c__error: string[] }>('SELECT id, c__error_column, c__error FROM shape_quarantine ORDER BY id NULLS LAST');
      assert.equal(quarantined.length, 2, name);
      assert.equal(quarantined[0]!.id, 'x', name);
      assert.deepEqual(quarantined[0]!.c__error_column, ['id'], name);
      assert.match(quarantined[1]!.c__error[0]!, /invalid JSON: not json/, name);
      assert.equal((await server.fetch('/v0/datasources/shape', { method: 'DELETE' })).status, 204, name);
    }
  });

  test('concurrent requests of plain and awkward bodies share commits, and each gets its own counts and quarantine', async () => {
    await tb.form('/v0/datasources?name=mixed', { schema: 'n Int32 `json:$.n`', format: 'ndjson' });
    // One object per line (passed to DuckDB as it is); CRLF and a blank line (split in JS); a value that does not convert.
    const bodies = Array.from({ length: 30 }, (_, index) =>
      index % 3 === 0 ? `{"n": ${index}}\n{"n": ${index + 1000}}\n` : index % 3 === 1 ? `{"n": ${index}}\r\n\n{"n": ${index + 1000}}` : `{"n": ${index}}\n{"n": "x${index}"}\n`);
    const responses = await Promise.all(bodies.map((body) => send('name=mixed&wait=true', body)));
    const answers = await Promise.all(responses.map((response) => response.json()));
    answers.forEach((answer, index) => assert.deepEqual(answer, { successful_rows: index % 3 === 2 ? 1 : 2, quarantined_rows: index % 3 === 2 ? 1 : 0 }, `request ${index}`));
    const expected = bodies.flatMap((_, index) => (index % 3 === 2 ? [index] : [index, index + 1000])).sort((a, b) => a - b);
    assert.deepEqual((await tb.sql<{ n: number }>('SELECT n FROM mixed ORDER BY n')).map(({ n }) => n), expected);
    const quarantined = await tb.sql<{ n: string; c__error_column: string[] }>('SELECT n, c__error_column FROM mixed_quarantine ORDER BY n');
    assert.deepEqual(quarantined.map(({ n }) => n), bodies.flatMap((_, index) => (index % 3 === 2 ? [`x${index}`] : [])).sort());
    assert.ok(quarantined.every(({ c__error_column }) => c__error_column.join() === 'n'));
  });

  test('many concurrent small requests are grouped into few commits and every row lands', async () => {
    await tb.form('/v0/datasources?name=burst', { schema: 'n Int32 `json:$.n`', format: 'ndjson' });
    const commitsBefore = server.core.writer.stats.commits;
    const responses = await Promise.all(Array.from({ length: 64 }, (_, index) => send('name=burst&wait=true', `{"n": ${index}}\n`)));
    assert.ok(responses.every((response) => response.status === 200));
    const commits = server.core.writer.stats.commits - commitsBefore;
    assert.ok(commits < 64, `64 requests took ${commits} commits`);
    assert.deepEqual(await tb.sql('SELECT count() AS n, sum(n) AS total FROM burst'), [{ n: 64, total: (63 * 64) / 2 }]);
  });

  test('concurrent upserts with bad rows count every quarantined row in the quarantine table\'s row count', async () => {
    await tb.form('/v0/datasources?name=keyed_events&engine=ReplacingMergeTree&engine_sorting_key=id', { schema: 'id Int32 `json:$.id`', format: 'ndjson' });
    const responses = await Promise.all(Array.from({ length: 24 }, (_, index) => send('name=keyed_events&wait=true', `{"id": ${index}}\n{"id": "bad${index}"}\n`)));
    assert.ok(responses.every((response) => response.status === 200));
    assert.deepEqual(await tb.sql('SELECT count() AS n FROM keyed_events_quarantine'), [{ n: 24 }]);
    const quarantine = server.core.catalog.findTable(server.core.catalog.getNamespace('default').id, 'keyed_events_quarantine');
    assert.equal(quarantine?.rowCount, 24);
  });

  test('truncating a quarantine data source while events with bad rows stream in fails neither', async () => {
    await tb.form('/v0/datasources?name=noisy', { schema: 'n Int32 `json:$.n`', format: 'ndjson' });
    let streaming = true;
    const failures: string[] = [];
    const clients = Array.from({ length: 8 }, async (_, client) => {
      for (let index = 0; streaming; index += 1) {
        const response = await send('name=noisy&wait=true', `{"n": ${index}}\n{"n": "bad ${client}"}\n`);
        if (response.status !== 200) failures.push(`${response.status} ${await response.text()}`);
        else await response.arrayBuffer();
      }
    });
    for (let round = 0; round < 8; round += 1) {
      const truncated = await server.fetch('/v0/datasources/noisy_quarantine/truncate', { method: 'POST' });
      if (truncated.status !== 205) failures.push(`truncate ${truncated.status} ${await truncated.text()}`);
    }
    streaming = false;
    await Promise.all(clients);
    assert.deepEqual(failures, []);
  });

  test('events to a quarantine data source are refused with a 400, and it can still be truncated', async () => {
    const refused = await send('name=clicks_quarantine&wait=true', '{"id": 1}\n');
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /quarantine table; rows can only be deleted/);
    const truncated = await server.fetch('/v0/datasources/clicks_quarantine/truncate', { method: 'POST' });
    assert.equal(truncated.status, 205);
  });

  test('altering a data source while events stream in fails neither the events nor the changes', async () => {
    await tb.form('/v0/datasources?name=flowing', { schema: 'n Int32 `json:$.n`', format: 'ndjson' });
    let streaming = true;
    let sent = 0;
    const failures: string[] = [];
    const clients = Array.from({ length: 8 }, async () => {
      while (streaming) {
        const response = await send('name=flowing&wait=true', `{"n": ${(sent += 1)}}\n`);
        if (response.status !== 200) failures.push(`${response.status} ${await response.text()}`);
        else await response.arrayBuffer();
      }
    });
    for (let round = 1; round <= 6; round += 1) {
      const columns = Array.from({ length: round }, (_, index) => `, c${index} Nullable(String) \`json:$.c${index}\``).join('');
      const altered = await tb.form('/v0/datasources/flowing/alter', { schema: `n Int32 \`json:$.n\`${columns}`, description: `round ${round}` });
      assert.equal(altered.status, 200, await altered.clone().text());
    }
    streaming = false;
    await Promise.all(clients);
    assert.deepEqual(failures, []);
    assert.deepEqual(await tb.sql('SELECT count() AS n, max(n) AS last FROM flowing'), [{ n: sent, last: sent }]);
  });
});

describe('Events API back-pressure', () => {
  test('past the cap of waiting writes a request gets 429 with Retry-After and nothing of it is written', async () => {
    const server = await TestServer.start({ maxPendingWrites: 1 });
    try {
      const tb = new TinybirdClient(server);
      await tb.form('/v0/datasources?name=capped', { schema: 'n Int32 `json:$.n`', format: 'ndjson' });
      const responses = await Promise.all(Array.from({ length: 40 }, (_, index) =>
        server.fetch('/v0/events?name=capped&wait=true', { method: 'POST', body: `{"n": ${index}}\n` })));
      const refused = responses.filter((response) => response.status === 429);
      const accepted = responses.filter((response) => response.status === 200);
      assert.equal(refused.length + accepted.length, 40);
      assert.ok(refused.length > 0, 'some requests were refused');
      assert.equal(refused[0]!.headers.get('retry-after'), '1');
      assert.match(await refused[0]!.text(), /Too many writes are waiting for table "capped"/);
      assert.deepEqual(await tb.sql('SELECT count() AS n FROM capped'), [{ n: accepted.length }]);
    } finally {
      await server.stop();
    }
  });
});

