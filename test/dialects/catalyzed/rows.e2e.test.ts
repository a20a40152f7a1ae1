import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Field as ArrowField, FixedSizeList, Int32, Struct, Table, tableToIPC, vectorFromArray } from 'apache-arrow';
import { useCatalyzedSuite } from '../../helpers/catalyzed-suite.ts';
import { CONTENT_TYPES, encodeRows, ORDER_FIELDS, type BodyFormat, type Row } from '../../helpers/catalyzed-client.ts';

const FORMATS: BodyFormat[] = ['json', 'csv', 'parquet', 'arrow'];

const SEED: Row[] = [
  { id: 1, name: 'a', amount: 1.5 },
  { id: 2, name: 'b', amount: 2.5 },
];

interface ModeCase {
  mode: string;
  body: Row[];
  counts: { rows_affected: number; rows_inserted: number; rows_updated: number; rows_deleted: number };
  after: Row[];
}

/** Each mode applied to the seeded table, with the response counts and the rows it leaves. */
const MODE_CASES: ModeCase[] = [
  {
    mode: 'append',
    body: [{ id: 3, name: 'c', amount: 3.5 }],
    counts: { rows_affected: 1, rows_inserted: 1, rows_updated: 0, rows_deleted: 0 },
    after: [...SEED, { id: 3, name: 'c', amount: 3.5 }],
  },
  {
    mode: 'upsert',
    body: [{ id: 2, name: 'B', amount: 20 }, { id: 4, name: 'd', amount: 4 }],
    counts: { rows_affected: 2, rows_inserted: 1, rows_updated: 1, rows_deleted: 0 },
    after: [SEED[0]!, { id: 2, name: 'B', amount: 20 }, { id: 4, name: 'd', amount: 4 }],
  },
  {
    mode: 'overwrite',
    body: [{ id: 7, name: 'x', amount: 7 }],
    counts: { rows_affected: 2 + 1, rows_inserted: 1, rows_updated: 0, rows_deleted: 2 },
    after: [{ id: 7, name: 'x', amount: 7 }],
  },
  {
    // Full rows: the key columns are taken from them.
    mode: 'delete',
    body: [{ id: 1, name: 'ignored', amount: 0 }],
    counts: { rows_affected: 1, rows_inserted: 0, rows_updated: 0, rows_deleted: 1 },
    after: [SEED[1]!],
  },
];

describe('Catalyzed row writes: every mode from every body format', () => {
  const suite = useCatalyzedSuite({ dataset: 'rows' });
  let tableCounter = 0;

  async function seededTable(primaryKey: string[] | undefined = ['id']): Promise<string> {
    const tableId = await suite.client.createTable(suite.datasetId, `orders_${(tableCounter += 1)}`, ORDER_FIELDS, primaryKey);
    await suite.client.writeRows(tableId, 'mode=append', 'json', SEED);
    return tableId;
  }

  for (const format of FORMATS) {
    for (const { mode, body, counts, after: expected } of MODE_CASES) {
      test(`mode=${mode} from ${format} changes the rows, reports the counts and bumps dataset_version`, async () => {
        const tableId = await seededTable();
        const response = await suite.client.writeRows(tableId, `mode=${mode}`, format, body);
        assert.deepEqual({ ...response, duration_ms: 0 }, { ...counts, dataset_version: 2, duration_ms: 0, warnings: [], usage: response.usage });
        assert.equal(typeof response.duration_ms, 'number');
        assert.deepEqual(await suite.client.rows(tableId), expected);
      });
    }
  }

  for (const format of ['json', 'csv', 'parquet', 'arrow'] as const) {
    test(`a ${format} field that matches no column is named in warnings, and the rest of the row is written`, async () => {
      const tableId = await seededTable();
      const response = await suite.client.writeRows(tableId, 'mode=append', format, [{ id: 9, NAME: 'n', amount: 9.5, nmae: 'typo' }]);
      assert.deepEqual(response.warnings, ['Field "nmae" matches no column of the table; its values were not written']);
      assert.deepEqual((await suite.client.rows(tableId)).at(-1), { id: 9, name: 'n', amount: 9.5 });
    });
  }

  test('a table of 300 columns takes appended JSON rows and upserted CSV rows, every value in its column and empty CSV fields NULL, and refuses a batch with one bad value naming it', async () => {
    const columns = Array.from({ length: 300 }, (_, index) => `c${index}`);
    const tableId = await suite.client.createTable(suite.datasetId, 'wide', [{ name: 'id', arrowType: 'int64' }, ...columns.map((name) => ({ name, arrowType: 'int64' }))], ['id']);
    const row = (id: number, value: (index: number) => number | null): Row => ({ id, ...Object.fromEntries(columns.map((name, index) => [name, value(index)])) });
    const appended = [1, 2, 3].map((id) => row(id, (index) => id * 1000 + index));
    assert.equal((await suite.client.writeRows(tableId, 'mode=append', 'json', appended)).rows_inserted, 3);
    const upserted = [row(2, (index) => (index % 2 === 0 ? null : -index)), row(4, (index) => index)];
    const response = await suite.client.writeRows(tableId, 'mode=upsert', 'csv', upserted);
    assert.deepEqual([response.rows_inserted, response.rows_updated], [1, 1]);
    assert.deepEqual(await suite.client.rows(tableId), [appended[0], upserted[0], appended[2], upserted[1]]);
    const bad = { ...row(5, (index) => index), c250: 'twelve' };
    const refused = await suite.client.write(tableId, 'mode=append', JSON.stringify([row(6, (index) => index), bad]), 'application/json');
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(refused.body.details.errors.map(({ row, columns, values }: any) => ({ row, columns, values })), [{ row: 2, columns: ['c250'], values: ['twelve'] }]);
    assert.match(refused.body.details.errors[0].messages[0], /column "c250": value "twelve" is not a valid int64/);
    assert.equal((await suite.client.rows(tableId)).length, 4);
  });

  test('each JSON key that matches no column is named once, however many rows have it; keys inside values are not fields', async () => {
    const tableId = await seededTable();
    const body = [
      { id: 10, name: 'a', extra: { nested: 1 } },
      { id: 11, Extra: 2, EXTRA: 3, amount: 1 },
      { id: 12, extra: 'x', note: 'n' },
    ];
    const response = await suite.client.writeRows(tableId, 'mode=append', 'json', body);
    assert.deepEqual(response.warnings, ['extra', 'Extra', 'EXTRA', 'note'].map((field) => `Field "${field}" matches no column of the table; its values were not written`));
    assert.equal(response.rows_inserted, 3);
  });

  test('JSON keys that match no column are named up to 100, then one warning says there were more', async () => {
    const tableId = await seededTable();
    const row = Object.fromEntries([['id', 20], ...Array.from({ length: 150 }, (_, index) => [`unknown_${index}`, index])]);
    const response = await suite.client.writeRows(tableId, 'mode=append', 'json', [row, { ...row, id: 21 }]);
    assert.equal(response.warnings.length, 101);
    assert.equal(response.warnings[99], 'Field "unknown_99" matches no column of the table; its values were not written');
    assert.match(response.warnings[100], /^More fields match no column of the table than the 100 named/);
    assert.equal(response.rows_inserted, 2);
  });

  test('usage reports every storage counter of the seed as 0: a local database file has no object-store operations', async () => {
    const tableId = await seededTable();
    const response = await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 5 }]);
    const names = ['getOptsCold', 'getOptsWarm', 'getRangeCold', 'getRangeWarm', 'getRangesCold', 'getRangesWarm', 'headCold', 'headWarm', 'listCold', 'listWarm',
      'putOperations', 'deleteOperations', 'cacheHitRatePercent', 'readBytesCold', 'readBytesWarm', 'writeBytes'];
    assert.deepEqual(response.usage, Object.fromEntries(names.map((name) => [name, 0])));
  });

  test('dataset_version counts every committed write of the table', async () => {
    const tableId = await seededTable();
    const versions = [];
    for (const mode of ['append', 'upsert', 'delete', 'overwrite']) versions.push((await suite.client.writeRows(tableId, `mode=${mode}`, 'json', [{ id: 9, name: 'n', amount: 1 }])).dataset_version);
    assert.deepEqual(versions, [2, 3, 4, 5]);
    assert.equal((await suite.client.call('GET', `/dataset-tables/${tableId}`)).body.version, 5);
  });

  test('application/csv is CSV too, and column names match the header regardless of case', async () => {
    const tableId = await seededTable();
    const response = await suite.client.write(tableId, 'mode=append', 'ID,Name,AMOUNT\n3,c,3.5\n', 'application/csv');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual((await suite.client.rows(tableId)).at(-1), { id: 3, name: 'c', amount: 3.5 });
  });

  test('JSON keys, Parquet columns and Arrow fields match columns regardless of case', async () => {
    for (const format of ['json', 'parquet', 'arrow'] as const) {
      const tableId = await seededTable();
      await suite.client.writeRows(tableId, 'mode=append', format, [{ ID: 3, NaMe: 'c', Amount: 3.5 }]);
      assert.deepEqual((await suite.client.rows(tableId)).at(-1), { id: 3, name: 'c', amount: 3.5 }, format);
    }
  });

  test('JSON keys that name one column in different cases, none exactly, or one key given twice, are refused naming them, as a CSV header naming a column twice is; an exact key wins over other cases, even holding null', async () => {
    const tableId = await seededTable();
    const refused = await suite.client.write(tableId, 'mode=append', '[{"id": 5, "name": "e"}, {"Id": 3, "ID": 4, "name": "c"}]', 'application/json');
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(refused.body.details.errors.map((error: { row: number; columns: string[]; messages: string[] }) => [error.row, error.columns, error.messages]),
      [[2, ['id'], ['column "id": keys "Id" and "ID" all name it, in different cases; send it once']]]);
    assert.equal((await suite.client.rows(tableId)).length, 2);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 6, NAME: 'upper', name: null }]);
    assert.deepEqual((await suite.client.rows(tableId)).at(-1), { id: 6, name: null, amount: null });
    // One key twice is refused alike: JSON parsers differ on which value counts.
    const twice = await suite.client.write(tableId, 'mode=append', '[{"id": 7, "name": "first", "name": "second"}]', 'application/json');
    assert.equal(twice.status, 400, JSON.stringify(twice.body));
    assert.deepEqual(twice.body.details.errors.map((error: { messages: string[] }) => error.messages), [['column "name": key "name" is given 2 times; send it once']]);
    assert.equal((await suite.client.rows(tableId)).length, 3);
  });

  test('Parquet columns that name one column in different cases are refused naming them, whichever comes first, as Arrow fields are; the exact one alone is read even when DuckDB renames it', async () => {
    // No writer at hand makes such a file (pyarrow and Spark do): one column is renamed in the file's bytes.
    const withNames = async (first: string, second: string) => {
      const file = Buffer.from((await encodeRows('parquet', [{ id: 7, [first.replace('A', 'O')]: 'first', [second]: 'second' }])) as Uint8Array);
      const [from, to] = [Buffer.from(first.replace('A', 'O')), Buffer.from(first)];
      for (let at = file.indexOf(from); at !== -1; at = file.indexOf(from, at + 1)) to.copy(file, at);
      return file;
    };
    for (const [first, second] of [['NAME', 'name'], ['NAMe', 'nAME']] as const) {
      const tableId = await seededTable();
      const refused = await suite.client.write(tableId, 'mode=append', await withNames(first, second), CONTENT_TYPES.parquet);
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.match(refused.body.error, new RegExp(`Column "name" matches 2 fields of the Parquet file \\("${first}", "${second}"\\)`));
      assert.equal((await suite.client.rows(tableId)).length, 2);
    }
    // An exact name among fields differing only in case is not at issue where the match is exact (Tinybird's).
    const created = await suite.server.fetch('/v0/datasources?name=cased_parquet&schema=id%20Int32,name%20String', { method: 'POST' });
    assert.equal(created.status, 200, await created.text());
    const form = new FormData();
    form.append('parquet', new Blob([new Uint8Array(await withNames('NAME', 'name'))]), 'rows.parquet');
    const appended = await suite.server.fetch('/v0/datasources?name=cased_parquet&mode=append&format=parquet', { method: 'POST', body: form });
    assert.equal(appended.status, 200, await appended.text());
    const read = await (await suite.server.fetch(`/v0/sql?q=${encodeURIComponent('SELECT id, name FROM cased_parquet')}`)).json();
    assert.deepEqual(read.data, [{ id: 7, name: 'second' }]);
  });

  test('a JSON body must be an array of rows: a bare row object is a validation error and nothing is written', async () => {
    const tableId = await seededTable();
    const before = await suite.client.rows(tableId);
    const response = await suite.client.write(tableId, 'mode=append', '{"id": 9, "name": "z", "amount": 1}', 'application/json');
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.code, 'VALIDATION_ERROR');
    assert.match(JSON.stringify(response.body), /expected an array of records, found an object/);
    assert.deepEqual(await suite.client.rows(tableId), before);
  });

  test('a JSON row whose bytes are not UTF-8 is refused, not stored with U+FFFD in their place, and nothing is written', async () => {
    const tableId = await seededTable();
    const before = await suite.client.rows(tableId);
    const body = Buffer.concat([Buffer.from('[{"id": 9, "name": "a'), Buffer.from([0xff]), Buffer.from('b", "amount": 1}]')]);
    const response = await suite.client.write(tableId, 'mode=append', new Uint8Array(body), 'application/json');
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.match(JSON.stringify(response.body), /invalid UTF-8/);
    assert.deepEqual(await suite.client.rows(tableId), before);
  });

  test('a delete may list key objects, full rows or bare key values for a one-column key', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'bare_keys', ORDER_FIELDS, ['id']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [1, 2, 3, 4, 5].map((id) => ({ id, name: `n${id}`, amount: id })));
    const byObjects = await suite.client.writeRows(tableId, 'mode=delete', 'json', [{ id: 1 }]);
    const byRows = await suite.client.writeRows(tableId, 'mode=delete', 'json', [{ id: 2, name: 'n2', amount: 2 }]);
    const bare = await suite.client.write(tableId, 'mode=delete', '[3, "4"]', 'application/json');
    assert.deepEqual([byObjects.rows_deleted, byRows.rows_deleted, bare.body.rows_deleted], [1, 1, 2]);
    assert.deepEqual((await suite.client.rows(tableId)).map((row) => row['id']), [5]);
  });

  test('a delete by a two-column key takes key objects; bare values are refused', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'two_keys', [{ name: 'a', arrowType: 'int32' }, { name: 'b', arrowType: 'utf8' }, { name: 'v', arrowType: 'int32' }], ['a', 'b']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ a: 1, b: 'x', v: 1 }, { a: 1, b: 'y', v: 2 }]);
    assert.equal((await suite.client.writeRows(tableId, 'mode=delete', 'csv', [{ a: 1, b: 'y' }])).rows_deleted, 1);
    const bare = await suite.client.write(tableId, 'mode=delete', '[1]', 'application/json');
    assert.equal(bare.status, 400);
    assert.deepEqual(await suite.client.rows(tableId, 'a, b'), [{ a: 1, b: 'x', v: 1 }]);
  });

  test('an upsert replaces whole rows: columns missing from the body become NULL', async () => {
    const tableId = await seededTable();
    await suite.client.writeRows(tableId, 'mode=upsert', 'json', [{ id: 1, name: 'only name' }]);
    assert.deepEqual((await suite.client.rows(tableId))[0], { id: 1, name: 'only name', amount: null });
  });

  test('an overwrite with an empty array empties the table', async () => {
    const tableId = await seededTable();
    const response = await suite.client.writeRows(tableId, 'mode=overwrite', 'json', []);
    assert.deepEqual([response.rows_deleted, response.rows_inserted], [2, 0]);
    assert.deepEqual(await suite.client.rows(tableId), []);
  });

  test('an empty body is a 400 in every mode and format, whether sent with a length or chunked, and the table keeps its rows', async () => {
    const tableId = await seededTable();
    for (const format of FORMATS) {
      for (const chunked of [false, true]) {
        const body = chunked ? new ReadableStream({ start: (controller) => controller.close() }) : '';
        const response = await suite.server.fetch(`/dataset-tables/${tableId}/rows?mode=overwrite`, {
          method: 'POST', headers: { 'content-type': CONTENT_TYPES[format] }, body, ...(chunked && { duplex: 'half' }),
        } as RequestInit);
        const error = (await response.json()) as { error: string; code: string };
        assert.equal(response.status, 400, `${format}, chunked ${chunked}: ${JSON.stringify(error)}`);
        assert.match(error.error, /empty|too small/, format);
      }
    }
    assert.deepEqual(await suite.client.rows(tableId), SEED);
  });

  test('a CSV without its header row, or a Parquet file none of whose columns is the table\'s, is a 400 naming its fields, and writes nothing', async () => {
    const tableId = await seededTable();
    const headerless = await suite.client.write(tableId, 'mode=append', '7,g,7.5\n8,h,8.5\n', CONTENT_TYPES.csv);
    assert.equal(headerless.status, 400, JSON.stringify(headerless.body));
    assert.match(headerless.body.error, /None of the CSV header's fields \("7", "g", "7.5"\) matches a column of the table/);
    const parquet = await encodeRows('parquet', [{ foo: 1, bar: 'x' }]);
    const unrelated = await suite.client.write(tableId, 'mode=overwrite', parquet, CONTENT_TYPES.parquet);
    assert.equal(unrelated.status, 400, JSON.stringify(unrelated.body));
    assert.match(unrelated.body.error, /None of the Parquet file's fields \("foo", "bar"\)/);
    assert.deepEqual(await suite.client.rows(tableId), SEED);
  });

  test('JSON rows none of whose keys is a column are a 400 naming the keys, as a CSV header is, in every mode, and write nothing', async () => {
    const tableId = await seededTable();
    for (const mode of ['append', 'upsert', 'overwrite', 'delete']) {
      const response = await suite.client.write(tableId, `mode=${mode}`, '[{"order_id": 1, "status": "x"}, {}, {"Status": "y"}]', CONTENT_TYPES.json);
      assert.equal(response.status, 400, `${mode}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'VALIDATION_ERROR');
      assert.equal(response.body.error, 'None of the JSON body\'s fields ("order_id", "status", "Status") matches a column of the table');
      assert.deepEqual(response.body.details, { fields: ['order_id', 'status', 'Status'], columns: ['id', 'name', 'amount'] });
    }
    // A key inside a value is not a field; a bare object is refused as not an array, whatever its keys.
    const nested = await suite.client.write(tableId, 'mode=overwrite', '[{"row": {"id": 1}}]', CONTENT_TYPES.json);
    assert.match(nested.body.error, /None of the JSON body's fields \("row"\)/);
    const bare = await suite.client.write(tableId, 'mode=overwrite', '{"order_id": 1}', CONTENT_TYPES.json);
    assert.equal(bare.status, 400);
    assert.match(JSON.stringify(bare.body), /expected an array of records, found an object/);
    assert.deepEqual(await suite.client.rows(tableId), SEED);
  });

  test('JSON rows with one key that is a column anywhere are written, the others warned of; [] and rows of {} name no key and are written as they are', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'keyless_rows', ORDER_FIELDS);
    const some = await suite.client.write(tableId, 'mode=append', '[{"order_id": 1}, {"order_id": 2, "ID": 3}]', CONTENT_TYPES.json);
    assert.equal(some.status, 200, JSON.stringify(some.body));
    assert.deepEqual(some.body.warnings, ['Field "order_id" matches no column of the table; its values were not written']);
    assert.deepEqual(await suite.client.rows(tableId, 'id NULLS FIRST'), [{ id: null, name: null, amount: null }, { id: 3, name: null, amount: null }]);
    const none = await suite.client.write(tableId, 'mode=overwrite', '[]', CONTENT_TYPES.json);
    assert.deepEqual([none.status, none.body.rows_deleted, none.body.warnings], [200, 2, []]);
    const empty = await suite.client.write(tableId, 'mode=append', '[{}, {}]', CONTENT_TYPES.json);
    assert.deepEqual([empty.status, empty.body.rows_inserted, empty.body.warnings], [200, 2, []]);
    assert.deepEqual(await suite.client.rows(tableId), [{ id: null, name: null, amount: null }, { id: null, name: null, amount: null }]);
  });

  test('a fixed_size_list column takes rows with and without a value in one write, in every mode and format; a list of another length is refused', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'vectors', [{ name: 'id', arrowType: 'int32' }, { name: 'v', arrowType: 'fixed_size_list[3]<int32>' }], ['id']);
    for (const query of ['mode=append', 'mode=upsert', 'mode=upsert&skip_validation=true', 'mode=overwrite']) {
      await suite.client.writeRows(tableId, query, 'json', [{ id: 1, v: [1, 2, 3] }, { id: 2 }]);
    }
    const csv = await suite.client.write(tableId, 'mode=upsert', 'id,v\n3,"[4,5,6]"\n4,\n', CONTENT_TYPES.csv);
    assert.equal(csv.status, 200, JSON.stringify(csv.body));
    const vectors = new FixedSizeList(3, new ArrowField('item', new Int32(), true));
    const arrow = tableToIPC(new Table({ id: vectorFromArray([5, 6], new Int32()), v: vectorFromArray([[7, 8, 9], null], vectors) }), 'stream');
    const fromArrow = await suite.client.write(tableId, 'mode=upsert', arrow, CONTENT_TYPES.arrow);
    assert.equal(fromArrow.status, 200, JSON.stringify(fromArrow.body));
    assert.deepEqual(await suite.client.rows(tableId), [
      { id: 1, v: [1, 2, 3] }, { id: 2, v: null }, { id: 3, v: [4, 5, 6] }, { id: 4, v: null }, { id: 5, v: [7, 8, 9] }, { id: 6, v: null },
    ]);
    const short = await suite.client.write(tableId, 'mode=upsert', JSON.stringify([{ id: 7, v: [1, 2] }, { id: 8 }]), CONTENT_TYPES.json);
    assert.equal(short.status, 400, JSON.stringify(short.body));
    assert.match(short.body.error, /column "v": value "\[1,2\]" is not a valid fixed_size_list\[3\]<int32>/);
  });

  test('a gzip-compressed body is read like the plain one', async () => {
    const { gzipSync } = await import('node:zlib');
    const tableId = await seededTable();
    const response = await suite.server.fetch(`/dataset-tables/${tableId}/rows?mode=append`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify([{ id: 3, name: 'z', amount: 1 }])),
    });
    assert.equal(response.status, 200);
    assert.equal((await suite.client.rows(tableId)).length, 3);
  });

  test('a body in an encoding Sluice does not undo (br, deflate) is refused rather than read as it is', async () => {
    const tableId = await seededTable();
    for (const encoding of ['br', 'deflate', 'gzip, br']) {
      const response = await suite.server.fetch(`/dataset-tables/${tableId}/rows?mode=append`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body: '[]',
      });
      assert.equal(response.status, 400, encoding);
      assert.match((await response.json()).message, /Content-Encoding .* is not supported/);
    }
    const identity = await suite.server.fetch(`/dataset-tables/${tableId}/rows?mode=append`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, body: '[{"id": 9}]',
    });
    assert.equal(identity.status, 200);
  });
});

describe('Catalyzed coercion of values to column types', () => {
  const suite = useCatalyzedSuite();
  let tableId: string;
  let datasetId: string;
  before(async () => {
    datasetId = await suite.client.createDataset('coercion');
    tableId = await suite.client.createTable(datasetId, 'values', [
      { name: 'id', arrowType: 'int32' },
      { name: 'i', arrowType: 'int64' },
      { name: 'u', arrowType: 'uint32' },
      { name: 'f', arrowType: 'float64' },
      { name: 'b', arrowType: 'bool' },
      { name: 's', arrowType: 'utf8' },
      { name: 'ts', arrowType: 'timestamp[ms]' },
      { name: 'bin', arrowType: 'binary' },
    ], ['id']);
  });

  /** Writes one value into one column and reads back what was stored. */
  async function stored(column: string, value: unknown, query = 'mode=upsert'): Promise<{ status: number; value?: unknown; body: any }> {
    const response = await suite.client.write(tableId, query, JSON.stringify([{ id: 1, [column]: value }]), 'application/json');
    if (response.status !== 200) return { status: response.status, body: response.body };
    const [row] = await suite.client.rows(tableId);
    return { status: 200, value: row?.[column], body: response.body };
  }

  const NUMERIC_TABLE: Array<[input: string, int: unknown, uint: unknown, float: unknown]> = [
    ['12345', 12345, 12345, 12345],
    ['-9999', -9999, 'error', -9999],
    ['123.45', 123, 123, 123.45],
    ['1e2', 100, 100, 100],
    ['null', null, null, null],
  ];
  for (const [input, int, uint, float] of NUMERIC_TABLE) {
    test(`"${input}" becomes ${String(int)} in an int column, ${String(uint)} in a uint column and ${String(float)} in a float column`, async () => {
      for (const [column, expected] of [['i', int], ['u', uint], ['f', float]] as const) {
        const result = await stored(column, input);
        if (expected === 'error') assert.equal(result.status, 400, `${column}: ${JSON.stringify(result.body)}`);
        else assert.deepEqual([result.status, result.value], [200, expected], `${column}: ${JSON.stringify(result.body)}`);
      }
    });
  }

  test('fractions are truncated toward zero, not rounded', async () => {
    for (const [input, expected] of [['123.99', 123], ['-5.99', -5], ['-0.5', 0], ['1.55e1', 15], ['9007199254740993.9', '9007199254740993']] as const) {
      assert.deepEqual((await stored('i', input)).value, expected, input);
    }
  });

  test('a JSON number with a fraction or an exponent is truncated as written in an int64 or uint64 column, not through a double, and a delete by it removes that key', async () => {
    const datasetId = await suite.client.createDataset('long_numbers');
    const longs = await suite.client.createTable(datasetId, 'longs', [{ name: 'id', arrowType: 'int64' }, { name: 'u', arrowType: 'uint64' }], ['id']);
    const write = (query: string, body: string) => suite.client.write(longs, query, body, 'application/json');
    const written = await write('mode=append', '[{"id": 9007199254740992, "u": 9007199254740993e0}, {"id": 9007199254740993, "u": 12345678901234567890.5}, {"id": 1, "u": 1.8446744073709551615e19}]');
    assert.equal(written.status, 200, JSON.stringify(written.body));
    const deleted = await write('mode=delete', '[{"id": 9007199254740993.0}]');
    assert.equal(deleted.body.rows_deleted, 1, JSON.stringify(deleted.body));
    assert.deepEqual(await suite.client.rows(longs), [{ id: 1, u: '18446744073709551615' }, { id: '9007199254740992', u: '9007199254740993' }]);
  });

  test('an integer column takes decimal digits only: hex, binary and _-separated texts are refused (400 naming the column and the value), as no row of the table coercion is', async () => {
    for (const input of ['0x10', '0b101', '1_000', '0o17']) {
      const result = await stored('i', input);
      assert.equal(result.status, 400, `${input}: ${JSON.stringify(result.body)}`);
      assert.deepEqual(result.body.details.errors[0].columns, ['i'], input);
      assert.deepEqual(result.body.details.errors[0].values, [input], input);
    }
    assert.deepEqual([(await stored('i', ' 42 ')).value, (await stored('i', '+7')).value], [42, 7]);
  });

  test('booleans read true/1/yes/y and false/0/no/n in any case; null and the empty text are NULL', async () => {
    const cases: Array<[unknown, boolean | null]> = [
      ['true', true], ['1', true], ['YES', true], ['y', true], [true, true],
      ['False', false], ['0', false], ['no', false], ['N', false], [false, false],
      ['null', null], ['', null], [null, null],
    ];
    for (const [input, expected] of cases) assert.deepEqual((await stored('b', input)).value, expected, String(input));
  });

  test('the text "null" stays text in a utf8 column', async () => {
    assert.equal((await stored('s', 'null')).value, 'null');
  });

  test('timestamps are read from ISO-8601', async () => {
    assert.equal((await stored('ts', '2024-03-04T05:06:07.123Z')).value, '2024-03-04T05:06:07.123Z');
    assert.equal((await stored('ts', '2024-03-04T07:06:07+02:00')).value, '2024-03-04T05:06:07Z');
  });

  test('a binary value in JSON is base64, as queries give it: the bytes are decoded, and a value read can be written back unchanged', async () => {
    for (const query of ['mode=upsert', 'mode=upsert&skip_validation=true']) {
      const written = await stored('bin', 'AP8BaGk=', query);
      assert.deepEqual([written.status, written.value], [200, 'AP8BaGk='], JSON.stringify(written.body));
      const bytes = await suite.client.query('SELECT hex(bin) AS hex FROM t WHERE id = 1', { t: tableId });
      assert.deepEqual(bytes.body.rows, [{ hex: '00FF016869' }], query);
      assert.deepEqual((await stored('bin', written.value, query)).value, 'AP8BaGk=', query);
    }
  });

  test('a JSON binary value that is not base64 is refused with its column, its value and why, even with skip_validation', async () => {
    for (const query of ['mode=upsert', 'mode=upsert&skip_validation=true']) {
      const response = await suite.client.write(tableId, query, JSON.stringify([{ id: 1, bin: 'AP8B' }, { id: 2, bin: 'hello!' }]), 'application/json');
      assert.equal(response.status, 400, query);
      assert.deepEqual(response.body.details.errors.map(({ row, columns, values }: any) => ({ row, columns, values })), [{ row: 2, columns: ['bin'], values: ['hello!'] }], query);
      assert.match(response.body.details.errors[0].messages[0], /column "bin": value "hello!" is not a valid binary \(base64\)/, query);
    }
  });

  test('"null" in a column that is not nullable is a missing value', async () => {
    const result = await suite.client.write(tableId, 'mode=upsert', JSON.stringify([{ id: 'null' }]), 'application/json');
    assert.equal(result.status, 400);
    assert.match(result.body.details.errors[0].messages[0], /missing/);
  });

  test('a value that cannot be coerced rejects the whole request with the row and column, and nothing is written', async () => {
    const before = await suite.client.call('GET', `/dataset-tables/${tableId}`);
    const body = [{ id: 10, i: '1' }, { id: 11, i: 'twelve' }, { id: 12, u: '-1', b: 'maybe' }];
    const response = await suite.client.write(tableId, 'mode=append', JSON.stringify(body), 'application/json');
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'VALIDATION_ERROR');
    assert.equal(response.body.retryable, false);
    assert.equal(response.body.details.invalidRows, 2);
    assert.deepEqual(response.body.details.errors.map(({ row, columns, values }: any) => ({ row, columns, values })), [
      { row: 2, columns: ['i'], values: ['twelve'] },
      { row: 3, columns: ['u', 'b'], values: ['-1', 'maybe'] },
    ]);
    assert.match(response.body.details.errors[0].messages[0], /"twelve" is not a valid int64/);
    const afterward = await suite.client.call('GET', `/dataset-tables/${tableId}`);
    assert.deepEqual([afterward.body.version, afterward.body.rowCount], [before.body.version, before.body.rowCount]);
  });

  test('in CSV a quoted empty field of a text column is the empty string, as in JSON; an unquoted one is missing', async () => {
    const response = await suite.client.write(tableId, 'mode=upsert', 'id,s\n40,""\n41,\n', 'text/csv');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const rows = (await suite.client.rows(tableId)).filter((row) => [40, 41].includes(row['id'] as number));
    assert.deepEqual(rows.map((row) => row['s']), ['', null]);
  });

  test('in CSV an unquoted empty field of a NOT NULL text column is missing and refused naming it, a blank line of a one-column CSV too (no row keyed ""); quoted, it is the empty string', async () => {
    const keyed = await suite.client.createTable(datasetId, 'text_keys', [{ name: 'k', arrowType: 'utf8', nullable: false }, { name: 'n', arrowType: 'utf8', nullable: false }], ['k']);
    const refused = await suite.client.write(keyed, 'mode=append', 'k,n\na,\n', 'text/csv');
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(refused.body.details.errors.map(({ row, columns }: any) => [row, columns]), [[1, ['n']]]);
    const onlyKeys = await suite.client.createTable(datasetId, 'only_keys', [{ name: 'k', arrowType: 'utf8', nullable: false }], ['k']);
    await suite.client.write(onlyKeys, 'mode=append', 'k\nkept\n', 'text/csv');
    const blank = await suite.client.write(onlyKeys, 'mode=delete', 'k\n\n', 'text/csv');
    assert.equal(blank.status, 400, JSON.stringify(blank.body));
    assert.deepEqual(blank.body.details.errors.map(({ row, columns }: any) => [row, columns]), [[1, ['k']]]);
    const quoted = await suite.client.write(keyed, 'mode=append', 'k,n\n"",""\n', 'text/csv');
    assert.equal(quoted.status, 200, JSON.stringify(quoted.body));
    assert.deepEqual(await suite.client.rows(keyed, 'k'), [{ k: '', n: '' }]);
    assert.deepEqual(await suite.client.rows(onlyKeys, 'k'), [{ k: 'kept' }]);
  });

  test('a number too large for a float column is refused rather than stored as infinity', async () => {
    const response = await suite.client.write(tableId, 'mode=upsert', '[{"id": 42, "f": 1e400}]', 'application/json');
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.deepEqual(response.body.details.errors.map(({ columns }: { columns: string[] }) => columns), [['f']]);
  });

  test('CSV rows that fail are reported by line', async () => {
    const response = await suite.client.write(tableId, 'mode=upsert', 'id,f\n20,1.5\n21,abc\n', 'text/csv');
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.details.errors.map(({ row, columns }: any) => ({ row, columns })), [{ row: 2, columns: ['f'] }]);
  });

  test('a CSV header that names a column twice, in any case, is refused rather than one of its fields ignored', async () => {
    for (const header of ['id,f,F', 'id,id,f']) {
      const response = await suite.client.write(tableId, 'mode=upsert', `${header}\n30,1,2\n`, 'text/csv');
      assert.equal(response.status, 400, header);
      assert.equal(response.body.code, 'VALIDATION_ERROR');
      assert.match(response.body.message, /names column "(f|id)" more than once \(fields (2, 3|1, 2)\)/);
    }
    assert.equal((await suite.client.rows(tableId)).filter((row) => row['id'] === 30).length, 0);
  });

  test('skip_validation=true leaves the casts to the engine (fractions round) and still refuses values it cannot cast', async () => {
    assert.equal((await stored('i', '123.5', 'mode=upsert&skip_validation=true')).value, 124);
    assert.equal((await stored('i', '123.5', 'mode=upsert&skip_validation=false')).value, 123);
    const refused = await stored('i', 'abc', 'mode=upsert&skip_validation=true');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'VALIDATION_ERROR');
  });
});

describe('Catalyzed struct values', () => {
  const suite = useCatalyzedSuite({ dataset: 'structs' });
  let counter = 0;

  /** A table of a key, a struct and a list of structs holding a struct. */
  async function structTable(): Promise<string> {
    return suite.client.createTable(suite.datasetId, `s${(counter += 1)}`, [
      { name: 'id', arrowType: 'int32' }, { name: 'st', arrowType: 'struct<a: int32, b: utf8>' },
      { name: 'l', arrowType: 'list<struct<Xy: int32, n: struct<q: bool>>>' },
    ], ['id']);
  }

  test('a struct member matches its field regardless of case, the exact name taken first, as columns match, in JSON and CSV, with and without skip_validation', async () => {
    for (const query of ['mode=upsert', 'mode=upsert&skip_validation=true']) {
      const tableId = await structTable();
      const rows = [
        { id: 1, st: { A: 1, B: 'x' } },
        { id: 2, st: { A: 1, a: 3 } },
        { id: 3, l: [{ xy: 1, N: { Q: true } }, { XY: 2 }] },
      ];
      const json = await suite.client.write(tableId, query, JSON.stringify(rows), CONTENT_TYPES.json);
      assert.equal(json.status, 200, `${query}: ${JSON.stringify(json.body)}`);
      assert.deepEqual(json.body.warnings, [], query);
      const csv = await suite.client.write(tableId, query, 'id,st\n4,"{""B"": ""y"", ""A"": 4}"\n', CONTENT_TYPES.csv);
      assert.equal(csv.status, 200, `${query}: ${JSON.stringify(csv.body)}`);
      assert.deepEqual(await suite.client.rows(tableId), [
        { id: 1, st: { a: 1, b: 'x' }, l: null },
        { id: 2, st: { a: 3, b: null }, l: null },
        { id: 3, st: null, l: [{ Xy: 1, n: { q: true } }, { Xy: 2, n: null }] },
        { id: 4, st: { a: 4, b: 'y' }, l: null },
      ], query);
    }
  });

  test('a struct value with a member that is no field of the struct and holds a value is refused with the column, the value and the member, at any depth, in every format and with skip_validation, and nothing is written', async () => {
    const tableId = await structTable();
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, st: { a: 1, b: 'kept' } }]);
    // A member holding null loses nothing (a Parquet or Arrow struct has every field in every row): the first row is valid.
    const rows = [{ id: 1, st: { a: 2, zz: null } }, { id: 2, st: { a: 1, zz: 2 } }];
    const members = new Struct(['a', 'zz'].map((name) => new ArrowField(name, new Int32(), true)));
    const bodies = {
      json: JSON.stringify([rows[0], { id: 2, st: { A: 1, zz: 2 } }]),
      csv: 'id,st\n1,"{""a"": 2, ""zz"": null}"\n2,"{""A"": 1, ""zz"": 2}"\n',
      parquet: await encodeRows('parquet', rows),
      // (tableFromJSON would take the struct's fields from the first row only.)
      arrow: tableToIPC(new Table({ id: vectorFromArray([1, 2], new Int32()), st: vectorFromArray(rows.map((row) => row.st), members) }), 'stream'),
    };
    for (const query of ['mode=upsert', 'mode=upsert&skip_validation=true']) {
      for (const format of ['json', 'csv', 'parquet', 'arrow'] as const) {
        const response = await suite.client.write(tableId, query, bodies[format], CONTENT_TYPES[format]);
        assert.equal(response.status, 400, `${query} ${format}: ${JSON.stringify(response.body)}`);
        const [error] = response.body.details.errors;
        assert.deepEqual([response.body.details.errors.length, error.row, error.columns], [1, 2, ['st']], `${query} ${format}`);
        assert.match(error.values[0], /"zz": ?2/, `${query} ${format}`);
        assert.match(error.messages[0], /^column "st": value ".*" is not a valid struct<a: int32, b: utf8>: its member "zz" is no field of the struct$/, `${query} ${format}`);
      }
      const deep = await suite.client.write(tableId, query, JSON.stringify([{ id: 3, l: [{ Xy: 1 }, { Xy: 2, n: { q: false, r: 1 } }] }]), CONTENT_TYPES.json);
      assert.equal(deep.status, 400, `${query}: ${JSON.stringify(deep.body)}`);
      assert.match(deep.body.details.errors[0].messages[0], /is not a valid list<struct<Xy: int32, n: struct<q: bool>>>: its member "r" is no field of the struct$/, query);
    }
    assert.deepEqual(await suite.client.rows(tableId), [{ id: 1, st: { a: 1, b: 'kept' }, l: null }]);
    const nullMember = await suite.client.write(tableId, 'mode=upsert', JSON.stringify([rows[0]]), CONTENT_TYPES.json);
    assert.equal(nullMember.status, 200, JSON.stringify(nullMember.body));
    assert.deepEqual(await suite.client.rows(tableId), [{ id: 1, st: { a: 2, b: null }, l: null }]);
  });
});

describe('Catalyzed row write errors', () => {
  const suite = useCatalyzedSuite({ config: { maxRowWriteBytes: 64 * 1024 } });
  let keyed: string;
  let keyless: string;
  let datasetId: string;
  before(async () => {
    datasetId = await suite.client.createDataset('errors');
    keyed = await suite.client.createTable(datasetId, 'keyed', ORDER_FIELDS, ['id']);
    keyless = await suite.client.createTable(datasetId, 'keyless', ORDER_FIELDS);
  });

  const json = (rows: unknown) => JSON.stringify(rows);

  test('mode is required, given once, and must be one of the four', async () => {
    for (const query of ['', 'mode=', 'mode=merge', 'mode=append&mode=delete']) {
      const response = await suite.client.write(keyed, query, json([{ id: 1 }]), 'application/json');
      assert.equal(response.status, 400, query);
      assert.equal(response.body.code, 'VALIDATION_ERROR');
      assert.match(response.body.error, /mode/);
    }
  });

  test('upsert and delete on a table without a primary key are refused with 400', async () => {
    for (const mode of ['upsert', 'delete']) {
      const response = await suite.client.write(keyless, `mode=${mode}`, json([{ id: 1 }]), 'application/json');
      assert.equal(response.status, 400);
      assert.equal(response.body.code, 'VALIDATION_ERROR');
      assert.match(response.body.error, /primary key/);
    }
  });

  test('two rows with the same key in one upsert or overwrite are refused as ambiguous, in every format', async () => {
    for (const mode of ['upsert', 'overwrite']) {
      for (const format of FORMATS) {
        const body = await encodeRows(format, [{ id: 1, name: 'first', amount: 1 }, { id: 1, name: 'second', amount: 2 }]);
        const response = await suite.client.write(keyed, `mode=${mode}`, body, CONTENT_TYPES[format]);
        assert.equal(response.status, 400, `${mode} ${format}`);
        assert.equal(response.body.code, 'VALIDATION_ERROR');
        assert.deepEqual(response.body.details.keys, ['1']);
      }
    }
    assert.deepEqual(await suite.client.rows(keyed), []);
  });

  test('a date key given twice is named as the date it is (2024-01-01), in the message and in details.keys, alone or with another key column', async () => {
    const datasetId = await suite.client.createDataset('date_keys');
    const days = await suite.client.createTable(datasetId, 'days', [{ name: 'd', arrowType: 'date32' }, { name: 'v', arrowType: 'utf8' }], ['d']);
    const pairs = await suite.client.createTable(datasetId, 'pairs', [{ name: 'd', arrowType: 'date64' }, { name: 'n', arrowType: 'int64' }, { name: 'v', arrowType: 'utf8' }], ['d', 'n']);
    for (const mode of ['upsert', 'overwrite', 'append']) {
      const single = await suite.client.write(days, `mode=${mode}`, json([{ d: '2024-01-01', v: 'a' }, { d: '2024-01-01', v: 'b' }]), 'application/json');
      assert.equal(single.status, 400, `${mode}: ${JSON.stringify(single.body)}`);
      assert.equal(single.body.error, 'The request has more than one row for the key (2024-01-01)');
      assert.deepEqual(single.body.details, { keys: ['2024-01-01'] });
      const composite = await suite.client.write(pairs, `mode=${mode}`, json([{ d: '2024-02-29', n: 7 }, { d: '2024-02-29', n: 7 }]), 'application/json');
      assert.equal(composite.status, 400, `${mode}: ${JSON.stringify(composite.body)}`);
      assert.deepEqual(composite.body.details, { keys: ['2024-02-29, 7'] });
    }
    assert.deepEqual([await suite.client.rows(days, 'd'), await suite.client.rows(pairs, 'd')], [[], []]);
  });

  test('an append of a key that exists is a 409 conflict with the table state and writes nothing', async () => {
    await suite.client.writeRows(keyed, 'mode=append', 'json', [{ id: 100, name: 'x', amount: 1 }]);
    const response = await suite.client.write(keyed, 'mode=append', json([{ id: 101 }, { id: 100 }]), 'application/json');
    assert.equal(response.status, 409);
    assert.equal(response.body.code, 'CONFLICT');
    assert.deepEqual((await suite.client.rows(keyed)).map((row) => row['id']), [100]);
    await suite.client.writeRows(keyed, 'mode=overwrite', 'json', []);
  });

  test('an append that gives a key twice is a 400 naming the key, as an upsert is, and writes nothing; two appends of one key at once: one lands, the other is a 409', async () => {
    const response = await suite.client.write(keyed, 'mode=append', json([{ id: 200 }, { id: 201 }, { id: 200 }]), 'application/json');
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.deepEqual(response.body.details, { keys: ['200'] });
    assert.deepEqual(await suite.client.rows(keyed), []);
    const racing = await Promise.all([1, 2].map((n) => suite.client.write(keyed, 'mode=append', json([{ id: 300, name: `n${n}` }]), 'application/json')));
    assert.deepEqual(racing.map((answer) => answer.status).sort(), [200, 409]);
    assert.deepEqual((await suite.client.rows(keyed)).map((row) => row['id']), [300]);
    await suite.client.writeRows(keyed, 'mode=overwrite', 'json', []);
  });

  test('an unsupported Content-Type is refused with 400', async () => {
    const response = await suite.client.write(keyed, 'mode=append', 'id=1', 'application/x-www-form-urlencoded');
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'VALIDATION_ERROR');
    assert.match(response.body.error, /Content-Type/);
  });

  test('malformed JSON and bodies that are not Parquet or Arrow IPC are refused with 400, without the server\'s file paths', async () => {
    const cases: Array<[string, string]> = [
      ['{"id": ', 'application/json'], ['not parquet at all', 'application/parquet'], ['PAR1', 'application/parquet'], ['not arrow', 'application/vnd.apache.arrow.stream'],
    ];
    for (const [body, contentType] of cases) {
      const response = await suite.client.write(keyed, 'mode=append', body, contentType);
      assert.equal(response.status, 400, `${contentType}: ${JSON.stringify(response.body)}`);
      assert.deepEqual(Object.keys(response.body).sort(), ['code', 'details', 'error', 'message', 'retryable']);
      assert.doesNotMatch(response.body.message, /spool|\/tmp\//, response.body.message);
    }
  });

  test('a Parquet body whose pages are corrupt is a 400 saying what is wrong with it, not a bare storage engine error', async () => {
    const parquet = Buffer.from((await encodeRows('parquet', [{ id: 1, name: 'a' }, { id: 2, name: 'b' }])) as Uint8Array);
    // The bytes after the leading magic are the first page's header: a varint that never ends.
    parquet.fill(0xab, 4, 20);
    const response = await suite.client.write(keyed, 'mode=append', parquet, CONTENT_TYPES.parquet);
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.code, 'VALIDATION_ERROR');
    assert.match(response.body.error, /^The Parquet data could not be read: .*Variable-length int over 10 bytes/);
  });

  test('a body over the row-write cap is refused with 413, whether its length is declared or not', async () => {
    const big = json(Array.from({ length: 5000 }, (_, id) => ({ id, name: 'x'.repeat(20) })));
    const declared = await suite.client.write(keyed, 'mode=append', big, 'application/json');
    assert.equal(declared.status, 413);
    assert.equal(declared.body.code, 'PAYLOAD_TOO_LARGE');
    const chunks = [Buffer.from(big)];
    const streamed = await suite.server.fetch(`/dataset-tables/${keyed}/rows?mode=append`, {
      method: 'POST', headers: { 'content-type': 'text/csv' }, duplex: 'half',
      body: new ReadableStream({ pull(controller) { const chunk = chunks.shift(); if (chunk) controller.enqueue(chunk); else controller.close(); } }),
    } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.deepEqual(await suite.client.rows(keyed), []);
  });

  test('a streamed Arrow IPC body is not held to the row-write cap', async () => {
    const rows = Array.from({ length: 5000 }, (_, id) => ({ id, name: 'x'.repeat(20), amount: id }));
    const body = await encodeRows('arrow', rows);
    assert.ok(body.length > 64 * 1024);
    const response = await suite.client.write(keyed, 'mode=overwrite', body, CONTENT_TYPES.arrow);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.rows_inserted, 5000);
    await suite.client.writeRows(keyed, 'mode=overwrite', 'json', []);
  });

  test('an unknown table is 404 NOT_FOUND', async () => {
    const response = await suite.client.write('x'.repeat(21), 'mode=append', json([{ id: 1 }]), 'application/json');
    assert.equal(response.status, 404);
    assert.deepEqual({ ...response.body, message: undefined, error: undefined }, { code: 'NOT_FOUND', details: { tableId: 'x'.repeat(21) }, retryable: false, message: undefined, error: undefined });
  });

  test('a missing or wrong token is 401 and a token without the write scope is 403, before anything about the request or the table is checked', async () => {
    for (const token of [null, 'not-a-token']) {
      const response = await suite.client.write(keyed, 'mode=append', json([{ id: 1 }]), 'application/json', token);
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, { error: 'UNAUTHORIZED', message: 'Invalid or expired token' });
    }
    const { secret } = await suite.server.core.tokens.create('errors-reader', [{ action: 'read', namespace: 'errors' }]);
    const denied = await suite.client.write(keyed, 'mode=append', json([{ id: 1 }]), 'application/json', secret);
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body, { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' });
    const appender = (await suite.server.core.tokens.create('errors-appender', [{ action: 'append', namespace: 'errors' }])).secret;
    assert.equal((await suite.client.write(keyed, 'mode=delete', json([1]), 'application/json', appender)).status, 403);
    assert.equal((await suite.client.write(keyed, 'mode=upsert', json([{ id: 1 }]), 'application/json', appender)).status, 200);
    // Overwriting both takes rows away and adds them: a token that may do only one of the two may not.
    const dropper = (await suite.server.core.tokens.create('errors-dropper', [{ action: 'drop', namespace: 'errors' }])).secret;
    assert.equal((await suite.client.write(keyed, 'mode=delete', json([1]), 'application/json', dropper)).status, 200);
    for (const token of [appender, dropper]) assert.equal((await suite.client.write(keyed, 'mode=overwrite', json([{ id: 2 }]), 'application/json', token)).status, 403);
    const both = (await suite.server.core.tokens.create('errors-both', [{ action: 'append', namespace: 'errors' }, { action: 'drop', namespace: 'errors' }])).secret;
    assert.equal((await suite.client.write(keyed, 'mode=overwrite', json([{ id: 2 }]), 'application/json', both)).status, 200);
    assert.equal((await suite.server.fetch(`/datasets?token=${secret}`, { token: null })).status, 401);
    // The scope is checked before the request is: a keyless table's lack of a key is not told to a token that may not write it.
    for (const mode of ['upsert', 'delete']) {
      const refused = await suite.client.write(keyless, `mode=${mode}`, json([{ id: 1 }]), 'application/json', secret);
      assert.deepEqual([refused.status, refused.body], [403, { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' }]);
    }
    // A missing or wrong mode or parameter is not told to a token that may write in no mode.
    for (const query of ['', 'mode=bogus', 'mode=append&skip_validation=maybe', 'mode=append&idempotency_key=', 'mode=upsert&mode=append']) {
      assert.equal((await suite.client.write(keyed, query, json([{ id: 1 }]), 'application/json', secret)).status, 403, query);
    }
    // Nor a dataset's or table's missing name.
    const datasets = await suite.server.fetch('/datasets', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', token: secret });
    assert.equal(datasets.status, 403);
    const tables = await suite.server.fetch('/dataset-tables', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetId, tableName: 'x', fields: [] }), token: secret,
    });
    assert.equal(tables.status, 403);
  });
});
