// Names that each dialect allows but that are awkward for SQL — reserved words, quotes, spaces, dots,
// backslashes, unicode, names that differ only in case, names at the length limit, names that look
// like SQL injection — carried end to end over HTTP: created, written in every format, read back
// through each dialect's SQL, used in delete and replace conditions, views and egress. Names a
// dialect must refuse are refused with a 4xx in that dialect's error shape.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CatalyzedClient, CONTENT_TYPES, encodeRows, type BodyFormat, type Row } from '../helpers/catalyzed-client.ts';
import { TestServer } from '../helpers/test-server.ts';
import { TinybirdClient } from '../helpers/tinybird-client.ts';
import { EgressStream, FelderaClient, felderaError } from '../dialects/feldera/feldera-fixture.ts';

const RESERVED = ['select', 'order', 'group', 'table', 'default', 'from', 'user'];
const INJECTION = 'a"; DROP TABLE x; --';
/** Column names with a character that SQL text must quote or escape (the last one names an integer column in Tinybird). */
/** Names the write path gives its own columns and lambdas (see `own` in write-executor.ts), as column names. */
const STAGE_NAMES = ['f', 'c', 'e', '_req', '_row', '_weight', '_group', '_sets', '_source', '_failures', '_texts', '_undecodable', 'v0', 't0', 'n0'];
const AWKWARD = ['a"b', "it's", 'with space', 'dot.ted', 'back\\slash', 'ünïcødé', '名前', INJECTION];

/** A name as a SQL double-quoted identifier. */
const dq = (name: string) => `"${name.replaceAll('"', '""')}"`;
/** A CSV field, always quoted. */
const csvField = (value: unknown) => (value === null ? '' : `"${String(value).replaceAll('"', '""')}"`);
const csvLine = (values: unknown[]) => values.map(csvField).join(',');

let server: TestServer;
let tb: TinybirdClient;
let feldera: FelderaClient;
let catalyzed: CatalyzedClient;

before(async () => {
  server = await TestServer.start();
  tb = new TinybirdClient(server);
  feldera = new FelderaClient(server);
  catalyzed = new CatalyzedClient(server);
});
after(() => server.stop());

// ---------------------------------------------------------------------------------------------
// Tinybird

async function tbOk(response: Response): Promise<any> {
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

async function tbError(response: Response, pattern: RegExp): Promise<void> {
  const body = await response.json();
  assert.equal(response.status, 400, JSON.stringify(body));
  assert.deepEqual(Object.keys(body), ['error']);
  assert.match(body.error, pattern);
}

async function tbQuery(sql: string): Promise<{ data: Row[]; totals?: Row; meta: Array<{ name: string; type: string }> }> {
  const response = await server.fetch(`/v0/sql?q=${encodeURIComponent(`${sql} FORMAT JSON`)}`);
  const body = await response.json();
  assert.equal(response.status, 200, `${sql}: ${JSON.stringify(body)}`);
  return body;
}

function tbEvents(name: string, body: string): Promise<Response> {
  return server.fetch(`/v0/events?name=${encodeURIComponent(name)}&wait=true`, { method: 'POST', body });
}

describe('Tinybird: awkward names', () => {
  test('data sources named by reserved words take CSV, NDJSON and Events rows into reserved-word columns, read back through backticks, double quotes and bare names', async () => {
    const schema = '`order` Int32 `json:$.order`, `group` String `json:$.group`, `from` Nullable(String) `json:$.from`';
    for (const name of RESERVED) {
      await tbOk(await tb.form('/v0/datasources', { name, format: 'ndjson', schema }));
      await tbOk(await tb.upload(`name=${name}&mode=append`, 'csv', 'rows.csv', `order,group,from\n1,${name},csv\n`));
      await tbOk(await tb.upload(`name=${name}&mode=append&format=ndjson`, 'ndjson', 'rows.ndjson', '{"order": 2, "group": "nd", "from": null}\n'));
      assert.deepEqual(await (await tbEvents(name, '{"order": 3, "group": "ev", "from": "events"}')).json(), { successful_rows: 1, quarantined_rows: 0 });
    }
    for (const name of RESERVED) {
      const expected = [{ order: 1, group: name, from: 'csv' }, { order: 2, group: 'nd', from: null }, { order: 3, group: 'ev', from: 'events' }];
      assert.deepEqual((await tbQuery(`SELECT \`order\`, \`group\`, \`from\` FROM \`${name}\` ORDER BY \`order\``)).data, expected, name);
      assert.deepEqual((await tbQuery(`SELECT "order", "group", "from" FROM "${name}" ORDER BY "order"`)).data, expected, name);
    }
    // Bare, as ClickHouse reads them: a column named like a keyword where a name stands; `user` is no keyword of DuckDB's.
    assert.deepEqual((await tbQuery('SELECT order, group FROM user WHERE group = \'ev\' OR order = 1 ORDER BY order')).data, [{ order: 1, group: 'user' }, { order: 3, group: 'ev' }]);
    assert.deepEqual((await tbQuery('SELECT s.order, o.group FROM `select` AS s JOIN `order` AS o ON s.order = o.order ORDER BY s.order')).data,
      [{ order: 1, group: 'order' }, { order: 2, group: 'nd' }, { order: 3, group: 'ev' }]);
  });

  const weirdSchema = AWKWARD.map((name, index) => {
    const path = `$.['${name.replace(/[\\']/g, '\\$&')}']`;
    return `\`${name}\` ${index === AWKWARD.length - 1 ? 'Int32' : 'String'} \`json:${path}\``;
  }).join(', ');
  const weirdRow = (n: number): Row => Object.fromEntries(AWKWARD.map((name, index) => [name, index === AWKWARD.length - 1 ? n : `${name}:${n}`]));

  test('columns named with quotes, spaces, dots, backslashes, unicode and SQL injection take CSV (by header), NDJSON and Events rows, and read back by name', async () => {
    const created = await tbOk(await tb.form('/v0/datasources', { name: 'awkward_columns', format: 'ndjson', schema: weirdSchema }));
    assert.deepEqual(created.datasource.columns.map((column: { name: string }) => column.name), AWKWARD);
    // The header's order differs from the data source's: columns map by name.
    const header = [...AWKWARD].reverse();
    await tbOk(await tb.upload('name=awkward_columns&mode=append', 'csv', 'rows.csv', `${csvLine(header)}\n${csvLine(header.map((name) => weirdRow(1)[name]))}\n`));
    await tbOk(await tb.upload('name=awkward_columns&mode=append&format=ndjson', 'ndjson', 'rows.ndjson', `${JSON.stringify(weirdRow(2))}\n`));
    assert.deepEqual(await (await tbEvents('awkward_columns', `${JSON.stringify(weirdRow(3))}\n`)).json(), { successful_rows: 1, quarantined_rows: 0 });

    const all = await tbQuery(`SELECT * FROM awkward_columns ORDER BY \`${INJECTION}\``);
    assert.deepEqual(all.meta.map((column) => column.name), AWKWARD);
    assert.deepEqual(all.data, [weirdRow(1), weirdRow(2), weirdRow(3)]);
    // Each name selected in backticks and in double quotes, and used in a condition.
    for (const name of AWKWARD) {
      const backticked = `\`${name.replace(/[\\`]/g, '\\$&')}\``;
      assert.deepEqual((await tbQuery(`SELECT ${backticked} FROM awkward_columns WHERE ${backticked} = ${typeof weirdRow(2)[name] === 'number' ? 2 : `'${String(weirdRow(2)[name]).replace(/[\\']/g, '\\$&')}'`}`)).data,
        [{ [name]: weirdRow(2)[name] }], name);
      assert.deepEqual((await tbQuery(`SELECT ${dq(name)} AS x FROM awkward_columns ORDER BY x LIMIT 1`)).data, [{ x: weirdRow(1)[name] }], name);
    }
  });

  test('a data source\'s sql_schema with awkward column names creates an equal data source, and a bad value is quarantined under the column\'s name', async () => {
    await tbOk(await tb.form('/v0/datasources', { name: 'awkward_original', format: 'ndjson', schema: weirdSchema }));
    const original = await tbOk(await server.fetch('/v0/datasources/awkward_original'));
    const copy = await tbOk(await tb.form('/v0/datasources', { name: 'awkward_copy', format: 'ndjson', schema: original.schema.sql_schema }));
    const shape = (columns: Array<Record<string, unknown>>) => columns.map(({ name, type, jsonpath, nullable }) => ({ name, type, jsonpath, nullable }));
    assert.deepEqual(shape(copy.datasource.columns), shape(original.columns));

    const bad = { ...weirdRow(5), [INJECTION]: 'not a number' };
    const answer = await tbOk(await tb.upload('name=awkward_copy&mode=append&format=ndjson', 'ndjson', 'rows.ndjson', `${JSON.stringify(weirdRow(4))}\n${JSON.stringify(bad)}\n`));
    assert.equal(answer.quarantine_rows, 1);
    assert.deepEqual((await tbQuery('SELECT * FROM awkward_copy')).data, [weirdRow(4)]);
    const quarantined = (await tbQuery('SELECT * EXCLUDE (c__import_id, insertion_date) FROM awkward_copy_quarantine')).data;
    assert.deepEqual(quarantined, [{
      ...Object.fromEntries(Object.entries(bad).map(([name, value]) => [name, String(value)])),
      c__error_column: [INJECTION],
      c__error: [`column "${INJECTION}": value "not a number" is not a valid Int32`],
    }]);
  });

  test('columns named like the write path\'s own (f, c, e, _req, _row, _weight, _group, _sets, _source, _failures, _texts, _undecodable, v0, t0, n0) keep their values when a bad row sends the batch through the stage', async () => {
    const schema = STAGE_NAMES.map((name) => `\`${name}\` Int32 \`json:$.${name}\``).join(', ');
    await tbOk(await tb.form('/v0/datasources', { name: 'stage_names', format: 'ndjson', schema }));
    const good = Object.fromEntries(STAGE_NAMES.map((name, index) => [name, 100 + index]));
    const bad = { ...good, _req: 'not a number' };
    assert.deepEqual(await (await tbEvents('stage_names', `${JSON.stringify(good)}\n${JSON.stringify(bad)}`)).json(), { successful_rows: 1, quarantined_rows: 1 });
    assert.deepEqual((await tbQuery('SELECT * FROM stage_names')).data, [good]);
    const [quarantined] = (await tbQuery('SELECT * EXCLUDE (c__import_id, insertion_date) FROM stage_names_quarantine')).data;
    assert.deepEqual(quarantined, {
      ...Object.fromEntries(Object.entries(bad).map(([name, value]) => [name, String(value)])),
      c__error_column: ['_req'], c__error: ['column "_req": value "not a number" is not a valid Int32'],
    });
  });

  test('a column named rowid, or like a quarantine column (c__error, insertion_date), is refused with a 400 naming it', async () => {
    await tbError(await tb.form('/v0/datasources', { name: 'with_rowid', schema: 'id Int32, RowId Int32' }), /Column name "RowId" is reserved: it names the storage engine's row number/);
    await tbError(await tb.form('/v0/datasources', { name: 'with_error', schema: 'id Int32, c__error String' }), /Column name "c__error" is reserved for the quarantine table's own columns/);
    await tbError(await tb.form('/v0/datasources', { name: 'with_date', schema: 'id Int32, insertion_date DateTime' }), /Column name "insertion_date" is reserved for the quarantine table's own columns/);
  });

  test('delete and replace conditions on awkward column names remove and replace exactly the matching rows', async () => {
    await tbOk(await tb.form('/v0/datasources', { name: 'awkward_conditions', schema: `\`a"b\` String, \`it's\` String, \`with space\` Int32, \`${INJECTION}\` Int32, \`ünïcødé\` String` }));
    const header = csvLine(['a"b', "it's", 'with space', INJECTION, 'ünïcødé']);
    const rows = [['x', "'; DROP TABLE awkward_conditions; --", 1, 10, 'ü'], ['y', 'b', 2, 20, 'ü'], ['z', 'c', 3, 30, 'v'], ['w', 'd', 4, 40, 'v']];
    await tbOk(await tb.upload('name=awkward_conditions&mode=append', 'csv', 'rows.csv', `${header}\n${rows.map(csvLine).join('\n')}\n`));

    // A string literal holding a quote and an injection; a backticked name holding one; a double-quoted name holding a double quote.
    const condition = `\`it's\` = '\\'; DROP TABLE awkward_conditions; --' OR (\`${INJECTION}\` = 20 AND "a""b" = 'y')`;
    assert.deepEqual(await tbOk(await tb.form('/v0/datasources/awkward_conditions/delete', { delete_condition: condition, dry_run: 'true' })), { rows_to_be_deleted: 2 });
    const started = await tb.form('/v0/datasources/awkward_conditions/delete', { delete_condition: condition });
    assert.equal(started.status, 201);
    const job = await tb.waitForJob((await started.json()).job_id);
    assert.equal(job['status'], 'done', JSON.stringify(job));
    const read = async () => (await tbQuery('SELECT `a"b`, `with space` FROM awkward_conditions ORDER BY `with space`')).data;
    assert.deepEqual(await read(), [{ 'a"b': 'z', 'with space': 3 }, { 'a"b': 'w', 'with space': 4 }]);

    // Replace the rows whose unicode-named column is 'v': the new row outside the condition is ignored.
    const replacement = `${header}\n${csvLine(['new', 'n', 5, 50, 'v'])}\n${csvLine(['ignored', 'i', 6, 60, 'other'])}\n`;
    await tbOk(await tb.upload(`name=awkward_conditions&mode=replace&replace_condition=${encodeURIComponent("`ünïcødé` = 'v'")}`, 'csv', 'rows.csv', replacement));
    assert.deepEqual(await read(), [{ 'a"b': 'new', 'with space': 5 }]);

    // A condition that tries to end the statement is refused, and changes nothing.
    for (const delete_condition of ['1 = 1; DROP TABLE awkward_conditions; --', `\`a"b\` = 'new'; DELETE FROM awkward_conditions WHERE 1 = 1`]) {
      await tbError(await tb.form('/v0/datasources/awkward_conditions/delete', { delete_condition }), /syntax error/);
    }
    assert.deepEqual(await read(), [{ 'a"b': 'new', 'with space': 5 }]);
  });

  test('delete and replace conditions name reserved-word columns bare, as the SQL API reads them (`order = 1`), and remove and replace exactly the matching rows', async () => {
    await tbOk(await tb.form('/v0/datasources', { name: 'keyword_condition', schema: '`order` Int32, `group` String' }));
    await tbOk(await tb.upload('name=keyword_condition&mode=append', 'csv', 'rows.csv', '1,a\n2,b\n3,c\n4,d\n'));
    const read = async () => (await tbQuery('SELECT `order`, `group` FROM keyword_condition ORDER BY `order`')).data;
    assert.deepEqual(await tbOk(await tb.form('/v0/datasources/keyword_condition/delete', { delete_condition: "order = 1 OR group = 'b'", dry_run: 'true' })), { rows_to_be_deleted: 2 });
    const started = await tb.form('/v0/datasources/keyword_condition/delete', { delete_condition: "order = 1 OR (group = 'b' AND order > 1)" });
    assert.equal(started.status, 201);
    assert.equal((await tb.waitForJob((await started.json()).job_id))['status'], 'done');
    assert.deepEqual(await read(), [{ order: 3, group: 'c' }, { order: 4, group: 'd' }]);
    await tbOk(await tb.upload(`name=keyword_condition&mode=replace&replace_condition=${encodeURIComponent("group IN ('c', 'x')")}`, 'csv', 'rows.csv', '5,x\n6,y\n'));
    assert.deepEqual(await read(), [{ order: 4, group: 'd' }, { order: 5, group: 'x' }]);
  });

  test('a ReplacingMergeTree keyed by a column with a quote, versioned by a reserved-word column, keeps the newest row of each key', async () => {
    await tbOk(await tb.form('/v0/datasources', {
      name: 'awkward_rmt', schema: '`a"b` Int32, `v a l` String, `order` UInt32', engine: 'ReplacingMergeTree', engine_sorting_key: '`a"b`', engine_ver: '`order`',
    }));
    const rows = [{ 'a"b': 1, 'v a l': 'new', order: 2 }, { 'a"b': 1, 'v a l': 'old', order: 1 }, { 'a"b': 2, 'v a l': 'only', order: 1 }];
    await tbOk(await tb.upload('name=awkward_rmt&mode=append&format=ndjson', 'ndjson', 'rows.ndjson', rows.map((row) => JSON.stringify(row)).join('\n')));
    await tbOk(await tb.upload('name=awkward_rmt&mode=append', 'csv', 'rows.csv', `"a""b","v a l",order\n2,stale,0\n`));
    assert.deepEqual((await tbQuery('SELECT * FROM awkward_rmt ORDER BY `a"b`')).data, [{ 'a"b': 1, 'v a l': 'new', order: 2 }, { 'a"b': 2, 'v a l': 'only', order: 1 }]);
  });

  describe('tokens scoped to awkward names', () => {
    const createToken = (name: string, scopes: unknown[]) =>
      server.fetch('/v0/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, scopes }) });
    const readAs = async (token: string, sql: string) => {
      const response = await server.fetch(`/v0/sql?q=${encodeURIComponent(sql)}`, { token });
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      return body.data;
    };
    before(async () => {
      await tbOk(await tb.form('/v0/datasources', { name: 'scoped_table', schema: '`group` String, `a"b` Int32, `it\'s` String' }));
      await tbOk(await tb.upload('name=scoped_table&mode=append', 'csv', 'rows.csv', "g,1,x\nh,2,it's\nh,3,y\n"));
    });

    test('a token named by a reserved word reads only the rows its filter on quoted awkward columns keeps, and appends to the reserved-word data source it is scoped to', async () => {
      const created = await tbOk(await createToken('select', [
        { type: 'DATASOURCES:READ', resource: 'scoped_table', filter: `"group" = 'h' AND "a""b" < 3 OR "it's" = 'x'` },
        { type: 'DATASOURCES:APPEND', resource: 'order' },
      ]));
      assert.deepEqual(created.scopes, [
        { type: 'DATASOURCES:READ', resource: 'scoped_table', filter: `"group" = 'h' AND "a""b" < 3 OR "it's" = 'x'` },
        { type: 'DATASOURCES:APPEND', resource: 'order' },
      ]);
      assert.deepEqual(await readAs(created.token, 'SELECT * FROM scoped_table ORDER BY `a"b`'), [{ group: 'g', 'a"b': 1, "it's": 'x' }, { group: 'h', 'a"b': 2, "it's": "it's" }]);
      // `order` is the data source of the first test.
      assert.equal((await server.fetch('/v0/events?name=order&wait=true', { method: 'POST', body: '{"order": 9, "group": "token", "from": null}', token: created.token })).status, 200);
      assert.deepEqual((await tbQuery('SELECT `order`, `group` FROM `order` WHERE `order` = 9')).data, [{ order: 9, group: 'token' }]);
      const forbidden = await server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT * FROM `order`')}`, { token: created.token });
      assert.equal(forbidden.status, 403);
      assert.equal((await tbOk(await server.fetch('/v0/tokens/select'))).name, 'select');
    });

    test('a token\'s row filter names columns in backticks, as ClickHouse SQL does, and is shown back as written', async () => {
      const filter = "`group` = 'h' AND `a\"b` < 3";
      const created = await tbOk(await createToken('backticked_filter', [{ type: 'DATASOURCES:READ', resource: 'scoped_table', filter }]));
      assert.deepEqual(await readAs(created.token, 'SELECT `a"b` FROM scoped_table'), [{ 'a"b': 2 }]);
      const listed = (await tbOk(await tb.server.fetch('/v0/tokens'))) as { tokens: Array<{ name: string; scopes: unknown[] }> };
      assert.deepEqual(listed.tokens.find((token) => token.name === 'backticked_filter')?.scopes, [{ type: 'DATASOURCES:READ', resource: 'scoped_table', filter }]);
    });
  });

  describe('ClickHouse constructs over columns in backticks or named like keywords', () => {
    before(async () => {
      await tbOk(await tb.form('/v0/datasources', { name: 'clauses', schema: '`a"b` String, `with space` Int32, `order` Int32, `group` String, `it\'s` Array(String)' }));
      await tbOk(await tb.upload('name=clauses&mode=append', 'csv', 'rows.csv', 'x,1,1,g,"[\'p\',\'q\']"\nx,3,2,g,[]\ny,5,3,h,"[\'r\']"\n'));
    });

    test('GROUP BY a keyword-named or quoted column WITH TOTALS gives the totals row with that key at its zero value', async () => {
      const byGroup = await tbQuery('SELECT group, count() AS c FROM clauses GROUP BY group WITH TOTALS ORDER BY group');
      assert.deepEqual(byGroup.data, [{ group: 'g', c: 2 }, { group: 'h', c: 1 }]);
      assert.deepEqual(byGroup.totals, { group: '', c: 3 });
      assert.deepEqual(byGroup.meta, [{ name: 'group', type: 'String' }, { name: 'c', type: 'Int64' }]);
      const byOrder = await tbQuery('SELECT order, count() AS c FROM clauses GROUP BY order WITH TOTALS ORDER BY order');
      assert.deepEqual(byOrder.data, [{ order: 1, c: 1 }, { order: 2, c: 1 }, { order: 3, c: 1 }]);
      assert.deepEqual(byOrder.totals, { order: 0, c: 3 });
      const quoted = await tbQuery('SELECT `a"b`, count() AS `c"nt` FROM clauses GROUP BY `a"b` WITH TOTALS ORDER BY `a"b`');
      assert.deepEqual(quoted.data, [{ 'a"b': 'x', 'c"nt': 2 }, { 'a"b': 'y', 'c"nt': 1 }]);
      assert.deepEqual(quoted.totals, { 'a"b': '', 'c"nt': 3 });
    });

    test('LIMIT n BY a column in backticks, double quotes or named like a keyword keeps the first n rows of each key', async () => {
      const expected = (key: string) => [{ [key]: key === 'group' ? 'h' : 'y', 'with space': 5 }, { [key]: key === 'group' ? 'g' : 'x', 'with space': 3 }];
      assert.deepEqual((await tbQuery('SELECT `a"b`, `with space` FROM clauses ORDER BY `with space` DESC LIMIT 1 BY `a"b`')).data, expected('a"b'));
      assert.deepEqual((await tbQuery('SELECT "a""b", "with space" FROM clauses ORDER BY "with space" DESC LIMIT 1 BY "a""b"')).data, expected('a"b'));
      assert.deepEqual((await tbQuery('SELECT group, `with space` FROM clauses ORDER BY `with space` DESC LIMIT 1 BY group')).data, expected('group'));
    });

    test('a LEFT JOIN\'s right-side column, qualified and in backticks or named like a keyword, takes its default and keeps its name', async () => {
      const joined = await tbQuery('SELECT l.`with space` AS k, r.`a"b`, r.order FROM clauses AS l LEFT JOIN clauses AS r ON l.`order` = r.`order` + 1 ORDER BY k');
      assert.deepEqual(joined.meta.map((column) => column.name), ['k', 'a"b', 'order']);
      assert.deepEqual(joined.data, [{ k: 1, 'a"b': '', order: 0 }, { k: 3, 'a"b': 'x', order: 1 }, { k: 5, 'a"b': 'x', order: 2 }]);
    });

    test('WITH FILL, ARRAY JOIN and WITH aliases over quoted names give the rows ClickHouse gives', async () => {
      assert.deepEqual((await tbQuery('SELECT `with space`, `a"b` FROM clauses ORDER BY `with space` WITH FILL STEP 2')).data,
        [{ 'with space': 1, 'a"b': 'x' }, { 'with space': 3, 'a"b': 'x' }, { 'with space': 5, 'a"b': 'y' }]);
      assert.deepEqual((await tbQuery('SELECT order FROM clauses ORDER BY order WITH FILL FROM 0 TO 5')).data.map((row) => row['order']), [0, 1, 2, 3, 4]);
      assert.deepEqual((await tbQuery("SELECT `a\"b`, x FROM clauses ARRAY JOIN `it's` AS x ORDER BY x")).data, [{ 'a"b': 'x', x: 'p' }, { 'a"b': 'x', x: 'q' }, { 'a"b': 'y', x: 'r' }]);
      assert.deepEqual((await tbQuery('WITH `with space` * 2 AS `dbl "x"` SELECT `dbl "x"` FROM clauses ORDER BY `dbl "x"`')).data, [{ 'dbl "x"': 2 }, { 'dbl "x"': 6 }, { 'dbl "x"': 10 }]);
    });
  });

  test('data sources whose names differ only in case are distinct, each read by its own name; columns, and struct fields, differing only in case are a 400', async () => {
    await tbOk(await tb.form('/v0/datasources', { name: 'Cased', schema: 'x Int32' }));
    await tbOk(await tb.form('/v0/datasources', { name: 'cased', schema: 'x Int32' }));
    await tbOk(await tb.upload('name=Cased&mode=append', 'csv', 'rows.csv', '1\n'));
    await tbOk(await tb.upload('name=cased&mode=append', 'csv', 'rows.csv', '2\n3\n'));
    assert.equal((await tbEvents('CASED', '{"x": 4}')).status, 200);
    assert.deepEqual((await tbQuery('SELECT x FROM Cased')).data, [{ x: 1 }]);
    assert.deepEqual((await tbQuery('SELECT x FROM `cased` ORDER BY x')).data, [{ x: 2 }, { x: 3 }]);
    assert.deepEqual((await tbQuery('SELECT x FROM CASED')).data, [{ x: 4 }]);
    assert.deepEqual((await tbQuery('SELECT (SELECT sum(x) FROM Cased) AS a, (SELECT sum(x) FROM cased) AS b, (SELECT sum(x) FROM CASED) AS c')).data, [{ a: 1, b: 5, c: 4 }]);
    await tbError(await tb.form('/v0/datasources', { name: 'cased_columns', schema: 'value Int32, Value Int32' }), /Duplicate column name "Value"/);
    // So are a struct's fields, in every dialect, nested or not: a 400 naming them, no table made.
    await tbError(await tb.form('/v0/datasources', { name: 'cased_fields', schema: 's Tuple(a Int32, A Int32)' }), /struct field "A" differs from field "a" only in case/);
    const datasetId = await catalyzed.createDataset('cased_fields');
    for (const [arrowType, pattern] of [['struct<a: int32, A: int32>', /field "A" differs from field "a" only in case/], ['list<struct<a: int32, a: utf8>>', /field "a" is named twice/]] as const) {
      await catalyzedError(await catalyzed.call('POST', '/dataset-tables', { datasetId, tableName: 't', fields: [{ name: 's', arrowType }] }), 400, 'VALIDATION_ERROR', pattern);
    }
    assert.deepEqual((await catalyzed.call('GET', `/dataset-tables?datasetId=${datasetId}`)).body.tables, []);
  });

  test('a 255-character data source with a 255-character column is served, quarantine included; 256 characters is a 400 naming the limit', async () => {
    const name = `n${'_'.repeat(253)}n`;
    const column = `c${'é'.repeat(253)}c`;
    await tbOk(await tb.form('/v0/datasources', { name, schema: `\`${column}\` Int32` }));
    await tbOk(await tb.upload(`name=${name}&mode=append`, 'csv', 'rows.csv', `${column}\n7\nseven\n`));
    assert.deepEqual((await tbQuery(`SELECT * FROM ${name}`)).data, [{ [column]: 7 }]);
    assert.deepEqual((await tbQuery(`SELECT \`${column}\` AS v, c__error FROM ${name}_quarantine`)).data, [{ v: 'seven', c__error: [`column "${column}": value "seven" is not a valid Int32`] }]);
    await tbError(await tb.form('/v0/datasources', { name: `${name}x`, schema: 'x Int32' }), /use 1 to 255/);
    await tbError(await tb.form('/v0/datasources', { name: 'long_column', schema: `\`${column}x\` Int32` }), /use 1 to 255/);
    await tbError(await server.fetch(`/v0/datasources/${name}?name=${name}x`, { method: 'PUT' }), /use 1 to 255/);
    const events = await tbEvents(`${name}x`, '{"x": 1}');
    assert.equal(events.status, 400);
    assert.match(await events.text(), /use 1 to 255/);
  });

  test('data source names Tinybird does not allow (spaces, quotes, dots, unicode, injection) are a 400 {"error"} on create, append, events and rename, and nothing is created', async () => {
    const refused = ['a b', 'a"b', "it's", 'dot.ted', 'back\\slash', 'ünï', INJECTION, '1st', 'a-b'];
    await tbOk(await tb.form('/v0/datasources', { name: 'rename_me', schema: 'x Int32' }));
    for (const name of refused) {
      await tbError(await tb.form('/v0/datasources', { name, schema: 'x Int32' }), /Invalid Data Source name/);
      await tbError(await tb.upload(`name=${encodeURIComponent(name)}&mode=append`, 'csv', 'rows.csv', 'x\n1\n'), /Invalid Data Source name/);
      await tbError(await server.fetch(`/v0/datasources/rename_me?name=${encodeURIComponent(name)}`, { method: 'PUT' }), /Invalid Data Source name/);
      const events = await tbEvents(name, '{"x": 1}');
      assert.equal(events.status, 400);
      assert.match(events.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await events.text(), /Invalid Data Source name/);
    }
    const names = (await tbOk(await server.fetch('/v0/datasources'))).datasources.map((datasource: { name: string }) => datasource.name);
    for (const name of refused) assert.ok(!names.includes(name), name);
    assert.ok(names.includes('rename_me'));
  });
});

// ---------------------------------------------------------------------------------------------
// Feldera

async function felderaRows(pipeline: string, sql: string): Promise<Row[]> {
  return feldera.rows(pipeline, sql);
}

async function compiled(pipeline: string, program: string): Promise<Record<string, any>> {
  const response = await feldera.putPipeline(pipeline, { program_code: program });
  const body = await response.json();
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(body));
  return body;
}

/** An egress stream of a relation named in the URL as given (encoded), from its snapshot unless told otherwise. */
async function openEgress(pipeline: string, relation: string, snapshot = true): Promise<EgressStream> {
  const response = await server.fetch(`/v0/pipelines/${pipeline}/egress/${encodeURIComponent(relation)}?format=json&send_snapshot=${snapshot}&backpressure=true`, { method: 'POST' });
  if (response.status !== 200) assert.fail(`egress of ${relation}: ${response.status} ${await response.text()}`);
  return new EgressStream(response.body!.getReader());
}

describe('Feldera: columns named like the write path\'s own', () => {
  test('a keyed table with columns _seq, _outcome, _sets, _weight and _row takes folded upserts, partial updates and deletes, and a table without a key with _net, _id, _copy and _weight deletes one copy of a row', async () => {
    await feldera.pipeline('stage_names', `
      CREATE TABLE k (id INT NOT NULL PRIMARY KEY, "_seq" INT, "_outcome" VARCHAR, "_sets" INT, "_weight" INT, "_row" INT);
      CREATE TABLE m ("_net" INT, "_id" INT, "_copy" INT, "_weight" INT);`);
    const whole = (id: number, n: number) => ({ id, _seq: n, _outcome: `o${n}`, _sets: n + 1, _weight: n + 2, _row: n + 3 });
    await feldera.pushOk('stage_names', 'k', [
      { insert: whole(1, 10) }, { insert: whole(2, 20) }, { update: { id: 1, _sets: 99 } }, { insert: whole(3, 30) }, { delete: { id: 3 } },
    ].map((change) => JSON.stringify(change)).join('\n'));
    await feldera.pushOk('stage_names', 'k', [{ update: { id: 2, _outcome: 'set', _weight: -5 } }, { insert: whole(4, 40) }].map((change) => JSON.stringify(change)).join('\n'));
    assert.deepEqual(await felderaRows('stage_names', 'SELECT * FROM k ORDER BY id'), [{ ...whole(1, 10), _sets: 99 }, { ...whole(2, 20), _outcome: 'set', _weight: -5 }, whole(4, 40)]);

    const copy = { _net: 1, _id: 2, _copy: 3, _weight: 4 };
    await feldera.pushOk('stage_names', 'm', [copy, copy, copy, { ...copy, _net: 7 }].map((row) => JSON.stringify({ insert: row })).join('\n'));
    await feldera.pushOk('stage_names', 'm', JSON.stringify({ delete: copy }));
    assert.deepEqual(await felderaRows('stage_names', 'SELECT * FROM m ORDER BY "_net"'), [copy, copy, { ...copy, _net: 7 }]);
  });
});

describe('Feldera: awkward names', () => {
  // A reserved word; Catalyzed's datasets (namespaces, as pipelines are) take the lower-case one.
  const PIPELINE = 'Select';
  const columns = ['order', 'group', ...AWKWARD];
  const row = (order: number, group: string): Row => ({ order, group, ...Object.fromEntries(AWKWARD.map((name) => [name, name === INJECTION ? order * 10 : `${name}:${order}`])) });
  const program = `
    CREATE TABLE "select" (${columns.map((name) => `${dq(name)} ${name === 'order' || name === INJECTION ? 'INT NOT NULL' : 'VARCHAR'}`).join(', ')}, PRIMARY KEY ("order", ${dq(INJECTION)}));
    CREATE MATERIALIZED VIEW "v.w ""x"" ü" AS SELECT "order", "a""b", "it's", ${dq(INJECTION)} AS "inj ""q""" FROM "select" WHERE "group" = 'g';
    CREATE MATERIALIZED VIEW "from" AS SELECT "group", count(*) AS "count(*)" FROM "select" GROUP BY "group";`;
  const view = (r: Row) => ({ order: r['order'], 'a"b': r['a"b'], "it's": r["it's"], 'inj "q"': r[INJECTION] });

  before(async () => {
    await feldera.pipeline(PIPELINE, program);
  });

  test('a table with quoted reserved, quoted and unicode column names takes insert_delete JSON and CSV, updates and deletes by a two-column key, and reads back', async () => {
    await feldera.pushOk(PIPELINE, 'select', [row(1, 'g'), row(2, 'h')].map((r) => JSON.stringify({ insert: r })).join('\n'));
    await feldera.pushOk(PIPELINE, '%22select%22', `${csvLine(columns.map((name) => row(3, 'g')[name]))}\n`, 'format=csv');
    await feldera.pushOk(PIPELINE, 'SELECT', JSON.stringify({ update: { order: 2, [INJECTION]: 20, 'a"b': 'updated "quote"', group: 'g' } }));
    await feldera.pushOk(PIPELINE, 'select', JSON.stringify({ delete: { order: 3, [INJECTION]: 30 } }));
    // A delete whose second key column does not match deletes nothing.
    await feldera.pushOk(PIPELINE, 'select', JSON.stringify({ delete: { order: 1, [INJECTION]: 11 } }));
    const expected = [row(1, 'g'), { ...row(2, 'g'), 'a"b': 'updated "quote"' }];
    assert.deepEqual(await felderaRows(PIPELINE, 'SELECT * FROM "select" ORDER BY "order"'), expected);
    assert.deepEqual(await felderaRows(PIPELINE, `SELECT ${AWKWARD.map(dq).join(', ')} FROM "select" WHERE "it's" = 'it''s:1' AND "ünïcødé" LIKE 'ü%'`), [Object.fromEntries(AWKWARD.map((name) => [name, row(1, 'g')[name]]))]);
  });

  test('views named and reading awkward names are queried and streamed on egress, snapshot and changes alike', async () => {
    const stream = await openEgress(PIPELINE, '"v.w ""x"" ü"');
    const snapshot = (await stream.chunk())!.json_data!;
    const current = await felderaRows(PIPELINE, 'SELECT * FROM "v.w ""x"" ü" ORDER BY "order"');
    assert.deepEqual(snapshot.map((change) => change['insert']).sort((a: any, b: any) => a.order - b.order), current);
    assert.deepEqual(current, (await felderaRows(PIPELINE, 'SELECT * FROM "select" WHERE "group" = \'g\' ORDER BY "order"')).map(view));
    await feldera.pushOk(PIPELINE, 'select', JSON.stringify({ insert: row(7, 'g') }));
    assert.deepEqual(await stream.items(1), [{ insert: view(row(7, 'g')) }]);
    await feldera.pushOk(PIPELINE, 'select', JSON.stringify({ delete: { order: 7, [INJECTION]: 70 } }));
    assert.deepEqual(await stream.items(1), [{ delete: view(row(7, 'g')) }]);
    stream.cancel();
    const counts = await openEgress(PIPELINE, 'FROM');
    assert.deepEqual((await counts.chunk())!.json_data, [{ insert: { group: 'g', 'count(*)': current.length } }]);
    counts.cancel();
    assert.deepEqual(await felderaRows(PIPELINE, 'SELECT "count(*)" FROM "from"'), [{ 'count(*)': current.length }]);
  });

  test('tables named with quotes, slashes, spaces, %, ?, #, dots and unicode are addressed by their quoted, URL-encoded names on ingress, egress and queries', async () => {
    const names = ['a"b', 'a/b', 'sp ace', 'ünï 名前', 'pct%20x', 'q?x#y', 'dot.t', "it's", 'back\\s', INJECTION];
    const quoted = (name: string) => dq(name);
    await feldera.pipeline('urlnames', names.map((name) => `CREATE TABLE ${quoted(name)} (k INT NOT NULL PRIMARY KEY, v VARCHAR);
      CREATE MATERIALIZED VIEW ${quoted(`v ${name}`)} AS SELECT k, v FROM ${quoted(name)};`).join('\n'));
    for (const name of names) {
      await feldera.pushOk('urlnames', encodeURIComponent(quoted(name)), JSON.stringify({ insert: { k: 1, v: name } }));
      await feldera.pushOk('urlnames', encodeURIComponent(quoted(name)), '2,"csv"\n', 'format=csv');
      await feldera.pushOk('urlnames', encodeURIComponent(quoted(name)), JSON.stringify({ update: { k: 1, v: `${name}!` } }));
    }
    for (const name of names) {
      assert.deepEqual(await felderaRows('urlnames', `SELECT * FROM ${quoted(`v ${name}`)} ORDER BY k`), [{ k: 1, v: `${name}!` }, { k: 2, v: 'csv' }], name);
      const stream = await openEgress('urlnames', quoted(`v ${name}`));
      assert.deepEqual((await stream.chunk())!.json_data!.map((change) => change['insert']).sort((a: any, b: any) => a.k - b.k), [{ k: 1, v: `${name}!` }, { k: 2, v: 'csv' }], name);
      stream.cancel();
    }
    // A quoted name is exact: another case of it is no table.
    await felderaError(await feldera.push('urlnames', encodeURIComponent('"A/B"'), '{"insert": {"k": 1}}'), 404, 'UnknownInputStream');
    await felderaError(await feldera.push('urlnames', encodeURIComponent('"ÜNÏ 名前"'), '{"insert": {"k": 1}}'), 404, 'UnknownInputStream');
  });

  describe('names that differ only in case', () => {
    before(async () => {
      await feldera.pipeline('cases', `
        CREATE TABLE "T" (id INT NOT NULL PRIMARY KEY, v VARCHAR);
        CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR);
        CREATE MATERIALIZED VIEW "Upper" AS SELECT id, v FROM "T";
        CREATE MATERIALIZED VIEW lower_of_unquoted AS SELECT id, v FROM T;
        CREATE MATERIALIZED VIEW aliased AS SELECT id AS MyId, v AS "MyV" FROM t;`);
      await feldera.pushOk('cases', '%22T%22', '{"insert": {"id": 1, "v": "quoted T"}}');
      await feldera.pushOk('cases', 'T', '{"insert": {"id": 2, "v": "unquoted t"}}');
    });

    test('a quoted table "T" and an unquoted t are distinct tables: ingress by %22T%22 and by T reach each, and quoted queries read each', async () => {
      assert.deepEqual(await felderaRows('cases', 'SELECT * FROM "T"'), [{ id: 1, v: 'quoted T' }]);
      assert.deepEqual(await felderaRows('cases', 'SELECT * FROM "t"'), [{ id: 2, v: 'unquoted t' }]);
      assert.deepEqual(await felderaRows('cases', 'SELECT * FROM t'), [{ id: 2, v: 'unquoted t' }]);
      assert.deepEqual(await felderaRows('cases', 'SELECT * FROM "Upper"'), [{ id: 1, v: 'quoted T' }]);
      await felderaError(await feldera.push('cases', 'Upper', '{}'), 404, 'UnknownInputStream');
    });

    test('an unquoted T in a view\'s query reads table t, as Feldera folds unquoted names, not the quoted table "T"', async () => {
      assert.deepEqual(await felderaRows('cases', 'SELECT * FROM lower_of_unquoted'), [{ id: 2, v: 'unquoted t' }]);
    });

    test('an unquoted T in an ad-hoc query reads table t, not the quoted table "T"', async () => {
      assert.deepEqual(await felderaRows('cases', 'SELECT * FROM T'), [{ id: 2, v: 'unquoted t' }]);
      // A quoted name is exact: "UPPER" is not the view "Upper".
      await felderaError(await feldera.query('cases', 'SELECT * FROM "UPPER"'), 400, 'AdHocQueryError');
    });

    test('an unquoted alias names its column in lower case, as Feldera folds it; a quoted one keeps its case', async () => {
      assert.deepEqual(await felderaRows('cases', 'SELECT * FROM aliased'), [{ myid: 2, MyV: 'unquoted t' }]);
      assert.deepEqual(await felderaRows('cases', 'SELECT id AS MyId, v AS "MyV" FROM T'), [{ myid: 2, MyV: 'unquoted t' }]);
    });

    test('columns differing only in case are a SqlError in a table', async () => {
      const body = await compiled('case_columns', 'CREATE TABLE x ("A" INT, a INT);');
      assert.equal(body['program_status'], 'SqlError');
      assert.match(JSON.stringify(body['program_error']), /differs from column \\"A\\" only in case/);
    });

    test('a view whose columns differ only in case ("A" and "a") is a SqlError too, rather than a column silently renamed', async () => {
      const body = await compiled('case_view_columns', 'CREATE TABLE x ("A" INT, b INT); CREATE VIEW v AS SELECT "A", b AS "a" FROM x;');
      assert.equal(body['program_status'], 'SqlError', JSON.stringify(body['program_info']?.schema?.outputs));
      assert.match(JSON.stringify(body['program_error']), /Duplicate column name \\"a\\": it differs from column \\"A\\" only in case/);
    });
  });

  test('unquoted names with non-ASCII letters are names in a program, as Calcite reads them, folded to lower case', async () => {
    const body = await compiled('unicode_words', 'CREATE TABLE Größe (Maß INT NOT NULL PRIMARY KEY, 名前 VARCHAR); CREATE MATERIALIZED VIEW Übersicht AS SELECT maß, 名前 FROM größe;');
    assert.equal(body['program_status'], 'Success', JSON.stringify(body['program_error']));
    await feldera.action('unicode_words', 'start');
    await feldera.pushOk('unicode_words', encodeURIComponent('Größe'), JSON.stringify({ insert: { MAß: 1, 名前: 'n' } }));
    assert.deepEqual(await felderaRows('unicode_words', 'SELECT * FROM übersicht'), [{ maß: 1, 名前: 'n' }]);
  });

  test('a 100-character pipeline and 255-character table, column and view names work end to end; longer names are refused with InvalidParam or a SqlError', async () => {
    const pipeline = 'p'.repeat(99) + 'P';
    const table = `t${'ŧ'.repeat(253)}t`;
    const column = `c${'ç'.repeat(253)}c`;
    const viewName = `v${'ṽ'.repeat(253)}v`;
    await feldera.pipeline(pipeline, `CREATE TABLE ${dq(table)} (${dq(column)} INT NOT NULL PRIMARY KEY); CREATE MATERIALIZED VIEW ${dq(viewName)} AS SELECT ${dq(column)} * 2 AS ${dq(column)} FROM ${dq(table)};`);
    const stream = await openEgress(pipeline, dq(viewName), false);
    await feldera.pushOk(pipeline, encodeURIComponent(dq(table)), `${JSON.stringify({ insert: { [column]: 21 } })}\n`);
    assert.deepEqual(await stream.items(1), [{ insert: { [column]: 42 } }]);
    stream.cancel();
    assert.deepEqual(await felderaRows(pipeline, `SELECT * FROM ${dq(viewName)}`), [{ [column]: 42 }]);

    await felderaError(await feldera.putPipeline('p'.repeat(101), { program_code: 'CREATE TABLE x (a INT);' }), 400, 'InvalidParam');
    for (const name of [INJECTION, 'a.b', 'sp ace', 'ünï', "it's"]) {
      await felderaError(await feldera.putPipeline(encodeURIComponent(name), { program_code: 'CREATE TABLE x (a INT);' }), 400, 'InvalidParam');
    }
    await felderaError(await server.fetch('/v0/pipelines', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: INJECTION, program_code: 'CREATE TABLE x (a INT);' }) }), 400, 'InvalidParam');
    for (const [what, programText] of [
      ['table', `CREATE TABLE ${dq(`${table}x`)} (a INT);`],
      ['column', `CREATE TABLE x (${dq(`${column}x`)} INT);`],
      ['view', `CREATE TABLE x (a INT); CREATE VIEW ${dq(`${viewName}x`)} AS SELECT a FROM x;`],
      ['column', `CREATE TABLE x (a INT); CREATE VIEW v AS SELECT a AS ${dq(`${column}x`)} FROM x;`],
      ['table', `CREATE TABLE ${'t'.repeat(256)} (a INT);`],
    ] as const) {
      const body = await compiled(`too_long_${what}`, programText);
      assert.equal(body['program_status'], 'SqlError', programText.slice(0, 40));
      assert.match(JSON.stringify(body['program_error']), new RegExp(`Invalid ${what} name .*use 1 to 255`));
    }
    const list = (await (await server.fetch('/v0/pipelines')).json()) as Array<{ name: string }>;
    assert.ok(!list.some((entry) => entry.name === INJECTION || entry.name.length > 100));
  });
});

// ---------------------------------------------------------------------------------------------
// Catalyzed

async function catalyzedError(response: { status: number; body: any }, status: number, code: string, pattern: RegExp): Promise<void> {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.equal(response.body.code, code, JSON.stringify(response.body));
  assert.match(response.body.error, pattern);
  assert.equal(typeof response.body.retryable, 'boolean');
}

/** A CSV body with every field quoted, header included. */
function quotedCsv(rows: Row[]): string {
  const names = Object.keys(rows[0]!);
  return [csvLine(names), ...rows.map((row) => csvLine(names.map((name) => row[name] ?? null)))].join('\n') + '\n';
}

async function catalyzedWrite(tableId: string, mode: string, format: BodyFormat, rows: Row[]): Promise<any> {
  const body = format === 'csv' ? quotedCsv(rows) : await encodeRows(format, rows);
  const response = await catalyzed.write(tableId, `mode=${mode}`, body, CONTENT_TYPES[format]);
  assert.equal(response.status, 200, `${mode} ${format}: ${JSON.stringify(response.body)}`);
  return response.body;
}

async function catalyzedQuery(sql: string, tables: Record<string, unknown>): Promise<Row[]> {
  const { status, body } = await catalyzed.query(sql, tables, { maxRows: 10_000 });
  assert.equal(status, 200, `${sql}: ${JSON.stringify(body)}`);
  return body.rows;
}

describe('Catalyzed: awkward names', () => {
  let datasetId: string;
  before(async () => {
    datasetId = await catalyzed.createDataset(INJECTION);
  });

  test('datasets named by reserved words, quotes, backslashes, unicode, injection and 255 characters are created and read back; 256 characters is a 400', async () => {
    const names = [...RESERVED.filter((name) => name !== 'default'), 'SELECT', "it's \"q\" \\ ünï.x", `d${'ð'.repeat(254)}`];
    for (const name of names) {
      const created = await catalyzed.call('POST', '/datasets', { name });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const read = await catalyzed.call('GET', `/datasets/${created.body.datasetId}`);
      assert.equal(read.body.name, name);
    }
    const listed = (await catalyzed.call('GET', '/datasets?pageSize=100')).body;
    const listedNames = (listed.datasets ?? listed.data ?? listed).map((dataset: { name: string }) => dataset.name);
    for (const name of [...names, INJECTION]) assert.ok(listedNames.includes(name), name);
    await catalyzedError(await catalyzed.call('POST', '/datasets', { name: `d${'ð'.repeat(255)}` }), 400, 'VALIDATION_ERROR', /1 to 255/);
    await catalyzedError(await catalyzed.call('POST', '/datasets', { name: 'select' }), 409, 'CONFLICT', /select/);
    // `default` is Tinybird's workspace, and `Select` the Feldera pipeline: namespaces all dialects share.
    await catalyzedError(await catalyzed.call('POST', '/datasets', { name: 'default' }), 409, 'CONFLICT', /default/);
    await catalyzedError(await catalyzed.call('POST', '/datasets', { name: 'Select' }), 409, 'CONFLICT', /Select/);
  });

  const fields = [
    { name: 'order', arrowType: 'int64', nullable: false },
    { name: 'a"b', arrowType: 'utf8' }, { name: "it's", arrowType: 'utf8' }, { name: 'with space', arrowType: 'utf8' },
    { name: 'dot.ted', arrowType: 'float64' }, { name: 'back\\slash', arrowType: 'utf8' }, { name: 'ünïcødé', arrowType: 'utf8' },
    { name: INJECTION, arrowType: 'int32', nullable: false },
  ];
  const row = (order: number, text = 'v'): Row => ({
    order, 'a"b': `q"${text}`, "it's": `'${text}`, 'with space': ` ${text} `, 'dot.ted': order + 0.5, 'back\\slash': `\\${text}`, 'ünïcødé': `ü${text}`, [INJECTION]: order * 10,
  });
  const key = (order: number): Row => ({ order, [INJECTION]: order * 10 });

  test('a table with awkward field names and a two-column key named "order" and like an injection takes append, upsert, delete and overwrite in JSON, CSV, Parquet and Arrow', async () => {
    const tableId = await catalyzed.createTable(datasetId, 'from', fields, ['order', INJECTION]);
    const schema = (await catalyzed.call('GET', `/dataset-tables/${tableId}/schema`)).body;
    assert.deepEqual(schema.fields.map((field: { name: string }) => field.name), fields.map((field) => field.name));
    assert.deepEqual(schema.primaryKeyColumns, ['order', INJECTION]);
    const formats: BodyFormat[] = ['json', 'csv', 'parquet', 'arrow'];
    const read = () => catalyzedQuery('SELECT * FROM "from" ORDER BY "order"', { from: tableId });

    for (const [index, format] of formats.entries()) assert.equal((await catalyzedWrite(tableId, 'append', format, [row(index + 1)])).rows_inserted, 1, format);
    assert.deepEqual(await read(), [row(1), row(2), row(3), row(4)]);

    for (const [index, format] of formats.entries()) {
      const answer = await catalyzedWrite(tableId, 'upsert', format, [row(index + 1, format), row(index + 11, format)]);
      assert.deepEqual([answer.rows_updated, answer.rows_inserted], [1, 1], format);
    }
    assert.deepEqual(await read(), [row(1, 'json'), row(2, 'csv'), row(3, 'parquet'), row(4, 'arrow'), row(11, 'json'), row(12, 'csv'), row(13, 'parquet'), row(14, 'arrow')]);

    // Deletes by key columns only, in every format; a key whose second column differs deletes nothing.
    for (const [index, format] of formats.entries()) {
      assert.equal((await catalyzedWrite(tableId, 'delete', format, [key(index + 11), { order: index + 1, [INJECTION]: 1 }])).rows_deleted, 1, format);
    }
    assert.deepEqual(await read(), [row(1, 'json'), row(2, 'csv'), row(3, 'parquet'), row(4, 'arrow')]);

    // Full rows as delete keys, and the key columns' names in another case.
    assert.equal((await catalyzedWrite(tableId, 'delete', 'json', [row(1, 'whatever'), { ORDER: 2, [INJECTION.toUpperCase()]: 20 }])).rows_deleted, 2);
    assert.deepEqual(await read(), [row(3, 'parquet'), row(4, 'arrow')]);

    await catalyzedWrite(tableId, 'overwrite', 'csv', [row(9, 'over')]);
    assert.deepEqual(await read(), [row(9, 'over')]);
  });

  test('queries bind tables to reserved, quoted and injection-like names, and filters name awkward fields', async () => {
    const tableId = await catalyzed.createTable(datasetId, 'select', fields, ['order', INJECTION]);
    await catalyzedWrite(tableId, 'append', 'json', [row(1, 'a'), row(2, 'b'), row(3, 'c')]);
    assert.deepEqual(await catalyzedQuery(`SELECT "a""b", ${dq(INJECTION)} FROM "select" WHERE "it's" = '''b'`, { select: tableId }), [{ 'a"b': 'q"b', [INJECTION]: 20 }]);
    assert.deepEqual(await catalyzedQuery(`SELECT "order" FROM ${dq(INJECTION)} ORDER BY 1`, { [INJECTION]: tableId }), [{ order: 1 }, { order: 2 }, { order: 3 }]);
    assert.deepEqual(await catalyzedQuery('SELECT "order" FROM "ünï ""t""" ORDER BY 1', { 'ünï "t"': tableId }), [{ order: 1 }, { order: 2 }, { order: 3 }]);
    const filtered = { tableId, filters: [{ field: INJECTION, op: 'gte', value: 20 }, { field: 'with space', op: 'neq', value: ' c ' }, { field: 'ÜNÏCØDÉ', op: 'like', value: 'ü%' }] };
    assert.deepEqual(await catalyzedQuery('SELECT "order", "back\\slash" FROM t', { t: filtered }), [{ order: 2, 'back\\slash': '\\b' }]);
    await catalyzedError(await catalyzed.query('SELECT 1 FROM t', { t: { tableId, filters: [{ field: 'a"b"', op: 'eq', value: 'x' }] } }), 400, 'VALIDATION_ERROR', /Filter field "a"b"" is not a column/);
    await catalyzedError(await catalyzed.query(`SELECT * FROM "select"; DROP TABLE "select"; --`, { select: tableId }), 400, 'QUERY_ERROR', /./);
    assert.equal((await catalyzedQuery('SELECT count(*) AS n FROM "select"', { select: tableId }))[0]!['n'], 3);
  });

  test('a one-column key named like an injection takes deletes by bare key values', async () => {
    const tableId = await catalyzed.createTable(datasetId, INJECTION, [{ name: INJECTION, arrowType: 'utf8', nullable: false }, { name: 'v', arrowType: 'int32' }], [INJECTION]);
    await catalyzedWrite(tableId, 'append', 'json', [{ [INJECTION]: "'; DROP TABLE x; --", v: 1 }, { [INJECTION]: 'b"', v: 2 }, { [INJECTION]: 'c', v: 3 }]);
    const answer = await catalyzed.write(tableId, 'mode=delete', JSON.stringify(["'; DROP TABLE x; --", 'b"']), 'application/json');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.rows_deleted, 2);
    assert.deepEqual(await catalyzedQuery(`SELECT * FROM t`, { t: tableId }), [{ [INJECTION]: 'c', v: 3 }]);
  });

  test('tables whose names differ only in case are distinct, and a query binds each by its exact name; fields differing only in case are a 400', async () => {
    const upper = await catalyzed.createTable(datasetId, 'Cased', [{ name: 'Key', arrowType: 'utf8', nullable: false }, { name: 'v', arrowType: 'int32' }], ['Key']);
    const lower = await catalyzed.createTable(datasetId, 'cased', [{ name: 'Key', arrowType: 'utf8', nullable: false }, { name: 'v', arrowType: 'int32' }], ['Key']);
    // Column names match regardless of case.
    await catalyzedWrite(upper, 'upsert', 'json', [{ KEY: 'k', V: 1 }]);
    await catalyzedWrite(lower, 'upsert', 'csv', [{ key: 'k', v: 2 }]);
    await catalyzedWrite(upper, 'upsert', 'csv', [{ key: 'k', v: 3 }]);
    const tables = { Cased: upper, cased: lower };
    assert.deepEqual(await catalyzedQuery('SELECT * FROM "Cased"', tables), [{ Key: 'k', v: 3 }]);
    assert.deepEqual(await catalyzedQuery('SELECT * FROM "cased"', tables), [{ Key: 'k', v: 2 }]);
    assert.deepEqual(await catalyzedQuery('SELECT a.v AS a, b.v AS b FROM "Cased" a, "cased" b', tables), [{ a: 3, b: 2 }]);
    // One binding: any case of its name reaches it.
    assert.deepEqual(await catalyzedQuery('SELECT v FROM CASED', { cased: lower }), [{ v: 2 }]);
    const listed = (await catalyzed.call('GET', `/dataset-tables?datasetId=${datasetId}`)).body;
    const names = (listed.tables ?? listed.datasetTables ?? listed.data ?? listed).map((table: { tableName: string }) => table.tableName);
    assert.ok(names.includes('Cased') && names.includes('cased'), JSON.stringify(names));
    await catalyzedError(await catalyzed.call('POST', '/dataset-tables', { datasetId, tableName: 'fields', fields: [{ name: 'value', arrowType: 'utf8' }, { name: 'Value', arrowType: 'int32' }] }), 400, 'VALIDATION_ERROR', /Duplicate column name "Value"/);
    await catalyzedError(await catalyzed.call('POST', '/dataset-tables', { datasetId, tableName: 'Cased', fields: [{ name: 'x', arrowType: 'int32' }] }), 409, 'CONFLICT', /Cased/);
  });

  test('255-character table, field and binding names work; 256 characters is a 400 VALIDATION_ERROR', async () => {
    const name = `t${'þ'.repeat(253)}t`;
    const field = `f${'"'.repeat(253)}f`;
    const tableId = await catalyzed.createTable(datasetId, name, [{ name: field, arrowType: 'int32', nullable: false }], [field]);
    await catalyzedWrite(tableId, 'append', 'csv', [{ [field]: 1 }]);
    await catalyzedWrite(tableId, 'upsert', 'arrow', [{ [field]: 2 }]);
    assert.equal((await catalyzedWrite(tableId, 'delete', 'json', [{ [field]: 1 }])).rows_deleted, 1);
    assert.deepEqual(await catalyzedQuery(`SELECT ${dq(field)} FROM ${dq(name)}`, { [name]: tableId }), [{ [field]: 2 }]);
    assert.equal((await catalyzed.call('GET', `/dataset-tables/${tableId}`)).body.tableName, name);
    await catalyzedError(await catalyzed.call('POST', '/dataset-tables', { datasetId, tableName: `${name}x`, fields: [{ name: 'x', arrowType: 'int32' }] }), 400, 'VALIDATION_ERROR', /use 1 to 255/);
    await catalyzedError(await catalyzed.call('POST', '/dataset-tables', { datasetId, tableName: 'long_field', fields: [{ name: `${field}x`, arrowType: 'int32' }] }), 400, 'VALIDATION_ERROR', /use 1 to 255/);
    await catalyzedError(await catalyzed.call('POST', '/dataset-tables', { datasetId, tableName: 'control', fields: [{ name: 'a\nb', arrowType: 'int32' }] }), 400, 'VALIDATION_ERROR', /printable/);
  });
});
