import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { useTinybirdSuite } from '../../helpers/tinybird-suite.ts';

/** Behaviours README.md and docs/tinybird.md promise for the Tinybird dialect's parameters, formats, limits and scopes. */
describe('Tinybird dialect: what the docs promise', () => {
  const suite = useTinybirdSuite();

  const errorOf = async (response: Response): Promise<string> => ((await response.json()) as { error: string }).error;
  const countOf = async (name: string): Promise<number> => (await suite.tb.sql<{ n: number }>(`SELECT count() AS n FROM ${name}`))[0]!.n;
  const exists = async (name: string): Promise<boolean> => (await suite.server.fetch(`/v0/datasources/${name}`)).status === 200;
  const createToken = async (query: string): Promise<string> => {
    const response = await suite.server.fetch(`/v0/tokens?${query}`, { method: 'POST' });
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { token: string }).token;
  };

  test('dialect_delimiter is the field separator of the file a data source is created from and of a file appended to it; dialect_escapechar escapes a quote inside a quoted field', async () => {
    const created = await suite.tb.upload(`name=semicolons&dialect_delimiter=${encodeURIComponent(';')}`, 'csv', 's.csv', 'id;name\n1;a,b\n2;c\n');
    assert.equal(created.status, 200, await created.clone().text());
    assert.deepEqual((await created.json()).datasource.columns.map((column: { name: string }) => column.name), ['id', 'name']);
    const appended = await suite.tb.upload(`name=semicolons&mode=append&dialect_delimiter=${encodeURIComponent('|')}`, 'csv', 'p.csv', '3|d;e\n');
    assert.equal(appended.status, 200, await appended.clone().text());
    // The commas and semicolons inside the values stay in them: each file was split at its own delimiter only.
    assert.deepEqual(await suite.tb.sql('SELECT id, name FROM semicolons ORDER BY id'), [{ id: 1, name: 'a,b' }, { id: 2, name: 'c' }, { id: 3, name: 'd;e' }]);
    // dialect_escapechar: the character that escapes a quote inside a quoted field.
    await suite.tb.form('/v0/datasources?name=escaped', { schema: 'id Int32, t String' });
    const escaped = await suite.tb.upload(`name=escaped&mode=append&dialect_escapechar=${encodeURIComponent('\\')}`, 'csv', 'e.csv', '1,"say \\"hi\\", then go"\n2,"plain"\n');
    assert.equal(escaped.status, 200, await escaped.clone().text());
    assert.deepEqual([(await escaped.json()).invalid_lines, await countOf('escaped_quarantine')], [0, 0]);
    assert.deepEqual(await suite.tb.sql('SELECT id, t FROM escaped ORDER BY id'), [{ id: 1, t: 'say "hi", then go' }, { id: 2, t: 'plain' }]);
  });

  test('a data source created with dialect_escapechar reads quoted fields with it; a line the escape does not fit is an invalid line, not a reason to read the file another way', async () => {
    const created = await suite.tb.upload(`name=escaped_create&dialect_escapechar=${encodeURIComponent('\\')}`, 'csv', 'e.csv', 'a,b\n1,"x y"\n2,"p""q"\n3,"r\\"s"\n');
    const body = await created.json();
    assert.equal(created.status, 200, JSON.stringify(body));
    assert.deepEqual(body.datasource.columns.map((column: { name: string }) => column.name), ['a', 'b']);
    assert.equal(body.invalid_lines, 1);
    assert.deepEqual(await suite.tb.sql('SELECT a, b FROM escaped_create ORDER BY a'), [{ a: 1, b: 'x y' }, { a: 3, b: 'r"s' }]);
  });

  test('a dialect_delimiter or dialect_escapechar of more than one character, or a dialect_new_line that is not a line ending, is a 400 that creates nothing', async () => {
    for (const [parameter, value] of [['dialect_delimiter', ';;'], ['dialect_escapechar', '\\\\'], ['dialect_new_line', 'xx']] as const) {
      const response = await suite.tb.upload(`name=bad_dialect&${parameter}=${encodeURIComponent(value)}`, 'csv', 'd.csv', 'id\n1\n');
      assert.equal(response.status, 400, parameter);
      assert.match(await errorOf(response), new RegExp(parameter), parameter);
      assert.equal(await exists('bad_dialect'), false, parameter);
    }
    const newline = await suite.tb.upload(`name=good_dialect&dialect_new_line=${encodeURIComponent('\n')}`, 'csv', 'd.csv', 'id\n1\n2\n');
    assert.equal(newline.status, 200, await newline.clone().text());
    assert.equal(await countOf('good_dialect'), 2);
  });

  test('an empty file on replace changes nothing, unless replace_truncate_when_empty=true, which empties the data source', async () => {
    await suite.tb.form('/v0/datasources?name=emptied', { schema: 'id Int32' });
    await suite.tb.upload('name=emptied&mode=append', 'csv', 'a.csv', '1\n2\n3\n');
    const kept = await suite.tb.upload('name=emptied&mode=replace', 'csv', 'empty.csv', '');
    assert.equal(kept.status, 200, await kept.clone().text());
    assert.equal(await countOf('emptied'), 3);
    const notTrue = await suite.tb.upload('name=emptied&mode=replace&replace_truncate_when_empty=false', 'csv', 'empty.csv', '');
    assert.equal(notTrue.status, 200, await notTrue.clone().text());
    assert.equal(await countOf('emptied'), 3);
    const truncated = await suite.tb.upload('name=emptied&mode=replace&replace_truncate_when_empty=true', 'csv', 'empty.csv', '');
    assert.equal(truncated.status, 200, await truncated.clone().text());
    assert.equal(await countOf('emptied'), 0);
  });

  test('a replace whose rows all go to quarantine keeps the data source as it was (the rows quarantined), unless replace_truncate_when_empty=true', async () => {
    await suite.tb.form('/v0/datasources?name=all_bad', { schema: 'id Int32' });
    await suite.tb.upload('name=all_bad&mode=append', 'csv', 'a.csv', '1\n2\n3\n');
    const kept = await suite.tb.upload('name=all_bad&mode=replace', 'csv', 'bad.csv', 'x\ny\n');
    const answer = (await kept.json()) as { successful_rows: number; quarantined_rows: number };
    assert.deepEqual([answer.successful_rows, answer.quarantined_rows], [0, 2]);
    assert.equal(await countOf('all_bad'), 3);
    assert.equal(await countOf('all_bad_quarantine'), 2);
    // One good row is a replace as any other.
    await suite.tb.upload('name=all_bad&mode=replace', 'csv', 'mixed.csv', '7\nz\n');
    assert.deepEqual(await suite.tb.sql('SELECT id FROM all_bad'), [{ id: 7 }]);
    await suite.tb.upload('name=all_bad&mode=replace&replace_truncate_when_empty=true', 'csv', 'bad.csv', 'x\n');
    assert.equal(await countOf('all_bad'), 0);
  });

  test('schema is only taken with mode=create: an append carrying one is a 400 and appends nothing', async () => {
    await suite.tb.form('/v0/datasources?name=schema_once', { schema: 'id Int32' });
    await suite.tb.upload('name=schema_once&mode=append', 'csv', 'a.csv', '1\n');
    for (const mode of ['append', 'replace']) {
      const response = await suite.tb.upload(`name=schema_once&mode=${mode}&schema=${encodeURIComponent('id Int32')}`, 'csv', 'b.csv', '2\n');
      assert.equal(response.status, 400, mode);
      assert.match(await errorOf(response), /only valid with mode=create/);
    }
    assert.deepEqual(await suite.tb.sql('SELECT id FROM schema_once'), [{ id: 1 }]);
  });

  test('an append or replace without name is a 400, even when its file is named like a data source, and writes nothing', async () => {
    await suite.tb.form('/v0/datasources?name=trips', { schema: 'id Int32' });
    await suite.tb.upload('name=trips&mode=append', 'csv', 'seed.csv', '1\n');
    for (const mode of ['append', 'replace']) {
      const upload = await suite.tb.upload(`mode=${mode}`, 'csv', 'trips.csv', '5\n');
      assert.equal(upload.status, 400, mode);
      assert.match(await errorOf(upload), /name parameter is required/);
      const url = suite.files.serve(`/${mode}/trips.csv`, '6\n');
      const remote = await suite.tb.form(`/v0/datasources?mode=${mode}`, { url });
      assert.equal(remote.status, 400, mode);
      assert.match(await errorOf(remote), /name parameter is required/);
    }
    assert.deepEqual(await suite.tb.sql('SELECT id FROM trips'), [{ id: 1 }]);
    // A create still takes its name from the file.
    const created = await suite.tb.upload('mode=create', 'csv', 'named_by_file.csv', 'id\n7\n');
    assert.equal(created.status, 200, await created.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id FROM named_by_file'), [{ id: 7 }]);
  });

  test('gzip is recognised by Content-Encoding, by Content-Type and by the bytes themselves, in a raw body and in a multipart file named without .gz', async () => {
    await suite.tb.form('/v0/datasources?name=zipped', { schema: 'id Int32, s String' });
    const raw = (headers: Record<string, string>, text: string) => suite.server.fetch('/v0/datasources?mode=append&name=zipped', { method: 'POST', headers, body: gzipSync(text) });
    const responses = [
      await raw({ 'content-type': 'text/csv', 'content-encoding': 'gzip' }, '1,encoding\n'),
      await raw({ 'content-type': 'application/gzip' }, '2,type\n'),
      await raw({ 'content-type': 'text/csv' }, '3,raw bytes\n'),
      await suite.tb.upload('mode=append&name=zipped', 'csv', 'not_named_gz.csv', gzipSync('4,file bytes\n')),
      await suite.tb.upload('mode=append&name=zipped&format=ndjson', 'ndjson', 'rows.ndjson.gz', gzipSync('{"id": 5, "s": "ndjson.gz"}\n')),
    ];
    for (const [index, response] of responses.entries()) assert.equal(response.status, 200, `${index}: ${await response.text()}`);
    assert.deepEqual(await suite.tb.sql('SELECT id, s FROM zipped ORDER BY id'), [
      { id: 1, s: 'encoding' }, { id: 2, s: 'type' }, { id: 3, s: 'raw bytes' }, { id: 4, s: 'file bytes' }, { id: 5, s: 'ndjson.gz' },
    ]);
    assert.equal(await countOf('zipped_quarantine'), 0);
  });

  test('a file part named csv, ndjson, parquet or file is read in the format the request names, whatever the part is called', async () => {
    await suite.tb.form('/v0/datasources?name=any_part', { schema: 'id Int32, s String' });
    for (const [index, part] of ['file', 'ndjson', 'parquet'].entries()) {
      const response = await suite.tb.upload('mode=append&name=any_part', part, 'rows.csv', `${index + 1},${part}\n`);
      assert.equal(response.status, 200, `${part}: ${await response.clone().text()}`);
    }
    await suite.tb.form('/v0/datasources?name=any_part_json&format=ndjson', { schema: 'id Int32 `json:$.id`, s String `json:$.s`' });
    const csvPart = await suite.tb.upload('mode=append&name=any_part_json&format=ndjson', 'csv', 'rows.ndjson', '{"id": 9, "s": "csv part"}\n');
    assert.equal(csvPart.status, 200, await csvPart.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, s FROM any_part ORDER BY id'), [{ id: 1, s: 'file' }, { id: 2, s: 'ndjson' }, { id: 3, s: 'parquet' }]);
    assert.deepEqual(await suite.tb.sql('SELECT id, s FROM any_part_json'), [{ id: 9, s: 'csv part' }]);
  });

  test('an empty CSV field of a non-Nullable String column is the empty string, while one of a non-Nullable Int32 column is quarantined', async () => {
    await suite.tb.form('/v0/datasources?name=empty_fields', { schema: 'id Int32, s String, n Int32' });
    const response = await suite.tb.upload('mode=append&name=empty_fields', 'csv', 'e.csv', '1,,5\n2,x,\n3,y,7\n');
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual([body.successful_rows, body.quarantine_rows], [2, 1]);
    assert.deepEqual(await suite.tb.sql('SELECT id, s, n FROM empty_fields ORDER BY id'), [{ id: 1, s: '', n: 5 }, { id: 3, s: 'y', n: 7 }]);
    assert.deepEqual(await suite.tb.sql('SELECT id, c__error_column FROM empty_fields_quarantine'), [{ id: '2', c__error_column: ['n'] }]);
  });

  test("an empty CSV field or \\N of a non-Nullable String column with a DEFAULT takes the DEFAULT, as ClickHouse's input_format_csv_empty_as_default reads it; a quoted \"\" stays the empty string", async () => {
    await suite.tb.form('/v0/datasources?name=defaulted_text', { schema: "id Int32, s String DEFAULT 'zz', n Int32 DEFAULT 7" });
    const response = await suite.tb.upload('mode=append&name=defaulted_text', 'csv', 'd.csv', '1,,\n2,\\N,\\N\n3,"",1\n4,x,2\n');
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, s, n FROM defaulted_text ORDER BY id'), [{ id: 1, s: 'zz', n: 7 }, { id: 2, s: 'zz', n: 7 }, { id: 3, s: '', n: 1 }, { id: 4, s: 'x', n: 2 }]);
  });

  test('a CSV header that names one column of the data source twice is a 400 and appends nothing', async () => {
    await suite.tb.form('/v0/datasources?name=twice_named', { schema: 'id Int32, v String' });
    await suite.tb.upload('mode=append&name=twice_named', 'csv', 'seed.csv', 'id,v\n1,a\n');
    const response = await suite.tb.upload('mode=append&name=twice_named', 'csv', 'dup.csv', 'id,v,id\n2,b,3\n');
    assert.equal(response.status, 400);
    assert.match(await errorOf(response), /names column "id" more than once/);
    assert.deepEqual(await suite.tb.sql('SELECT id, v FROM twice_named'), [{ id: 1, v: 'a' }]);
    assert.equal(await countOf('twice_named_quarantine'), 0);
  });

  test('a line longer than 8 MB goes to the quarantine as an invalid line, in CSV and NDJSON alike, and the lines around it load', async () => {
    const long = 'x'.repeat(9 * 1024 * 1024);
    await suite.tb.form('/v0/datasources?name=long_csv', { schema: 'id Int32, s String' });
    await suite.tb.form('/v0/datasources?name=long_json&format=ndjson', { schema: 'id Int32 `json:$.id`, s String `json:$.s`' });
    const csv = await suite.tb.upload('mode=append&name=long_csv', 'csv', 'l.csv', `1,a\n2,${long}\n3,c\n`);
    const ndjson = await suite.tb.upload('mode=append&name=long_json&format=ndjson', 'ndjson', 'l.ndjson', `{"id": 1, "s": "a"}\n${JSON.stringify({ id: 2, s: long })}\n{"id": 3, "s": "c"}\n`);
    for (const [name, response] of [['long_csv', csv], ['long_json', ndjson]] as const) {
      const body = await response.json();
      assert.equal(response.status, 200, name);
      assert.deepEqual([body.successful_rows, body.quarantine_rows, body.invalid_lines], [2, 0, 1], name);
      assert.deepEqual(await suite.tb.sql(`SELECT id, s FROM ${name} ORDER BY id`), [{ id: 1, s: 'a' }, { id: 3, s: 'c' }], name);
      assert.equal(await countOf(`${name}_quarantine`), 1, name);
    }
  });

  test('a URL with user:password@ is fetched with them as Basic authorization, which a server demanding them accepts', async () => {
    const expected = `Basic ${Buffer.from('reader:s3cret').toString('base64')}`;
    const remote = createServer((request, response) => {
      if (request.headers.authorization === expected) response.writeHead(200).end('id,v\n1,a\n2,b\n');
      else response.writeHead(401).end('credentials needed');
    });
    await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
    try {
      const base = `127.0.0.1:${(remote.address() as AddressInfo).port}/private.csv`;
      const withCredentials = await (await suite.tb.form('/v0/datasources?name=behind_auth', { url: `http://reader:s3cret@${base}` })).json();
      assert.equal((await suite.tb.waitForJob(withCredentials.id))['status'], 'done');
      assert.deepEqual(await suite.tb.sql('SELECT id, v FROM behind_auth ORDER BY id'), [{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
      // The same URL without them is refused by that server: the credentials were what let the first through.
      const without = await (await suite.tb.form('/v0/datasources?name=without_auth', { url: `http://${base}` })).json();
      const failed = await suite.tb.waitForJob(without.id);
      assert.equal(failed['status'], 'error');
      assert.match(String(failed['error']), /401/);
      assert.equal(await exists('without_auth'), false);
    } finally {
      await new Promise<void>((resolve) => remote.close(() => resolve()));
    }
  });

  test('a DATASOURCES:APPEND scope appends files to its data source, and may not append to another, create, replace, truncate or drop', async () => {
    await suite.tb.form('/v0/datasources?name=append_target', { schema: 'id Int32' });
    await suite.tb.form('/v0/datasources?name=append_other', { schema: 'id Int32' });
    const token = await createToken('name=file_appender&scope=DATASOURCES:APPEND:append_target');
    const appended = await suite.tb.upload('mode=append&name=append_target', 'csv', 'a.csv', '1\n2\n', token);
    assert.equal(appended.status, 200, await appended.clone().text());
    const refused: Array<[string, Response]> = [
      ['append to another', await suite.tb.upload('mode=append&name=append_other', 'csv', 'a.csv', '1\n', token)],
      ['replace', await suite.tb.upload('mode=replace&name=append_target', 'csv', 'r.csv', '9\n', token)],
      ['create', await suite.tb.form('/v0/datasources?name=append_created', { schema: 'id Int32' }, token)],
      ['append creating', await suite.tb.upload('mode=append&name=append_created', 'csv', 'n.csv', 'id\n1\n', token)],
      ['truncate', await suite.server.fetch('/v0/datasources/append_target/truncate', { method: 'POST', token })],
      ['drop', await suite.server.fetch('/v0/datasources/append_target', { method: 'DELETE', token })],
    ];
    for (const [what, response] of refused) assert.equal(response.status, 403, what);
    assert.deepEqual(await suite.tb.sql('SELECT id FROM append_target ORDER BY id'), [{ id: 1 }, { id: 2 }]);
    assert.equal(await countOf('append_other'), 0);
    assert.equal(await exists('append_created'), false);
  });

  test('a DATASOURCES:DROP scope deletes its data source with its quarantine, and no other; a READ scope deletes nothing', async () => {
    await suite.tb.form('/v0/datasources?name=droppable', { schema: 'id Int32' });
    await suite.tb.form('/v0/datasources?name=kept_source', { schema: 'id Int32' });
    const dropper = await createToken('name=dropper&scope=DATASOURCES:DROP:droppable');
    const reader = await createToken('name=drop_reader&scope=DATASOURCES:READ:kept_source');
    assert.equal((await suite.server.fetch('/v0/datasources/kept_source', { method: 'DELETE', token: dropper })).status, 403);
    assert.equal((await suite.server.fetch('/v0/datasources/kept_source', { method: 'DELETE', token: reader })).status, 403);
    assert.equal(await exists('kept_source'), true);
    assert.equal((await suite.server.fetch('/v0/datasources/droppable', { method: 'DELETE', token: dropper })).status, 204);
    assert.equal(await exists('droppable'), false);
    assert.equal(await exists('droppable_quarantine'), false);
    // The name is free again.
    assert.equal((await suite.tb.form('/v0/datasources?name=droppable', { schema: 'id Int32' })).status, 200);
  });

  test('GET /v0/datasources lists only the data sources the token may read; another one by name is a 403', async () => {
    await suite.tb.form('/v0/datasources?name=listed_mine', { schema: 'id Int32' });
    await suite.tb.form('/v0/datasources?name=listed_theirs', { schema: 'id Int32' });
    const token = await createToken('name=lister&scope=DATASOURCES:READ:listed_mine');
    const everything = ((await (await suite.server.fetch('/v0/datasources')).json()).datasources as Array<{ name: string }>).map((source) => source.name);
    assert.ok(everything.includes('listed_theirs') && everything.length > 2, everything.join(', '));
    const listed = await suite.server.fetch('/v0/datasources', { token });
    assert.equal(listed.status, 200);
    const names = ((await listed.json()).datasources as Array<{ name: string }>).map((source) => source.name).sort();
    assert.deepEqual(names, ['listed_mine', 'listed_mine_quarantine']);
    assert.equal((await suite.server.fetch('/v0/datasources/listed_mine', { token })).status, 200);
    assert.equal((await suite.server.fetch('/v0/datasources/listed_theirs', { token })).status, 403);
  });
});

describe('SLUICE_MAX_BODY_BYTES bounds a multipart file of the Tinybird dialect', () => {
  const suite = useTinybirdSuite({ maxRequestBodyBytes: 4096 });

  test('a multipart file larger than the limit is a 413 that writes nothing and creates nothing; a file within it loads', async () => {
    await suite.tb.form('/v0/datasources?name=bounded', { schema: 'id Int32' });
    const small = '1\n'.repeat(1000);
    const large = '1\n'.repeat(5000);
    const within = await suite.tb.upload('mode=append&name=bounded', 'csv', 'small.csv', small);
    assert.equal(within.status, 200, await within.clone().text());
    const over = await suite.tb.upload('mode=append&name=bounded', 'csv', 'large.csv', large);
    assert.equal(over.status, 413);
    assert.equal(typeof ((await over.json()) as { error: unknown }).error, 'string');
    assert.deepEqual(await suite.tb.sql('SELECT count() AS n FROM bounded'), [{ n: 1000 }]);
    const created = await suite.tb.upload('mode=create&name=bounded_new', 'csv', 'large.csv', `id\n${large}`);
    assert.equal(created.status, 413);
    assert.equal((await suite.server.fetch('/v0/datasources/bounded_new')).status, 404);
  });
});

describe('SLUICE_QUERY_TIMEOUT_MS bounds the conditions of the Tinybird dialect as it bounds queries', () => {
  const suite = useTinybirdSuite({ queryTimeoutMs: 200 });

  test("a delete dry run whose condition runs past the query time limit is stopped with the limit's 503, and a quick one still counts", async () => {
    await suite.tb.form('/v0/datasources?name=many', { schema: 'id Int32' });
    const ids = Array.from({ length: 1_000_000 }, (_, index) => index).join('\n');
    assert.equal((await suite.tb.upload('mode=append&name=many', 'csv', 'ids.csv', `${ids}\n`)).status, 200);
    // A few microseconds a row: about ten seconds over the million rows, in steps DuckDB can interrupt.
    const slow = await suite.tb.form('/v0/datasources/many/delete', { delete_condition: 'list_sum(range(id, id + 2000)) < 0', dry_run: 'true' });
    assert.equal(slow.status, 503);
    assert.match(((await slow.json()) as { error: string }).error, /did not finish within the server's limit of 0\.2 s/);
    const quick = await suite.tb.form('/v0/datasources/many/delete', { delete_condition: 'id < 10', dry_run: 'true' });
    assert.deepEqual(await quick.json(), { rows_to_be_deleted: 10 });
  });
});
