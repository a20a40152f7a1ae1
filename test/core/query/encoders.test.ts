import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tableFromIPC, type Vector } from 'apache-arrow';
import { encodeArrow } from '../../../src/core/query/encoders/encode-arrow.ts';
import { encodeCsv } from '../../../src/core/query/encoders/encode-csv.ts';
import { encodeHash } from '../../../src/core/query/encoders/encode-hash.ts';
import { encodeJson } from '../../../src/core/query/encoders/encode-json.ts';
import { encodeNdjson } from '../../../src/core/query/encoders/encode-ndjson.ts';
import { encodeParquet } from '../../../src/core/query/encoders/encode-parquet.ts';
import { encodeTextTable } from '../../../src/core/query/encoders/encode-text-table.ts';
import { encodeTsv } from '../../../src/core/query/encoders/encode-tsv.ts';
import { collectOutput, inputFromResult, type EncoderInput } from '../../../src/core/query/encoders/encoder-input.ts';
import { runQuery, streamQuery, type QueryResult } from '../../../src/core/query/query-runner.ts';
import { renderJsonRow, renderJsonValue } from '../../../src/core/query/render-value.ts';
import type { GuardedQuery } from '../../../src/core/query/sql-guard.ts';
import { SqlDecimal, SqlTimestamp } from '../../../src/core/query/sql-values.ts';
import { printClickHouseType } from '../../../src/core/types/clickhouse-types.ts';
import { ALL_TYPES_COLUMNS, ALL_TYPES_ROWS, openQueryFixture, type QueryFixture } from './query-fixture.ts';

let fixture: QueryFixture;
let allTypes: GuardedQuery;

before(async () => {
  fixture = await openQueryFixture();
  await fixture.createTable('all_types', ALL_TYPES_COLUMNS, ALL_TYPES_ROWS);
  allTypes = await fixture.guard('SELECT * FROM all_types ORDER BY i64 DESC');
});

after(async () => {
  await fixture.close();
});

async function allTypesInput(): Promise<EncoderInput> {
  return inputFromResult(await runQuery(fixture.storage, allTypes));
}

async function text(output: AsyncIterable<Uint8Array>): Promise<string> {
  return (await collectOutput(output)).toString('utf8');
}

const NAMES = ALL_TYPES_COLUMNS.map(([name]) => name);
const ROW_JSON =
  '{"i8":-8,"i16":-16,"i32":-32,"i64":"9007199254740993","i128":"170141183460469231731687303715884105727","u64":"18446744073709551615",' +
  '"dec":"12345678901234567890.0123456789","f64":1.5,"f32":0.1,"flag":true,"s":"say \\"hi\\",\\ntab\\tit\'s","d":"2024-02-29",' +
  '"ts":"2024-01-02 03:04:05.123456","tags":["a",null],"point":{"x":1,"y":"z"},"attrs":{"k":7},"b":[0,97,98],' +
  '"id":"00000000-0000-0000-0000-000000000001","doc":{"a":[1,2]}}';
const NULL_ROW_JSON = `{${NAMES.map((name) => `"${name}":${name === 'i64' ? '42' : 'null'}`).join(',')}}`;

describe('JSON', () => {
  test('meta, data, rows, rows_before_limit_at_least and statistics, with exact numbers', async () => {
    const input = await allTypesInput();
    input.summary = () => ({ rowsBeforeLimit: 2, statistics: { elapsedSeconds: 0.25, rowsRead: 0, bytesRead: 0 } });
    const meta = [
      ['i8', 'Nullable(Int8)'], ['i16', 'Nullable(Int16)'], ['i32', 'Nullable(Int32)'], ['i64', 'Int64'], ['i128', 'Nullable(Int128)'],
      ['u64', 'Nullable(UInt64)'], ['dec', 'Nullable(Decimal(38, 10))'], ['f64', 'Nullable(Float64)'], ['f32', 'Nullable(Float32)'],
      ['flag', 'Nullable(Bool)'], ['s', 'Nullable(String)'], ['d', 'Nullable(Date)'], ['ts', 'Nullable(DateTime64(6))'],
      // A level inside a list, map or tuple is Nullable only where a NULL was seen (tags holds one; point and attrs do not).
      ['tags', 'Nullable(Array(Nullable(String)))'], ['point', 'Nullable(Tuple(x Int32, y String))'],
      ['attrs', 'Nullable(Map(String, Int32))'], ['b', 'Nullable(String)'], ['id', 'Nullable(UUID)'], ['doc', 'Nullable(JSON)'],
    ].map(([name, type]) => ({ name, type }));
    assert.equal(
      await text(encodeJson(input, { printType: printClickHouseType })),
      `{"data":[${ROW_JSON},${NULL_ROW_JSON}],"meta":${JSON.stringify(meta)},"rows":2,"rows_before_limit_at_least":2,` +
        '"statistics":{"elapsed":0.25,"rows_read":0,"bytes_read":0}}\n',
    );
  });

  test('a 64-bit integer is a JSON number only when a double holds it exactly', async () => {
    const result = await runQuery(fixture.storage, await fixture.guard('SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, -9007199254740991::BIGINT AS edge, 0.1::DECIMAL(38,10) AS dec, 1.25::DECIMAL(5,2) AS exact'));
    const output = await text(encodeJson(inputFromResult(result), { printType: printClickHouseType }));
    assert.match(output, /"data":\[\{"big":"9007199254740993","small":42,"edge":-9007199254740991,"dec":0.1,"exact":1.25\}\]/);
    assert.equal(JSON.parse(output).data[0].big, '9007199254740993');
  });

  test('decimals that a double cannot round-trip stay strings; tiny and huge exact ones stay numbers', () => {
    assert.equal(renderJsonValue(new SqlDecimal(1n, 7)), '0.0000001');
    assert.equal(renderJsonValue(new SqlDecimal(10n ** 21n, 0)), '1000000000000000000000');
    assert.equal(renderJsonValue(new SqlDecimal(12345678901234567891n, 0)), '"12345678901234567891"');
    assert.equal(renderJsonValue(new SqlDecimal(-150n, 2)), '-1.5');
  });

  test('an interval is DuckDB\'s text, or with intervals: seconds its length in seconds (a month as 30 days)', async () => {
    const result = await runQuery(fixture.storage, await fixture.guard("SELECT TIMESTAMP '2024-01-02 00:01:30' - TIMESTAMP '2024-01-01 00:00:00' AS d, INTERVAL 1 MONTH AS m"));
    assert.equal(renderJsonRow(['d', 'm'], result.rows[0]!), '{"d":"1 day 00:01:30","m":"1 month"}');
    assert.equal(renderJsonRow(['d', 'm'], result.rows[0]!, { intervals: 'seconds' }), '{"d":86490,"m":2592000}');
  });

  test('options: ISO-8601 timestamps and base64 blobs; NaN and infinities as strings', async () => {
    const result = await runQuery(fixture.storage, await fixture.guard("SELECT TIMESTAMP '2024-01-02 03:04:05.120' AS ts, '\\x00ab'::BLOB AS b, 'nan'::DOUBLE AS n, '-inf'::DOUBLE AS i"));
    assert.equal(renderJsonRow(['ts', 'b', 'n', 'i'], result.rows[0]!, { timestamps: 'iso', binary: 'base64' }), '{"ts":"2024-01-02T03:04:05.12Z","b":"AGFi","n":"nan","i":"-inf"}');
  });

  test('with timestampDigits: declared, a timestamp has the fractional digits its type declares; a plain TIMESTAMP (microseconds) declares none', () => {
    const declared = { timestampDigits: 'declared' } as const;
    assert.equal(renderJsonValue(new SqlTimestamp(1_500_000_000n, true, 3), declared), '"1970-01-01 00:00:01.500"');
    assert.equal(renderJsonValue(new SqlTimestamp(1_000_000_000n, true, 3), declared), '"1970-01-01 00:00:01.000"');
    assert.equal(renderJsonValue(new SqlTimestamp(1_000_000_001n, true, 9), declared), '"1970-01-01 00:00:01.000000001"');
    assert.equal(renderJsonValue(new SqlTimestamp(1_000_000_000n, true, 0), declared), '"1970-01-01 00:00:01"');
    assert.equal(renderJsonValue(new SqlTimestamp(1_500_000_000n), declared), '"1970-01-01 00:00:01.5"');
    assert.equal(renderJsonValue(new SqlTimestamp(1_500_000_000n, true, 3)), '"1970-01-01 00:00:01.5"');
  });

  test('timestamps before 1970 and at whole seconds', () => {
    assert.equal(renderJsonValue(new SqlTimestamp(-1n)), '"1969-12-31 23:59:59.999999999"');
    assert.equal(renderJsonValue(new SqlTimestamp(951_782_400_000_000_000n)), '"2000-02-29 00:00:00"');
  });
});

test('NDJSON: one object per line', async () => {
  assert.equal(await text(encodeNdjson(await allTypesInput())), `${ROW_JSON}\n${NULL_ROW_JSON}\n`);
});

describe('CSV and TSV', () => {
  const csvRow =
    '-8,-16,-32,9007199254740993,170141183460469231731687303715884105727,18446744073709551615,12345678901234567890.0123456789,1.5,0.1,true,' +
    '"say ""hi"",\ntab\tit\'s","2024-02-29","2024-01-02 03:04:05.123456","[""a"",null]","{""x"":1,""y"":""z""}","{""k"":7}","\\x00ab",' +
    '"00000000-0000-0000-0000-000000000001","{""a"":[1,2]}"\n';
  const csvNulls = `${NAMES.map((name) => (name === 'i64' ? '42' : '\\N')).join(',')}\n`;

  test('CSV quotes text values (RFC 4180), leaves numbers bare and writes NULL as \\N', async () => {
    assert.equal(await text(encodeCsv(await allTypesInput())), csvRow + csvNulls);
  });

  test('CSV with names starts with a quoted header', async () => {
    assert.equal(await text(encodeCsv(await allTypesInput(), { header: true })), `${NAMES.map((name) => `"${name}"`).join(',')}\n${csvRow}${csvNulls}`);
  });

  const tsvRow =
    '-8\t-16\t-32\t9007199254740993\t170141183460469231731687303715884105727\t18446744073709551615\t12345678901234567890.0123456789\t1.5\t0.1\ttrue\t' +
    'say "hi",\\ntab\\tit\\\'s\t2024-02-29\t2024-01-02 03:04:05.123456\t["a",null]\t{"x":1,"y":"z"}\t{"k":7}\t\\\\x00ab\t' +
    '00000000-0000-0000-0000-000000000001\t{"a":[1,2]}\n';
  const tsvNulls = `${NAMES.map((name) => (name === 'i64' ? '42' : '\\N')).join('\t')}\n`;

  test('TSV escapes tabs, newlines, backslashes and quotes the ClickHouse way', async () => {
    assert.equal(await text(encodeTsv(await allTypesInput())), tsvRow + tsvNulls);
  });

  test('TSV with names starts with the header', async () => {
    assert.equal(await text(encodeTsv(await allTypesInput(), { header: true })), `${NAMES.join('\t')}\n${tsvRow}${tsvNulls}`);
  });
});

describe('text tables', () => {
  const query = "SELECT * FROM (VALUES (1, 'ab', 2.5::DECIMAL(4,2)), (NULL, 'line\nbreak', 10)) t(n, s, d)";

  test('PrettyCompact: box drawing, numbers right-aligned, NULL as ᴺᵁᴸᴸ', async () => {
    const result = await runQuery(fixture.storage, await fixture.guard(query));
    assert.equal(
      await text(encodeTextTable(inputFromResult(result), { style: 'pretty-compact' })),
      [
        '┌────n─┬─s───────────┬───d─┐',
        '│    1 │ ab          │ 2.5 │',
        '│ ᴺᵁᴸᴸ │ line\\nbreak │  10 │',
        '└──────┴─────────────┴─────┘',
        '',
      ].join('\n'),
    );
  });

  test('ASCII: +---+ borders, left-aligned, NULL empty', async () => {
    const result = await runQuery(fixture.storage, await fixture.guard(query));
    assert.equal(
      await text(encodeTextTable(inputFromResult(result), { style: 'ascii' })),
      ['+---+-------------+-----+', '| n | s           | d   |', '+---+-------------+-----+', '| 1 | ab          | 2.5 |', '|   | line\\nbreak | 10  |', '+---+-------------+-----+', ''].join('\n'),
    );
  });

  test('an empty result still shows the header', async () => {
    const result = await runQuery(fixture.storage, await fixture.guard('SELECT 1 AS a WHERE false'));
    assert.equal(await text(encodeTextTable(inputFromResult(result), { style: 'ascii' })), '+---+\n| a |\n+---+\n+---+\n');
  });
});

test('hash: SHA-256 over each row as a JSON array plus a newline', async () => {
  const row =
    '[-8,-16,-32,"9007199254740993","170141183460469231731687303715884105727","18446744073709551615","12345678901234567890.0123456789",1.5,0.1,true,' +
    '"say \\"hi\\",\\ntab\\tit\'s","2024-02-29","2024-01-02 03:04:05.123456",["a",null],{"x":1,"y":"z"},{"k":7},[0,97,98],' +
    '"00000000-0000-0000-0000-000000000001",{"a":[1,2]}]';
  const nulls = `[null,null,null,42,${Array(15).fill('null').join(',')}]`;
  const expected = createHash('sha256').update(`${row}\n${nulls}\n`, 'utf8').digest('hex');
  const output = await text(encodeHash(await allTypesInput()));
  assert.equal(output, expected);
  assert.equal(output, 'fa626a7e94bfba8a0292bc9ac9072e29449af1c67e959d3270dad188695336b9');
  const reordered = await runQuery(fixture.storage, await fixture.guard('SELECT * FROM all_types ORDER BY i64'));
  assert.notEqual(await text(encodeHash(inputFromResult(reordered))), output);
});

describe('Arrow IPC', () => {
  test('reads back with apache-arrow: types and exact values', async () => {
    const table = tableFromIPC(await collectOutput(encodeArrow(await allTypesInput())));
    assert.deepEqual(
      table.schema.fields.map((field) => `${field.name}: ${field.type}`),
      [
        'i8: Int8', 'i16: Int16', 'i32: Int32', 'i64: Int64', 'i128: Utf8', 'u64: Uint64', 'dec: Decimal[38e+10]', 'f64: Float64', 'f32: Float32',
        'flag: Bool', 's: Utf8', 'd: Date32<DAY>', 'ts: Timestamp<MICROSECOND>', 'tags: List<Utf8>', 'point: Struct<{x:Int32, y:Utf8}>',
        'attrs: Map<{key:Utf8, value:Int32}>', 'b: Binary', 'id: Utf8', 'doc: Utf8',
      ],
    );
    const column = (name: string): Vector => table.getChild(name)!;
    assert.equal(table.numRows, 2);
    assert.deepEqual([column('i8').get(0), column('i8').get(1)], [-8, null]);
    assert.equal(column('i64').get(0), 9007199254740993n);
    assert.equal(column('i64').get(1), 42n);
    assert.equal(column('i128').get(0), '170141183460469231731687303715884105727');
    assert.equal(column('u64').get(0), 18446744073709551615n);
    assert.equal(String(column('dec').get(0)), '123456789012345678900123456789');
    assert.equal(column('f64').get(0), 1.5);
    assert.equal(column('f32').get(0), Math.fround(0.1));
    assert.equal(column('flag').get(0), true);
    assert.equal(column('s').get(0), 'say "hi",\ntab\tit\'s');
    assert.equal(column('d').data[0]!.values[0], 19782);
    assert.equal(column('ts').data[0]!.values[0], 1704164645123456n);
    assert.deepEqual([...column('tags').get(0)], ['a', null]);
    assert.deepEqual(column('point').get(0).toJSON(), { x: 1, y: 'z' });
    assert.deepEqual(column('attrs').get(0).toJSON(), { k: 7 });
    assert.deepEqual([...column('b').get(0)], [0, 97, 98]);
    assert.equal(column('id').get(0), '00000000-0000-0000-0000-000000000001');
    assert.equal(column('doc').get(0), '{"a":[1,2]}');
    for (const name of NAMES.filter((name) => name !== 'i64')) assert.equal(column(name).get(1), null, name);
  });

  test('a stream becomes one record batch per chunk; an empty result still has its schema', async () => {
    const stream = await streamQuery(fixture.storage, await fixture.guard('SELECT x, x::VARCHAR AS s FROM range(5000) t(x)'));
    const table = tableFromIPC(await collectOutput(encodeArrow(stream)));
    assert.equal(table.numRows, 5000);
    assert.ok(table.batches.length > 1);
    assert.equal(table.getChild('s')!.get(4999), '4999');
    const empty = tableFromIPC(await collectOutput(encodeArrow(inputFromResult(await runQuery(fixture.storage, await fixture.guard('SELECT 1 AS a WHERE false'))))));
    assert.equal(empty.numRows, 0);
    assert.deepEqual(empty.schema.fields.map((field) => field.name), ['a']);
  });
});

describe('Parquet', () => {
  async function readParquet(bytes: Buffer): Promise<QueryResult> {
    const path = join(fixture.storage.spoolDir, `readback-${Math.random().toString(36).slice(2)}.parquet`);
    await writeFile(path, bytes);
    // Reading the spool folder is how the server itself reads uploads; user SQL never gets here.
    return runQuery(fixture.storage, { sql: `SELECT * FROM read_parquet('${path}')`, tables: [] });
  }

  test('DuckDB reads back the same rows, 128-bit integers exact', async () => {
    const bytes = await collectOutput(encodeParquet(fixture.storage, allTypes));
    assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
    const original = await runQuery(fixture.storage, allTypes);
    const readBack = await readParquet(bytes);
    assert.deepEqual(readBack.columns.map((column) => column.name), NAMES);
    assert.deepEqual(
      readBack.rows.map((row) => renderJsonRow(NAMES, row)),
      original.rows.map((row) => renderJsonRow(NAMES, row)),
    );
  });

  test('maxRows limits the rows written, and the spool file is removed', async () => {
    const bytes = await collectOutput(encodeParquet(fixture.storage, await fixture.guard('SELECT * FROM range(100) t(x)'), { maxRows: 3 }));
    assert.deepEqual((await readParquet(bytes)).rows, [[0n], [1n], [2n]]);
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual((await readdir(fixture.storage.spoolDir)).filter((name) => name.startsWith('query-')), []);
  });
});
