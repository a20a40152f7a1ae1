// Every bad row is quarantined or reported with its column, its value and the reason, never dropped:
// a matrix of dialect × format × kind of badness, checking for each cell the response's counts, the
// quarantine or error report, the good rows of the same request, and that rows in = rows written + rows reported.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { Field, Int32, Int64, List, Struct, Table as ArrowTable, Utf8, tableFromArrays, tableToIPC, vectorFromArray } from 'apache-arrow';
import { useCatalyzedSuite } from '../helpers/catalyzed-suite.ts';
import { encodeRows } from '../helpers/catalyzed-client.ts';
import { useTinybirdSuite } from '../helpers/tinybird-suite.ts';
import type { TinybirdSuite } from '../helpers/tinybird-suite.ts';
import { felderaError, useFelderaSuite } from '../dialects/feldera/feldera-fixture.ts';

// ---------------------------------------------------------------------------------------------
// Tinybird: one data source per transport, one column per type family; each bad row has one bad value.

const TB_COLUMNS: Array<[string, string]> = [
  ['id', 'Int32'], ['i64', 'Int64'], ['u8', 'UInt8'], ['d', 'Date'], ['ts', 'DateTime'], ['dec', 'Decimal(10, 2)'], ['b', 'Bool'],
  ['uid', 'UUID'], ['fs', 'FixedString(3)'], ['j', 'JSON'], ['arr', 'Array(Int32)'], ['m', 'Map(String, Int32)'], ['s', 'String'],
];
/** A good value of each column: as CSV text and as raw JSON. */
const TB_GOOD: Record<string, { csv: string; json: string }> = {
  i64: { csv: '5', json: '5' }, u8: { csv: '7', json: '7' }, d: { csv: '2024-01-01', json: '"2024-01-01"' },
  ts: { csv: '2024-01-01 10:00:00', json: '"2024-01-01 10:00:00"' }, dec: { csv: '1.25', json: '1.25' }, b: { csv: 'true', json: 'true' },
  uid: { csv: '550e8400-e29b-41d4-a716-446655440000', json: '"550e8400-e29b-41d4-a716-446655440000"' }, fs: { csv: 'abc', json: '"abc"' },
  j: { csv: '{"a":1}', json: '{"a":1}' }, arr: { csv: '[1,2]', json: '[1,2]' }, m: { csv: '{"k":1}', json: '{"k":1}' }, s: { csv: 'x', json: '"x"' },
};

interface BadValue {
  what: string;
  column: string;
  /** The CSV field (undefined: no CSV case); '' is an unquoted empty field, NULL. */
  csv?: string;
  /** The raw JSON value (undefined: no NDJSON case; null: the key is left out). */
  json?: string | null;
  /** The text the quarantine keeps for the value (when not the CSV field or the JSON string's content). */
  text?: string | null;
  reason: RegExp;
}

const TB_BAD: BadValue[] = [
  { what: 'integer overflow', column: 'i64', csv: '9223372036854775808', json: '9223372036854775808', reason: /is not a valid Int64/ },
  { what: 'unsigned negative', column: 'u8', csv: '-1', json: '-1', reason: /is not a valid UInt8/ },
  { what: 'unsigned overflow', column: 'u8', csv: '256', json: '256', reason: /is not a valid UInt8/ },
  { what: 'bad date', column: 'd', csv: '2024-02-30', json: '"2024-02-30"', reason: /is not a valid Date/ },
  { what: 'bad timestamp', column: 'ts', csv: '2024-01-01 25:00:00', json: '"2024-01-01 25:00:00"', reason: /is not a valid DateTime/ },
  { what: 'bad decimal', column: 'dec', csv: '1.2.3', json: '"1.2.3"', reason: /is not a valid Decimal\(10, 2\)/ },
  { what: 'decimal overflow', column: 'dec', csv: '123456789012.5', json: '123456789012.5', reason: /is not a valid Decimal\(10, 2\)/ },
  { what: 'bad bool', column: 'b', csv: 'maybe', json: '"maybe"', reason: /is not a valid Bool/ },
  { what: 'bad UUID', column: 'uid', csv: 'not-a-uuid', json: '"not-a-uuid"', reason: /is not a valid UUID/ },
  { what: 'too-long FixedString', column: 'fs', csv: 'abcd', json: '"abcd"', reason: /is 4 bytes, longer than the 3 of FixedString\(3\)/ },
  { what: 'bad JSON in a JSON column', column: 'j', csv: '{"a":', reason: /is not a valid JSON/ },
  { what: 'bad array element', column: 'arr', csv: '[1,"x"]', json: '[1,"x"]', reason: /is not a valid Array\(Int32\)/ },
  { what: 'bad map value', column: 'm', csv: '{"k":"x"}', json: '{"k":"x"}', reason: /is not a valid Map\(String, Int32\)/ },
  { what: 'NULL into a non-Nullable column', column: 'i64', csv: '', json: 'null', text: null, reason: /missing and the column is not nullable/ },
  { what: 'a missing required column', column: 'u8', json: null, text: null, reason: /missing and the column is not nullable/ },
];

const csvField = (text: string) => (/[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
const TB_SCHEMA_CSV = TB_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ');
const TB_SCHEMA_NDJSON = TB_COLUMNS.map(([name, type]) => `${name} ${type} \`json:$.${name}${type.startsWith('Array') ? '[:]' : ''}\``).join(', ');

function tbCsvLine(id: number, bad?: BadValue): string {
  return [String(id), ...TB_COLUMNS.slice(1).map(([name]) => csvField(bad?.column === name ? bad.csv! : TB_GOOD[name]!.csv))].join(',');
}
function tbJsonLine(id: number, bad?: BadValue): string {
  const fields = TB_COLUMNS.slice(1).flatMap(([name]) => {
    if (bad?.column !== name) return [`"${name}":${TB_GOOD[name]!.json}`];
    return bad.json === null ? [] : [`"${name}":${bad.json}`];
  });
  return `{"id":${id},${fields.join(',')}}`;
}

/** A body of good rows 1 and 1000, a bad row 100+i per case, and the unparseable lines; with what each should give. */
function tbBody(format: 'csv' | 'ndjson') {
  const cases = TB_BAD.filter((bad) => (format === 'csv' ? bad.csv !== undefined : bad.json !== undefined));
  const lines = [format === 'csv' ? tbCsvLine(1) : tbJsonLine(1)];
  cases.forEach((bad, index) => lines.push(format === 'csv' ? tbCsvLine(100 + index, bad) : tbJsonLine(100 + index, bad)));
  lines.push(format === 'csv' ? tbCsvLine(1000) : tbJsonLine(1000));
  const unparseable = format === 'csv'
    ? [`${tbCsvLine(900)},extra`, `901,5,"never closed`] // more fields than columns; a quote never closed (last: it takes the rest)
    : ['{"id": 902, "i64": ', '[903, 5]', '904', '"a string"', 'not json at all'];
  lines.push(...unparseable);
  return { body: lines.join('\n') + '\n', cases, unparseable };
}

const expectedText = (bad: BadValue, format: 'csv' | 'ndjson'): string | null => {
  if (bad.text !== undefined) return bad.text;
  if (format === 'csv') return bad.csv!;
  const raw = bad.json!;
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
};

type Quarantined = Record<string, unknown> & { c__error_column: string[]; c__error: string[]; c__import_id: string };

/** Checks a data source after one import of `tbBody(format)`, given the counts the import answered. */
async function checkTinybird(suite: TinybirdSuite, name: string, format: 'csv' | 'ndjson', counts: { successful: number; quarantined: number; invalid?: number }, importId?: string) {
  const { cases, unparseable } = tbBody(format);
  assert.deepEqual(
    [counts.successful, counts.quarantined, counts.invalid],
    [2, counts.invalid === undefined ? cases.length + unparseable.length : cases.length, counts.invalid === undefined ? undefined : unparseable.length],
  );
  assert.deepEqual((await suite.tb.sql<{ id: number }>(`SELECT id FROM ${name} ORDER BY id`)).map((row) => row.id), [1, 1000]);
  const quarantine = await suite.tb.sql<Quarantined>(`SELECT * FROM ${name}_quarantine`);
  // Nothing is dropped: every line sent is in the table or in the quarantine.
  assert.equal(2 + quarantine.length, cases.length + 2 + unparseable.length);
  for (const [index, bad] of cases.entries()) {
    const row = quarantine.find((entry) => entry['id'] === String(100 + index));
    assert.ok(row, `${bad.what}: no quarantine row`);
    const text = expectedText(bad, format);
    assert.deepEqual(row.c__error_column, [bad.column], bad.what);
    assert.equal(row[bad.column], text, `${bad.what}: the original value`);
    assert.equal(row.c__error.length, 1, bad.what);
    assert.ok(row.c__error[0]!.startsWith(`column "${bad.column}": value ${text === null ? 'is' : `"${text}"`}`), `${bad.what}: ${row.c__error[0]}`);
    assert.match(row.c__error[0]!, bad.reason, bad.what);
    if (importId) assert.equal(row.c__import_id, importId);
  }
  const lineRows = quarantine.filter((entry) => entry.c__error_column.length === 0);
  assert.equal(lineRows.length, unparseable.length);
  for (const line of unparseable) {
    const shown = line.includes('never closed') ? '901,5,"never closed' : line;
    assert.ok(lineRows.some((entry) => entry.c__error[0]!.includes(shown)), `the invalid line ${line} is quarantined with its text: ${JSON.stringify(lineRows)}`);
  }
}

describe('Tinybird: every bad value and line is quarantined with its column, value and reason', () => {
  const suite = useTinybirdSuite();
  const contentTypes = { csv: 'text/csv', ndjson: 'application/x-ndjson' };

  for (const format of ['csv', 'ndjson'] as const) {
    const schema = format === 'csv' ? TB_SCHEMA_CSV : TB_SCHEMA_NDJSON;

    test(`${format}, multipart file`, async () => {
      const name = `bad_${format}_multipart`;
      assert.equal((await suite.tb.form(`/v0/datasources?name=${name}&format=${format}`, { schema })).status, 200);
      const response = await suite.tb.upload(`mode=append&name=${name}&format=${format}`, format, `data.${format}`, tbBody(format).body);
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.error, `There was an error with file contents: ${body.quarantine_rows} rows in quarantine and ${body.invalid_lines} invalid lines.`);
      await checkTinybird(suite, name, format, { successful: body.successful_rows, quarantined: body.quarantine_rows, invalid: body.invalid_lines }, body.import_id);
    });

    test(`${format}, raw body`, async () => {
      const name = `bad_${format}_raw`;
      assert.equal((await suite.tb.form(`/v0/datasources?name=${name}&format=${format}`, { schema })).status, 200);
      const response = await suite.server.fetch(`/v0/datasources?mode=append&name=${name}&format=${format}`, {
        method: 'POST', headers: { 'content-type': contentTypes[format] }, body: tbBody(format).body,
      });
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      await checkTinybird(suite, name, format, { successful: body.successful_rows, quarantined: body.quarantine_rows, invalid: body.invalid_lines }, body.import_id);
    });

    test(`${format}, URL import`, async () => {
      const name = `bad_${format}_url`;
      assert.equal((await suite.tb.form(`/v0/datasources?name=${name}&format=${format}`, { schema })).status, 200);
      const url = suite.files.serve(`/bad.${format}`, tbBody(format).body);
      const started = await (await suite.tb.form(`/v0/datasources?mode=append&name=${name}&format=${format}`, { url })).json();
      const job = await suite.tb.waitForJob(started.id);
      assert.equal(job['status'], 'done', JSON.stringify(job));
      const statistics = job['statistics'] as { row_count: number };
      await checkTinybird(suite, name, format, { successful: statistics.row_count, quarantined: job['quarantine_rows'] as number, invalid: job['invalid_lines'] as number }, started.import_id);
    });
  }

  test('ndjson, Events API', async () => {
    const name = 'bad_ndjson_events';
    assert.equal((await suite.tb.form(`/v0/datasources?name=${name}&format=ndjson`, { schema: TB_SCHEMA_NDJSON })).status, 200);
    const response = await suite.server.fetch(`/v0/events?name=${name}&wait=true`, { method: 'POST', body: tbBody('ndjson').body });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    // The Events API answers one count for bad values and unparseable lines together.
    await checkTinybird(suite, name, 'ndjson', { successful: body.successful_rows, quarantined: body.quarantined_rows });
  });

  test('parquet of text columns, multipart file: the CSV texts are judged alike', async () => {
    const name = 'bad_parquet_text';
    assert.equal((await suite.tb.form(`/v0/datasources?name=${name}&format=parquet`, { schema: TB_SCHEMA_CSV })).status, 200);
    const cases = TB_BAD.filter((bad) => bad.csv !== undefined);
    const rows = [1, ...cases.map((_, index) => 100 + index), 1000].map((id, index) => {
      const bad = id >= 100 && id < 1000 ? cases[index - 1] : undefined;
      return [String(id), ...TB_COLUMNS.slice(1).map(([column]) => (bad?.column === column ? (bad.csv === '' ? null : bad.csv!) : TB_GOOD[column]!.csv))];
    });
    const parquet = await parquetFile(suite, 'bad_text.parquet', `SELECT * FROM (VALUES ${rows.map((row) => `(${row.map(sqlText).join(', ')})`).join(', ')}) t(${TB_COLUMNS.map(([column]) => column).join(', ')})`);
    const response = await suite.tb.upload(`mode=append&name=${name}&format=parquet`, 'parquet', 'bad.parquet', parquet);
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual([body.successful_rows, body.quarantine_rows, body.invalid_lines], [2, cases.length, 0]);
    assert.deepEqual((await suite.tb.sql<{ id: number }>(`SELECT id FROM ${name} ORDER BY id`)).map((row) => row.id), [1, 1000]);
    const quarantine = await suite.tb.sql<Quarantined>(`SELECT * FROM ${name}_quarantine`);
    assert.equal(quarantine.length, cases.length);
    for (const [index, bad] of cases.entries()) {
      const row = quarantine.find((entry) => entry['id'] === String(100 + index))!;
      const text = bad.csv === '' ? null : bad.csv!;
      assert.deepEqual(row.c__error_column, [bad.column], bad.what);
      assert.equal(row[bad.column], text, bad.what);
      assert.match(row.c__error[0]!, bad.reason, bad.what);
      assert.ok(row.c__error[0]!.startsWith(`column "${bad.column}": value ${text === null ? 'is' : `"${text}"`}`), `${bad.what}: ${row.c__error[0]}`);
    }
  });

  // A Parquet column whose own type does not fit the data source's column.
  const PARQUET_TYPED: Array<{ what: string; type: string; parquetType: string; good: string[]; bad: string[]; texts: string[]; reason: RegExp }> = [
    { what: 'DOUBLE with a fraction into Int32', type: 'Int32', parquetType: 'DOUBLE', good: [], bad: ['27.5'], texts: ['27.5'], reason: /is not a valid Int32/ },
    { what: 'BIGINT past UInt8', type: 'UInt8', parquetType: 'BIGINT', good: ['7'], bad: ['300', '-1'], texts: ['300', '-1'], reason: /is not a valid UInt8/ },
    { what: 'BIGINT past Int32', type: 'Int32', parquetType: 'BIGINT', good: ['7'], bad: ['2147483648'], texts: ['2147483648'], reason: /is not a valid Int32/ },
    { what: 'VARCHAR into Date', type: 'Date', parquetType: 'VARCHAR', good: [`'2024-01-01'`], bad: [`'soon'`], texts: ['soon'], reason: /is not a valid Date/ },
    { what: 'INTEGER 2 into Bool', type: 'Bool', parquetType: 'INTEGER', good: [], bad: ['2'], texts: ['2'], reason: /is not a valid Bool/ },
    { what: 'a list of text into Array(Int32)', type: 'Array(Int32)', parquetType: 'VARCHAR[]', good: [`['1', '2']`], bad: [`['1', 'x']`], texts: ['["1","x"]'], reason: /is not a valid Array\(Int32\)/ },
    { what: 'a map of text into Map(String, Int32)', type: 'Map(String, Int32)', parquetType: 'MAP(VARCHAR, VARCHAR)', good: [`MAP {'k': '1'}`], bad: [`MAP {'k': 'x'}`], texts: ['{"k":"x"}'], reason: /is not a valid Map\(String, Int32\)/ },
    { what: 'a struct into Int32', type: 'Int32', parquetType: 'STRUCT(a INTEGER)', good: [], bad: [`{'a': 1}`], texts: ['{"a":1}'], reason: /is not a valid Int32/ },
    { what: 'a BLOB into Int32', type: 'Int32', parquetType: 'BLOB', good: [], bad: [`'\\x01\\x02'::BLOB`], texts: ['\\x01\\x02'], reason: /is not a valid Int32/ },
    { what: 'NULL into Int64', type: 'Int64', parquetType: 'BIGINT', good: ['5'], bad: ['NULL'], texts: [null as unknown as string], reason: /missing and the column is not nullable/ },
  ];
  for (const [index, cell] of PARQUET_TYPED.entries()) {
    test(`parquet column of another type: ${cell.what}`, async () => {
      const name = `bad_parquet_typed_${index}`;
      assert.equal((await suite.tb.form(`/v0/datasources?name=${name}&format=parquet`, { schema: `id Int32, v ${cell.type}` })).status, 200);
      const values = [...cell.good.map((value, i) => [i + 1, value] as const), ...cell.bad.map((value, i) => [100 + i, value] as const)];
      const parquet = await parquetFile(suite, `${name}.parquet`, `SELECT * FROM (VALUES ${values.map(([id, value]) => `(${id}, CAST(${value} AS ${cell.parquetType}))`).join(', ')}) t(id, v)`);
      const response = await suite.tb.upload(`mode=append&name=${name}&format=parquet`, 'parquet', 'typed.parquet', parquet);
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.deepEqual([body.successful_rows, body.quarantine_rows], [cell.good.length, cell.bad.length]);
      assert.equal((await suite.tb.sql<{ n: number }>(`SELECT count() AS n FROM ${name}`))[0]!.n, cell.good.length);
      const quarantine = await suite.tb.sql<Quarantined>(`SELECT * FROM ${name}_quarantine ORDER BY id`);
      assert.deepEqual(quarantine.map((row) => [row['id'], row['v'], row.c__error_column]), cell.bad.map((_, i) => [String(100 + i), cell.texts[i], ['v']]));
      for (const row of quarantine) {
        assert.match(row.c__error[0]!, cell.reason);
        assert.ok(row.c__error[0]!.startsWith(`column "v": value ${row['v'] === null ? 'is' : `"${row['v']}"`}`), row.c__error[0]);
      }
    });
  }
});

const sqlText = (value: string | null) => (value === null ? 'NULL' : `'${value.replaceAll("'", "''")}'`);

async function parquetFile(suite: TinybirdSuite, fileName: string, select: string): Promise<Buffer> {
  const path = `${suite.server.core.storage.spoolDir}/${fileName}`;
  await suite.server.core.storage.query(`COPY (${select}) TO '${path}' (FORMAT parquet)`);
  return readFile(path);
}

// ---------------------------------------------------------------------------------------------
// Feldera: a push keeps its good records and answers 400 ParseErrors naming each bad one.

const FD_COLUMNS: Array<[string, string]> = [
  ['id', 'INT NOT NULL'], ['i64', 'BIGINT NOT NULL'], ['i8', 'TINYINT'], ['d', 'DATE'], ['ts', 'TIMESTAMP'], ['dec', 'DECIMAL(10, 2)'], ['b', 'BOOLEAN'],
  ['uid', 'UUID'], ['v', 'VARIANT'], ['arr', 'INT ARRAY'], ['m', 'MAP<VARCHAR, INT>'], ['s', 'VARCHAR'],
];
const FD_GOOD: Record<string, { csv: string; json: string }> = {
  i64: { csv: '5', json: '5' }, i8: { csv: '7', json: '7' }, d: { csv: '2024-01-01', json: '"2024-01-01"' },
  ts: { csv: '2024-01-01 10:00:00', json: '"2024-01-01 10:00:00"' }, dec: { csv: '1.25', json: '1.25' }, b: { csv: 'true', json: 'true' },
  uid: { csv: '550e8400-e29b-41d4-a716-446655440000', json: '"550e8400-e29b-41d4-a716-446655440000"' }, v: { csv: '{"a":1}', json: '{"a":1}' },
  arr: { csv: '[1,2]', json: '[1,2]' }, m: { csv: '{"k":1}', json: '{"k":1}' }, s: { csv: 'x', json: '"x"' },
};
const FD_BAD: BadValue[] = [
  { what: 'integer overflow', column: 'i64', csv: '9223372036854775808', json: '9223372036854775808', reason: /is not a valid BIGINT/ },
  { what: 'small integer overflow', column: 'i8', csv: '128', json: '128', reason: /is not a valid TINYINT/ },
  { what: 'bad date', column: 'd', csv: '2024-02-30', json: '"2024-02-30"', reason: /is not a valid DATE/ },
  { what: 'bad timestamp', column: 'ts', csv: '2024-01-01 25:00:00', json: '"2024-01-01 25:00:00"', reason: /is not a valid TIMESTAMP/ },
  { what: 'bad decimal', column: 'dec', csv: '1.2.3', json: '"1.2.3"', reason: /is not a valid DECIMAL\(10, ?2\)/ },
  { what: 'decimal overflow', column: 'dec', csv: '123456789012.5', json: '123456789012.5', reason: /is not a valid DECIMAL\(10, ?2\)/ },
  // In JSON a boolean is true or false: a string is of the wrong kind, whatever its text.
  { what: 'bad bool', column: 'b', csv: 'maybe', json: '"maybe"', reason: /is not a valid BOOLEAN|value "maybe" is a string, not true or false/ },
  { what: 'bad UUID', column: 'uid', csv: 'not-a-uuid', json: '"not-a-uuid"', reason: /is not a valid UUID/ },
  { what: 'bad JSON in a VARIANT column', column: 'v', csv: '{"a":', reason: /is not a valid VARIANT/ },
  { what: 'bad array element', column: 'arr', csv: '[1,"x"]', json: '[1,"x"]', reason: /is not a valid INT(EGER)? ARRAY/ },
  { what: 'bad map value', column: 'm', csv: '{"k":"x"}', json: '{"k":"x"}', reason: /is not a valid MAP<VARCHAR, ?INT(EGER)?>/ },
  { what: 'NULL into a NOT NULL column', column: 'i64', csv: '', json: 'null', text: null, reason: /missing/ },
  { what: 'a missing required column', column: 'i64', json: null, text: null, reason: /missing/ },
];
const FD_FORMATS = {
  csv: (row: string) => row,
  insert_delete: (row: string) => `{"insert": ${row}}`,
  raw: (row: string) => row,
  weighted: (row: string) => `{"weight": 1, "data": ${row}}`,
  debezium: (row: string) => `{"payload": {"op": "c", "after": ${row}}}`,
} as const;

function fdRow(format: keyof typeof FD_FORMATS, id: number, bad?: BadValue): string {
  if (format === 'csv') return [String(id), ...FD_COLUMNS.slice(1).map(([name]) => csvField(bad?.column === name ? bad.csv! : FD_GOOD[name]!.csv))].join(',');
  const fields = FD_COLUMNS.slice(1).flatMap(([name]) => {
    if (bad?.column !== name) return [`"${name}":${FD_GOOD[name]!.json}`];
    return bad.json === null ? [] : [`"${name}":${bad.json}`];
  });
  return FD_FORMATS[format](`{"id":${id},${fields.join(',')}}`);
}

type FelderaParseError = { description: string; event_number: number; field: string | null; invalid_text: string | null };

describe('Feldera: every bad record of a push is reported with its field, text and reason, and the good ones are kept', () => {
  const suite = useFelderaSuite();
  for (const keyed of [false, true]) {
    for (const format of Object.keys(FD_FORMATS) as Array<keyof typeof FD_FORMATS>) {
      test(`${format === 'csv' ? 'csv' : `json, update_format=${format}`}, ${keyed ? 'keyed table' : 'table without a key'}`, async () => {
        const pipeline = `bad_${format}_${keyed ? 'keyed' : 'plain'}`;
        const columns = FD_COLUMNS.map(([name, type]) => `${name} ${type}${keyed && name === 'id' ? ' PRIMARY KEY' : ''}`).join(', ');
        await suite.client.pipeline(pipeline, `CREATE TABLE t (${columns});`);
        const cases = FD_BAD.filter((bad) => (format === 'csv' ? bad.csv !== undefined : bad.json !== undefined));
        const records = [fdRow(format, 1), ...cases.map((bad, index) => fdRow(format, 100 + index, bad))];
        // A CSV record that stops early leaves the NOT NULL i64 without a value.
        if (format === 'csv') records.push('150');
        records.push(fdRow(format, 1000));
        const unparseable = format === 'csv' ? ['901,5,"never closed'] : ['{"insert": {"id": 902,', '42', '"a string"', 'not json'];
        records.push(...unparseable);
        const query = format === 'csv' ? 'format=csv' : `format=json&update_format=${format}`;
        const error = await felderaError(await suite.client.push(pipeline, 't', records.join('\n') + '\n', query), 400, 'ParseErrors');
        const details = error.details as { num_errors: number; errors: FelderaParseError[] };
        const expectedBad = cases.length + (format === 'csv' ? 1 : 0) + unparseable.length;
        assert.equal(details.num_errors, expectedBad, JSON.stringify(details.errors));
        assert.equal(details.errors.length, expectedBad);
        assert.match(error.message, new RegExp(`\\(${expectedBad} errors\\)`));
        const kept = await suite.client.rows(pipeline, 'SELECT id FROM t ORDER BY id');
        assert.deepEqual(kept.map((row) => row['id']), [1, 1000]);
        // Nothing is dropped: every record is in the table or in the report.
        assert.equal(kept.length + details.num_errors, records.length);
        for (const [index, bad] of cases.entries()) {
          const reported = details.errors.find((entry) => entry.event_number === index + 2);
          assert.ok(reported, `${bad.what}: not reported`);
          assert.equal(reported.field, bad.column, bad.what);
          const text = bad.text !== undefined ? bad.text : expectedText(bad, format === 'csv' ? 'csv' : 'ndjson');
          if (text !== null) assert.equal(reported.invalid_text, text, bad.what);
          assert.match(reported.description, bad.reason, `${bad.what}: ${reported.description}`);
          assert.match(reported.description, new RegExp(`"${bad.column}"`), `${bad.what}: the description names the column: ${reported.description}`);
        }
        if (format === 'csv') {
          const short = details.errors.find((entry) => entry.event_number === cases.length + 2)!;
          assert.deepEqual([short.field, short.description.includes('missing')], ['i64', true], JSON.stringify(short));
        }
        const firstUnparseable = records.length - unparseable.length + 1;
        for (const [index, line] of unparseable.entries()) {
          const reported = details.errors.find((entry) => entry.event_number === firstUnparseable + index);
          assert.ok(reported, `the unparseable record ${line} is reported: ${JSON.stringify(details.errors)}`);
          assert.ok(reported.invalid_text?.includes(line.replace(/,$/, '')), `the record's text: ${JSON.stringify(reported)}`);
          assert.ok(reported.description.length > 0);
        }
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Catalyzed: a value that cannot be coerced rejects the whole request, naming the row, column, value and reason.

const CZ_FIELDS = [
  { name: 'id', arrowType: 'int64', nullable: false }, { name: 'i64', arrowType: 'int64', nullable: false }, { name: 'u8', arrowType: 'uint8' },
  { name: 'i8', arrowType: 'int8' }, { name: 'd', arrowType: 'date32' }, { name: 'ts', arrowType: 'timestamp[ms]' }, { name: 'dec', arrowType: 'decimal128(10, 2)' },
  { name: 'b', arrowType: 'bool' }, { name: 'arr', arrowType: 'list<int32>' }, { name: 'm', arrowType: 'map<utf8, int32>' }, { name: 's', arrowType: 'utf8' },
];
/** Good values as text (CSV, and string columns of Parquet and Arrow) and as JSON values. */
const CZ_GOOD: Record<string, { text: string; json: unknown }> = {
  i64: { text: '5', json: 5 }, u8: { text: '7', json: 7 }, i8: { text: '-7', json: -7 }, d: { text: '2024-01-01', json: '2024-01-01' },
  ts: { text: '2024-01-01T10:00:00Z', json: '2024-01-01T10:00:00Z' }, dec: { text: '1.25', json: '1.25' }, b: { text: 'true', json: true },
  arr: { text: '[1,2]', json: [1, 2] }, m: { text: '{"k":1}', json: { k: 1 } }, s: { text: 'x', json: 'x' },
};
interface CzBad { what: string; column: string; text: string | null; json?: unknown; reason: RegExp; jsonOnly?: boolean }
const CZ_BAD: CzBad[] = [
  { what: 'integer overflow', column: 'i64', text: '9223372036854775808', reason: /is not a valid int64/ },
  { what: 'unsigned negative', column: 'u8', text: '-1', json: -1, reason: /is not a valid uint8/ },
  { what: 'small integer overflow', column: 'i8', text: '128', json: 128, reason: /is not a valid int8/ },
  { what: 'bad date', column: 'd', text: '2024-02-30', reason: /is not a valid date32/ },
  { what: 'bad timestamp', column: 'ts', text: '2024-01-01T25:00:00Z', reason: /is not a valid timestamp\[ms\]/ },
  { what: 'bad decimal', column: 'dec', text: '1.2.3', reason: /is not a valid decimal128\(10, ?2\)/ },
  { what: 'decimal overflow', column: 'dec', text: '123456789012.5', reason: /is not a valid decimal128\(10, ?2\)/ },
  { what: 'bad bool', column: 'b', text: 'maybe', reason: /is not a valid bool/ },
  { what: 'bad list element', column: 'arr', text: '[1,"x"]', json: [1, 'x'], reason: /is not a valid list<int32>/ },
  { what: 'bad map value', column: 'm', text: '{"k":"x"}', json: { k: 'x' }, reason: /is not a valid map<utf8, ?int32>/ },
  { what: 'NULL into a non-nullable column', column: 'i64', text: null, json: null, reason: /missing/ },
  { what: 'a missing required column', column: 'i64', text: null, json: undefined, reason: /missing/, jsonOnly: true },
];

describe('Catalyzed: a bad value rejects the whole request, naming each bad row with its column, value and reason', () => {
  const suite = useCatalyzedSuite({ dataset: 'bad_rows' });

  for (const format of ['json', 'csv', 'parquet', 'arrow'] as const) {
    for (const mode of ['append', 'upsert']) {
      test(`${format}, mode=${mode}`, async () => {
        const tableId = await suite.client.createTable(suite.datasetId, `bad_${format}_${mode}`, CZ_FIELDS, ['id']);
        await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 0, i64: 1 }]);
        const cases = CZ_BAD.filter((bad) => format === 'json' || !bad.jsonOnly);
        const row = (id: number, bad?: CzBad) => Object.fromEntries([['id', format === 'json' ? id : String(id)], ...CZ_FIELDS.slice(1).flatMap(({ name }) => {
          if (bad?.column !== name) return [[name, format === 'json' ? CZ_GOOD[name]!.json : CZ_GOOD[name]!.text]];
          if (format !== 'json') return [[name, bad.text]];
          const value = 'json' in bad ? bad.json : bad.text;
          return value === undefined ? [] : [[name, value]];
        })]);
        const rows = [row(1), ...cases.map((bad, index) => row(100 + index, bad)), row(1000)];
        const before = (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body;
        const { status, body } = await suite.client.write(tableId, `mode=${mode}`, await encodeRows(format, rows), CONTENT_TYPES_BY_FORMAT[format]);
        assert.equal(status, 400, JSON.stringify(body));
        assert.equal(body.code, 'VALIDATION_ERROR');
        assert.equal(body.details.invalidRows, cases.length, JSON.stringify(body.details));
        const errors = body.details.errors as Array<{ row: number; columns: string[]; values: Array<string | null>; messages: string[] }>;
        assert.equal(errors.length, cases.length, JSON.stringify(errors));
        for (const [index, bad] of cases.entries()) {
          const reported = errors.find((entry) => entry.row === index + 2);
          assert.ok(reported, `${bad.what}: not reported: ${JSON.stringify(errors)}`);
          assert.deepEqual([reported.columns, reported.values], [[bad.column], [bad.text]], `${bad.what}: ${JSON.stringify(reported)}`);
          assert.match(reported.messages[0]!, bad.reason, `${bad.what}: ${reported.messages[0]}`);
          assert.match(reported.messages[0]!, new RegExp(`"${bad.column}"`), `${bad.what}: the message names the column`);
        }
        // The whole request is refused: nothing of it, good rows included, is written.
        const afterward = (await suite.client.call('GET', `/dataset-tables/${tableId}`)).body;
        assert.deepEqual([afterward.version, afterward.rowCount], [before.version, before.rowCount]);
        assert.deepEqual((await suite.client.rows(tableId)).map((entry) => entry['id']), [0]);
      });
    }
  }

  // A Parquet or Arrow column whose own type does not fit the table's column.
  const TYPED: Array<{ what: string; arrowType: string; arrow: () => Uint8Array; parquet: string; values: Array<string | null>; reason: RegExp }> = [
    {
      what: 'int64 past uint8', arrowType: 'uint8', reason: /is not a valid uint8/, values: ['300', '-1'],
      arrow: () => tableToIPC(tableFromArrays({ id: BigInt64Array.from([1n, 2n, 3n]), v: BigInt64Array.from([7n, 300n, -1n]) }), 'stream'),
      parquet: 'SELECT * FROM (VALUES (1, 7::BIGINT), (2, 300::BIGINT), (3, -1::BIGINT)) t(id, v)',
    },
    {
      what: 'utf8 text into int64', arrowType: 'int64', reason: /is not a valid int64/, values: ['x', '1.5e400'],
      arrow: () => tableToIPC(new ArrowTable({ id: vectorFromArray([1n, 2n, 3n], new Int64()), v: vectorFromArray(['7', 'x', '1.5e400'], new Utf8()) }), 'stream'),
      parquet: `SELECT * FROM (VALUES (1, '7'), (2, 'x'), (3, '1.5e400')) t(id, v)`,
    },
    {
      what: 'a struct into int64', arrowType: 'int64', reason: /is not a valid int64/, values: ['{"a":1}', '{"a":2}'],
      arrow: () => tableToIPC(new ArrowTable({ id: vectorFromArray([2n, 3n], new Int64()), v: vectorFromArray([{ a: 1 }, { a: 2 }], new Struct([new Field('a', new Int32())])) }), 'stream'),
      parquet: `SELECT * FROM (VALUES (2, {'a': 1}), (3, {'a': 2})) t(id, v)`,
    },
    {
      what: 'a list of text into list<int32>', arrowType: 'list<int32>', reason: /is not a valid list<int32>/, values: ['["1","x"]'],
      arrow: () => tableToIPC(new ArrowTable({ id: vectorFromArray([1n, 2n], new Int64()), v: vectorFromArray([['1', '2'], ['1', 'x']], new List(new Field('item', new Utf8(), true))) }), 'stream'),
      parquet: `SELECT * FROM (VALUES (1, ['1', '2']), (2, ['1', 'x'])) t(id, v)`,
    },
  ];
  for (const format of ['arrow', 'parquet'] as const) {
    for (const [index, cell] of TYPED.entries()) {
      test(`${format} column of another type: ${cell.what}`, async () => {
        const tableId = await suite.client.createTable(suite.datasetId, `bad_typed_${format}_${index}`, [{ name: 'id', arrowType: 'int64', nullable: false }, { name: 'v', arrowType: cell.arrowType }]);
        const body = format === 'arrow' ? cell.arrow() : await duckParquet(suite.server.core.storage, `cz_typed_${index}.parquet`, cell.parquet);
        const response = await suite.client.write(tableId, 'mode=append', body, CONTENT_TYPES_BY_FORMAT[format]);
        assert.equal(response.status, 400, JSON.stringify(response.body));
        assert.equal(response.body.details.invalidRows, cell.values.length, JSON.stringify(response.body.details));
        const errors = response.body.details.errors as Array<{ columns: string[]; values: Array<string | null>; messages: string[] }>;
        assert.deepEqual(errors.map((entry) => [entry.columns, entry.values]), cell.values.map((value) => [['v'], [value]]));
        for (const entry of errors) assert.match(entry.messages[0]!, cell.reason);
        assert.deepEqual(await suite.client.rows(tableId), []);
      });
    }
  }
});

const CONTENT_TYPES_BY_FORMAT = { json: 'application/json', csv: 'text/csv', parquet: 'application/parquet', arrow: 'application/vnd.apache.arrow.stream' } as const;

async function duckParquet(storage: TinybirdSuite['server']['core']['storage'], fileName: string, select: string): Promise<Uint8Array> {
  const path = `${storage.spoolDir}/${fileName}`;
  await storage.query(`COPY (${select}) TO '${path}' (FORMAT parquet)`);
  return readFile(path);
}
