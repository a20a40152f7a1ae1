import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lineAndColumn, normalizeName, parseProgram, ProgramError } from '../../../src/dialects/feldera/program.ts';

const int32 = { kind: 'int', bits: 32, signed: true } as const;

/** Where a program fails: line, column and message. */
function failure(program: string): { line: number; column: number; message: string } {
  try {
    parseProgram(program);
  } catch (error) {
    assert.ok(error instanceof ProgramError, String(error));
    return { ...lineAndColumn(program, error.offset), message: error.message };
  }
  assert.fail(`expected "${program}" to fail`);
}

describe('Feldera program parser', () => {
  test('tables have typed columns, NOT NULL, an inline or separate primary key whose columns are NOT NULL, and WITH properties', () => {
    const program = parseProgram(`
      CREATE TABLE Orders (
        ID INT PRIMARY KEY,
        "Customer Name" VARCHAR(40) NOT NULL,
        amount DECIMAL(10, 2),
        tags VARCHAR ARRAY,
        attrs MAP<VARCHAR, INT>
      ) WITH ('materialized' = 'true', 'connectors' = '[{"name": "it''s"}]');
      create table lines (order_id INT, line INT, PRIMARY KEY (order_id, line));`);
    const [orders, lines] = program.tables;
    assert.equal(orders!.name, 'orders');
    assert.deepEqual(orders!.primaryKey, ['id']);
    assert.deepEqual(orders!.columns.map((column) => [column.name, column.type.kind, column.nullable]), [
      ['id', 'int', false], ['Customer Name', 'string', false], ['amount', 'decimal', true], ['tags', 'list', true], ['attrs', 'map', true],
    ]);
    assert.equal(orders!.columns[1]!.jsonPath, "$.['Customer Name']");
    assert.equal(orders!.columns[0]!.jsonPath, undefined);
    assert.deepEqual(orders!.properties, { materialized: 'true', connectors: '[{"name": "it\'s"}]' });
    assert.deepEqual(lines!.primaryKey, ['order_id', 'line']);
    assert.deepEqual(lines!.columns.map((column) => column.nullable), [false, false]);
    assert.deepEqual(lines!.columns[0]!.type, int32);
  });

  test('views keep their query as written, with its place in the program, and their kind', () => {
    const text = 'CREATE TABLE t (x INT);\nCREATE MATERIALIZED VIEW m AS SELECT x FROM T;\ncreate local view l as select 1;\nCREATE VIEW "V" AS SELECT \';\' AS semi -- a comment; still the view\n FROM t;';
    const { views } = parseProgram(text);
    assert.deepEqual(views.map((view) => [view.name, view.kind]), [['m', 'materialized'], ['l', 'local'], ['V', 'view']]);
    assert.equal(views[0]!.sql, 'SELECT x FROM T');
    assert.equal(text.slice(views[0]!.programOffset(0), views[0]!.programOffset(0) + 6), 'SELECT');
    assert.equal(text.slice(views[0]!.programOffset(9), views[0]!.programOffset(9) + 6), 'FROM T');
    assert.equal(views[2]!.sql, "SELECT ';' AS semi -- a comment; still the view\n FROM t");
  });

  test("Feldera's windows, truncations, FLOOR/CEIL TO, SAFE_CAST and type names in casts become DuckDB SQL; other text stays as written", () => {
    const view = (query: string) => parseProgram(`CREATE TABLE t (ts TIMESTAMP);\nCREATE VIEW v AS ${query};`).views[0]!.sql;
    assert.equal(view('SELECT TIMESTAMP_TRUNC(ts, HOUR) AS h, DATE_TRUNC(ts, month) AS m FROM t'),
      "SELECT date_trunc('hour', ts) AS h, CAST(date_trunc('month', ts) AS DATE) AS m FROM t");
    assert.equal(view("SELECT date_trunc('hour', ts) AS h FROM t"), "SELECT date_trunc('hour', ts) AS h FROM t");
    assert.equal(view('SELECT FLOOR(ts TO DAY) AS d, FLOOR(2.5) AS f, SAFE_CAST(ts AS DATE) AS c FROM t'),
      "SELECT date_trunc('day', ts) AS d, FLOOR(2.5) AS f, TRY_CAST(ts AS DATE) AS c FROM t");
    assert.equal(view('SELECT CEIL(ts TO HOUR) FROM t'), "SELECT CASE WHEN date_trunc('hour', ts) = ts THEN ts ELSE date_trunc('hour', ts) + INTERVAL 1 hour END FROM t");
    assert.equal(view("SELECT window_start FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR)) /* kept */ GROUP BY 1"),
      "SELECT window_start FROM (SELECT *, time_bucket((INTERVAL '1' HOUR), CAST(ts AS TIMESTAMP), TIMESTAMP '1970-01-01 00:00:00') AS window_start, " +
      "time_bucket((INTERVAL '1' HOUR), CAST(ts AS TIMESTAMP), TIMESTAMP '1970-01-01 00:00:00') + (INTERVAL '1' HOUR) AS window_end FROM t WHERE ts IS NOT NULL) /* kept */ GROUP BY 1");
    assert.equal(view("SELECT CAST(ts AS VARCHAR ARRAY) AS a, SAFE_CAST(x AS BIGINT UNSIGNED) AS b, CAST(m AS MAP<VARCHAR, INT>) AS c, CAST(y AS INTEGER[]) AS d FROM t"),
      'SELECT CAST(ts AS VARCHAR[]) AS a, TRY_CAST(x AS UBIGINT) AS b, CAST(m AS MAP(VARCHAR, INTEGER)) AS c, CAST(y AS INTEGER[]) AS d FROM t');
    assert.equal(view('SELECT SOME(x > 0) AS any_positive FROM t WHERE x = SOME (SELECT 1)'), 'SELECT bool_or(x > 0) AS any_positive FROM t WHERE x = SOME (SELECT 1)');
    // A construct of another shape is left to DuckDB to report.
    assert.equal(view('SELECT * FROM TABLE(TUMBLE(t, ts))'), 'SELECT * FROM TABLE(TUMBLE(t, ts))');
  });

  test('a position in a rewritten query leads back to its place in the program', () => {
    const text = "CREATE TABLE t (ts TIMESTAMP);\nCREATE VIEW v AS SELECT TIMESTAMP_TRUNC(ts, HOUR) AS h, oops FROM t;";
    const view = parseProgram(text).views[0]!;
    const position = view.sql.indexOf('oops');
    assert.equal(text.slice(view.programOffset(position), view.programOffset(position) + 4), 'oops');
    assert.equal(view.programOffset(view.sql.indexOf('date_trunc')), text.indexOf('TIMESTAMP_TRUNC'));
  });

  test('comments and empty statements are skipped', () => {
    const program = parseProgram('-- leading\n/* block; with a semicolon */ CREATE TABLE a (x INT);;\n-- trailing');
    assert.deepEqual(program.tables.map((table) => table.name), ['a']);
  });

  test('an unknown type is reported where the type starts', () => {
    const found = failure('CREATE TABLE t (\n  x INT,\n  y STRINGY\n);');
    assert.deepEqual([found.line, found.column], [3, 5]);
    assert.match(found.message, /Unknown type "STRINGY"/);
  });

  test('two columns that differ only in case are refused at the second one', () => {
    const found = failure('CREATE TABLE t (name VARCHAR, "NAME" VARCHAR);');
    assert.deepEqual([found.line, found.column], [1, 31]);
    assert.match(found.message, /differs from column "name" only in case/);
  });

  test('malformed statements are reported where they go wrong', () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['CREATE TABLE t (x INT', 1, 22, /Expected "\)" before the end of the statement/],
      ['CREATE TABLE t (x INT) garbage;', 1, 24, /Unexpected text, found garbage/],
      ['CREATE TABLE t (x INT, PRIMARY KEY (y));', 1, 24, /Primary key column "y"/],
      ['CREATE TABLE t (x INT PRIMARY KEY, y INT PRIMARY KEY);', 1, 42, /primary key is declared twice/],
      ['CREATE TABLE t (x INT);\nCREATE VIEW T AS SELECT 1;', 2, 1, /"t" is declared twice/],
      ['CREATE FUNCTION f(x INT) RETURNS INT AS x + 1;', 1, 8, /CREATE FUNCTION is not supported/],
      ['CREATE VIEW v (a) AS SELECT 1;', 1, 15, /Column lists on views/],
      ['DROP TABLE t;', 1, 1, /Expected CREATE/],
      ["CREATE TABLE t (x INT) WITH ('a' = 1);", 1, 36, /property value/],
      ['CREATE TABLE "unclosed (x INT);', 1, 14, /Unterminated quoted name/],
    ];
    for (const [program, line, column, message] of cases) {
      const found = failure(program);
      assert.deepEqual([found.line, found.column], [line, column], `${program}: ${found.message}`);
      assert.match(found.message, message, program);
    }
  });

  test('names in URLs fold to lower case unless quoted', () => {
    assert.equal(normalizeName('T1'), 't1');
    assert.equal(normalizeName('"TaBle1"'), 'TaBle1');
    assert.equal(normalizeName('"a""b"'), 'a"b');
  });
});
