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

  test('views keep their query as written but for unquoted words, folded to lower case, with its place in the program, and their kind', () => {
    const text = 'CREATE TABLE t (x INT);\nCREATE MATERIALIZED VIEW m AS SELECT x FROM T;\ncreate local view l as select 1;\nCREATE VIEW "V" AS SELECT \';\' AS semi -- a comment; still the view\n FROM t;';
    const { views } = parseProgram(text);
    assert.deepEqual(views.map((view) => [view.name, view.kind]), [['m', 'materialized'], ['l', 'local'], ['V', 'view']]);
    assert.equal(views[0]!.sql, 'select x from t');
    assert.equal(text.slice(views[0]!.programOffset(0), views[0]!.programOffset(0) + 6), 'SELECT');
    assert.equal(text.slice(views[0]!.programOffset(9), views[0]!.programOffset(9) + 6), 'FROM T');
    assert.equal(views[2]!.sql, "select ';' as semi -- a comment; still the view\n from t");
  });

  test("Feldera's windows, truncations, FLOOR/CEIL TO, SAFE_CAST and type names in casts become DuckDB SQL; other text stays as written, unquoted words in lower case", () => {
    const view = (query: string) => parseProgram(`CREATE TABLE t (ts TIMESTAMP);\nCREATE VIEW v AS ${query};`).views[0]!.sql;
    assert.equal(view('SELECT TIMESTAMP_TRUNC(ts, HOUR) AS h, DATE_TRUNC(ts, month) AS m FROM t'),
      "select date_trunc('hour', ts) as h, CAST(date_trunc('month', ts) AS DATE) as m from t");
    assert.equal(view("SELECT date_trunc('hour', ts) AS h FROM t"), "select date_trunc('hour', ts) as h from t");
    assert.equal(view('SELECT FLOOR(ts TO DAY) AS d, FLOOR(2.5) AS f, SAFE_CAST(ts AS DATE) AS c FROM t'),
      "select date_trunc('day', ts) as d, floor(2.5) as f, TRY_CAST(ts AS DATE) as c from t");
    assert.equal(view('SELECT CEIL(ts TO HOUR) FROM t'), "select CASE WHEN date_trunc('hour', ts) = ts THEN ts ELSE date_trunc('hour', ts) + INTERVAL 1 hour END AS \"EXPR$0\" from t");
    assert.equal(view("SELECT window_start FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR)) /* kept */ GROUP BY 1"),
      "select window_start from (SELECT *, time_bucket((interval '1' hour), CAST(ts AS TIMESTAMP), TIMESTAMP '1970-01-01 00:00:00') AS window_start, " +
      "time_bucket((interval '1' hour), CAST(ts AS TIMESTAMP), TIMESTAMP '1970-01-01 00:00:00') + (interval '1' hour) AS window_end FROM t WHERE ts IS NOT NULL) /* kept */ group by 1");
    assert.equal(view("SELECT CAST(ts AS VARCHAR ARRAY) AS a, SAFE_CAST(x AS BIGINT UNSIGNED) AS b, CAST(m AS MAP<VARCHAR, INT>) AS c, CAST(y AS INTEGER[]) AS d FROM t"),
      "select CASE WHEN typeof(ts) = 'JSON' THEN TRY_CAST(ts AS VARCHAR[]) ELSE CAST(ts AS VARCHAR[]) END as a, " +
      "CASE WHEN typeof(x) = 'JSON' THEN CASE WHEN json_type(CAST(x AS JSON)) = 'DOUBLE' THEN TRY_CAST(trunc(TRY_CAST(x AS DOUBLE)) AS UBIGINT) ELSE TRY_CAST(x AS UBIGINT) END WHEN typeof(x) IN ('FLOAT', 'DOUBLE') THEN TRY_CAST(trunc(CAST(x AS DOUBLE)) AS UBIGINT) WHEN typeof(x) LIKE 'DECIMAL%' THEN TRY_CAST(split_part(CAST(x AS VARCHAR), '.', 1) AS UBIGINT) " +
      "ELSE TRY_CAST(x AS UBIGINT) END as b, CASE WHEN typeof(m) = 'JSON' THEN TRY_CAST(m AS MAP(VARCHAR, INTEGER)) ELSE CAST(m AS MAP(VARCHAR, INTEGER)) END as c, CAST(y as integer[]) as d from t");
    assert.equal(view('SELECT SOME(x > 0) AS any_positive FROM t WHERE x = SOME (SELECT 1)'), 'select bool_or(x > 0) as any_positive from t where x = some (select 1 AS "EXPR$0")');
    // A construct of another shape is left to DuckDB to report.
    assert.equal(view('SELECT * FROM TABLE(TUMBLE(t, ts))'), 'select * from table(tumble(t, ts))');
    // Names in a rewritten construct fold too; quoted names, strings and comments are kept as written.
    assert.equal(view(`SELECT r.Field, "Q".X, 'Str' AS "Keep" FROM TABLE(TUMBLE(TABLE T, DESCRIPTOR(Ts), INTERVAL 1 HOUR)) AS "Q" /* Kept */ WHERE X RLIKE 'A'`),
      "select r.field, \"Q\".x, 'Str' as \"Keep\" from (SELECT *, time_bucket((interval 1 hour), CAST(ts AS TIMESTAMP), TIMESTAMP '1970-01-01 00:00:00') AS window_start, " +
      "time_bucket((interval 1 hour), CAST(ts AS TIMESTAMP), TIMESTAMP '1970-01-01 00:00:00') + (interval 1 hour) AS window_end FROM t WHERE ts IS NOT NULL) as \"Q\" /* Kept */ where x SIMILAR TO '(?s).*(?:A).*'");
  });

  test('unaliased expressions of select lists are named EXPR$<n> after their place, as Calcite names them; column references, aliased items and stars are left as written', () => {
    const view = (query: string) => parseProgram(`CREATE TABLE t (a INT, s VARCHAR);\nCREATE VIEW v AS ${query};`).views[0]!;
    assert.equal(view("SELECT a, t.a, (a), a x, a AS \"Y\", 'lit' z, a::INT AS w, NULL, a IS NULL, INTERVAL '1' DAY, CASE WHEN a > 0 THEN 1 END, -a FROM t").sql,
      'select a, t.a, (a), a x, a as "Y", \'lit\' z, a::int as w, null AS "EXPR$7", a is null AS "EXPR$8", interval \'1\' day AS "EXPR$9", case when a > 0 then 1 end AS "EXPR$10", -a AS "EXPR$11" from t');
    assert.equal(view('SELECT DISTINCT a IS DISTINCT FROM 1, LISTAGG(s) WITHIN GROUP (ORDER BY s) FROM t GROUP BY a').sql,
      'select distinct a is distinct from 1 AS "EXPR$0", listagg(s) within group (order by s) AS "EXPR$1" from t group by a');
    // The view's select list after its WITH clause and inside parentheses; a set operation's other operands too; a query that ends with one.
    assert.equal(view('WITH w (b) AS (SELECT a + 1 FROM t) (SELECT b * 2 FROM w UNION ALL SELECT 1)').sql,
      'with w (b) as (select a + CAST(1 AS INTEGER) AS "EXPR$0" from t) (select b * CAST(2 AS INTEGER) AS "EXPR$0" from w union all select 1 AS "EXPR$0")');
    // After a `*`, a place is known once the view's columns are: the view's own list names it by a placeholder until then.
    const starred = view('SELECT *, a + 1, s, upper(s) FROM t -- end');
    assert.equal(starred.sql, 'select *, a + CAST(1 AS INTEGER) AS "EXPR$?1", s, upper(s) AS "EXPR$?3" from t');
    assert.equal(starred.nameAfterColumns!(['a', 's', 'EXPR$?1', 's', 'EXPR$?3']).sql, 'select *, a + CAST(1 AS INTEGER) AS "EXPR$2", s, upper(s) AS "EXPR$4" from t');
    assert.equal(view('SELECT a + 1, t.* FROM t').nameAfterColumns, undefined);
    assert.equal(view('SELECT * FROM (SELECT *, a + 1 FROM t)').sql, 'select * from (select *, a + 1 from t)');
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
      ['CREATE VIEW v (a, ) AS SELECT 1;', 1, 19, /Expected a column name/],
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
