import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { useTinybirdSuite } from '../../helpers/tinybird-suite.ts';

const SCHEMA = 'id Int64 `json:$.id`, price Decimal(10, 2) `json:$.price`, day Date `json:$.day`, tags Array(String) `json:$.tags[:]`';
const EXPECTED = [
  { id: 1, price: 9.99, day: '2024-03-01', tags: ['a', 'b'] },
  { id: 2, price: 0.5, day: '2024-03-02', tags: [] },
];

describe('every file format, plain and gzipped, through the Data Sources API', () => {
  const suite = useTinybirdSuite();
  let parquet: Buffer;
  before(async () => {
    const path = `${suite.server.core.storage.spoolDir}/formats.parquet`;
    await suite.server.core.storage.query(
      `COPY (SELECT * FROM (VALUES (1, 9.99, DATE '2024-03-01', ['a', 'b']), (2, 0.5, DATE '2024-03-02', []::VARCHAR[])) t(id, price, day, tags)) TO '${path}' (FORMAT parquet)`,
    );
    parquet = await readFile(path);
  });

  const FILES: Record<string, () => string | Buffer> = {
    csv: () => 'id,price,day,tags\n1,9.99,2024-03-01,"[""a"",""b""]"\n2,0.5,2024-03-02,[]\n',
    ndjson: () => '{"id": 1, "price": "9.99", "day": "2024-03-01", "tags": ["a", "b"]}\n{"id": 2, "price": 0.5, "day": "2024-03-02", "tags": []}\n',
    parquet: () => parquet,
  };

  for (const format of ['csv', 'ndjson', 'parquet']) {
    for (const packing of ['plain', 'gzip by name', 'gzip by magic bytes']) {
      test(`${format}, ${packing}: rows, types and counts`, async () => {
        const name = `${format}_${packing.replaceAll(' ', '_')}`;
        const schema = format === 'csv' ? SCHEMA.replace(/ `json:[^`]*`/g, '') : SCHEMA;
        assert.equal((await suite.tb.form(`/v0/datasources?name=${name}&format=${format}`, { schema })).status, 200);
        const raw = FILES[format]!();
        const body = packing === 'plain' ? raw : gzipSync(raw);
        const fileName = packing === 'gzip by name' ? `data.${format}.gz` : `data.${format === 'ndjson' ? 'bin' : 'dat'}`;
        const response = await suite.tb.upload(`name=${name}&mode=append&format=${format}`, format, fileName, body);
        const result = await response.json();
        assert.equal(response.status, 200, JSON.stringify(result));
        assert.deepEqual([result.successful_rows, result.quarantine_rows, result.invalid_lines], [2, 0, 0]);
        assert.deepEqual(result.datasource.columns.map((column: { type: string }) => column.type), ['Int64', 'Decimal(10, 2)', 'Date', 'Array(String)']);
        assert.deepEqual(await suite.tb.sql(`SELECT id, price, day, tags FROM ${name} ORDER BY id`), EXPECTED);
      });
    }
  }

  test('broken CSV quoting is quarantined as an invalid line while the good rows load', async () => {
    await suite.tb.form('/v0/datasources?name=quoting', { schema: 'id Int32, note String' });
    const response = await suite.tb.upload('name=quoting&mode=append', 'csv', 'q.csv', '1,"fine"\n2,"broken\n');
    const result = await response.json();
    assert.equal(response.status, 200);
    assert.deepEqual([result.successful_rows, result.invalid_lines], [1, 1]);
    const [row] = await suite.tb.sql<{ c__error: string[] }>('SELECT c__error FROM quoting_quarantine');
    assert.match(row!.c__error[0]!, /line 2: .*: 2,"broken/);
  });

  test("a date or time outside its ClickHouse type's range is quarantined saying so, from a typed Parquet column and the Events API as from CSV", async () => {
    const path = `${suite.server.core.storage.spoolDir}/ranges.parquet`;
    await suite.server.core.storage.query(
      `COPY (SELECT * FROM (VALUES (1, DATE '2024-03-01', TIMESTAMP '2024-03-01 10:00:00'), (2, DATE '2150-01-01', TIMESTAMP '1960-01-01 00:00:00')) t(id, day, seen)) TO '${path}' (FORMAT parquet)`,
    );
    const schema = 'id Int32 `json:$.id`, day Date `json:$.day`, seen DateTime `json:$.seen`';
    await suite.tb.form('/v0/datasources?name=ranges&format=parquet', { schema });
    const parquet = await (await suite.tb.upload('name=ranges&mode=append&format=parquet', 'parquet', 'ranges.parquet', await readFile(path))).json();
    assert.deepEqual([parquet.successful_rows, parquet.quarantined_rows], [1, 1]);
    const events = await suite.server.fetch('/v0/events?name=ranges&wait=true', { method: 'POST', body: '{"id": 3, "day": "2024-03-02", "seen": 99999999999}\n' });
    assert.deepEqual(await events.json(), { successful_rows: 0, quarantined_rows: 1 });
    assert.deepEqual(await suite.tb.sql('SELECT id, c__error FROM ranges_quarantine ORDER BY id'), [
      { id: '2', c__error: ['column "day": value "2150-01-01" is outside the range of Date (1970-01-01 to 2149-06-06)', 'column "seen": value "1960-01-01 00:00:00" is outside the range of DateTime (1970-01-01 00:00:00 to 2106-02-07 06:28:15)'] },
      { id: '3', c__error: ['column "seen": value "99999999999" is outside the range of DateTime (1970-01-01 00:00:00 to 2106-02-07 06:28:15)'] },
    ]);
    assert.deepEqual(await suite.tb.sql('SELECT id, day, seen FROM ranges'), [{ id: 1, day: '2024-03-01', seen: '2024-03-01 10:00:00' }]);
  });

  test('a JSON column keeps every digit of its numbers, from a large NDJSON file (read by DuckDB) and from the Events API alike', async () => {
    await suite.tb.form('/v0/datasources?name=exact_json&format=ndjson', { schema: 'id Int32 `json:$.id`, j JSON `json:$.j`' });
    const long = '{"n":12345678901234567890.1234567891,"m":[0.12345678901234567891]}';
    const lines = Array.from({ length: 20_000 }, (_, id) => `{"id": ${id}, "j": ${id === 5 ? long : `{"n": ${id}.5}`}}`);
    const file = await (await suite.tb.upload('name=exact_json&mode=append&format=ndjson', 'ndjson', 'exact.ndjson', `${lines.join('\n')}\n`)).json();
    assert.deepEqual([file.successful_rows, file.quarantined_rows], [20_000, 0]);
    const events = await suite.server.fetch('/v0/events?name=exact_json&wait=true', { method: 'POST', body: '{"id": 20000, "j": [98765432109876543210.0123456789]}\n' });
    assert.equal(events.status, 200, await events.clone().text());
    assert.deepEqual(await suite.tb.sql('SELECT id, toString(j) AS j FROM exact_json WHERE id IN (5, 6, 20000) ORDER BY id'), [
      { id: 5, j: long }, { id: 6, j: '{"n":6.5}' }, { id: 20000, j: '[98765432109876543210.0123456789]' },
    ]);
  });
});
