import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useCatalyzedSuite } from '../../helpers/catalyzed-suite.ts';

const ID = /^[0-9a-z]{21}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('Catalyzed datasets', () => {
  const suite = useCatalyzedSuite();

  test('a dataset is created with its description, tags and metadata and a 21-character id', async () => {
    const { status, body } = await suite.client.call('POST', '/datasets', { name: 'analytics', description: 'Events', tags: ['prod'], metadata: { owner: 'me' } });
    assert.equal(status, 201);
    assert.match(body.datasetId, ID);
    assert.match(body.createdAt, ISO_TIME);
    assert.deepEqual({ ...body, datasetId: undefined, createdAt: undefined, updatedAt: undefined }, {
      datasetId: undefined, name: 'analytics', description: 'Events', tags: ['prod'], metadata: { owner: 'me' }, createdAt: undefined, updatedAt: undefined,
    });
    assert.deepEqual((await suite.client.call('GET', `/datasets/${body.datasetId}`)).body, body);
  });

  test('a dataset name is unique: a second one is 409 CONFLICT, saying the dataset exists', async () => {
    await suite.client.createDataset('unique');
    const { status, body } = await suite.client.call('POST', '/datasets', { name: 'unique' });
    assert.equal(status, 409);
    assert.deepEqual([body.code, body.retryable, body.error, body.message], ['CONFLICT', false, 'Dataset "unique" already exists', 'Dataset "unique" already exists']);
  });

  test('a dataset needs a name of 1 to 255 printable characters, said in Catalyzed\'s words', async () => {
    for (const payload of [{}, { name: '' }, { name: 5 }, { name: 'x'.repeat(256) }, { name: 'a\u0001b' }]) {
      const { status, body } = await suite.client.call('POST', '/datasets', payload);
      assert.equal(status, 400, JSON.stringify(payload));
      assert.equal(body.code, 'VALIDATION_ERROR');
      assert.doesNotMatch(body.message, /namespace/);
    }
    const datasetId = await suite.client.createDataset('well-named');
    const renamed = await suite.client.call('PUT', `/datasets/${datasetId}`, { name: 'y'.repeat(256) });
    assert.deepEqual([renamed.status, renamed.body.message], [400, '"name" must be 1 to 255 printable characters']);
    // Characters are counted, not UTF-16 units: 255 emoji are a name, 256 are not.
    assert.equal((await suite.client.call('POST', '/datasets', { name: '😀'.repeat(255) })).status, 201);
    assert.equal((await suite.client.call('POST', '/datasets', { name: '😀'.repeat(256) })).status, 400);
  });

  test('datasets are listed a page at a time; a page or size that is out of range, not in decimal digits or given twice is a 400', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await suite.client.createDataset(name);
    const all = (await suite.client.call('GET', '/datasets?pageSize=100')).body;
    const names = all.datasets.map((dataset: { name: string }) => dataset.name);
    const second = (await suite.client.call('GET', '/datasets?page=2&pageSize=1')).body;
    assert.deepEqual([second.page, second.pageSize, second.total, second.datasets.length], [2, 1, all.total, 1]);
    assert.equal(second.datasets[0].name, names[1]);
    assert.equal((await suite.client.call('GET', '/datasets')).body.pageSize, 20);
    for (const query of ['pageSize=0', 'pageSize=101', 'page=0', 'page=x', 'page=1&page=2', 'pageSize=0x10', 'pageSize=%201', 'pageSize=1e1']) assert.equal((await suite.client.call('GET', `/datasets?${query}`)).status, 400, query);
  });

  test('a dataset is renamed and described with PUT; members left out keep their values', async () => {
    const datasetId = (await suite.client.call('POST', '/datasets', { name: 'before', tags: ['t'] })).body.datasetId;
    const { status, body } = await suite.client.call('PUT', `/datasets/${datasetId}`, { name: 'after', description: 'now described' });
    assert.equal(status, 200);
    assert.deepEqual([body.name, body.description, body.tags], ['after', 'now described', ['t']]);
    assert.equal((await suite.client.call('PUT', `/datasets/${datasetId}`, { name: 'unique' })).status, 409);
  });

  test('concurrent PUTs of different members of a dataset all take effect', async () => {
    const datasetId = await suite.client.createDataset('busy');
    const responses = await Promise.all([
      suite.client.call('PUT', `/datasets/${datasetId}`, { description: 'd' }),
      suite.client.call('PUT', `/datasets/${datasetId}`, { tags: ['t'] }),
      suite.client.call('PUT', `/datasets/${datasetId}`, { metadata: { m: 1 } }),
    ]);
    assert.deepEqual(responses.map((response) => response.status), [200, 200, 200]);
    const { body } = await suite.client.call('GET', `/datasets/${datasetId}`);
    assert.deepEqual([body.description, body.tags, body.metadata], ['d', ['t'], { m: 1 }]);
  });

  test('deleting a dataset deletes its tables; afterwards both are 404', async () => {
    const datasetId = await suite.client.createDataset('doomed');
    const tableId = await suite.client.createTable(datasetId, 't', [{ name: 'id', arrowType: 'int32' }]);
    assert.equal((await suite.client.call('DELETE', `/datasets/${datasetId}`)).status, 204);
    assert.equal((await suite.client.call('GET', `/datasets/${datasetId}`)).status, 404);
    const { status, body } = await suite.client.call('GET', `/dataset-tables/${tableId}`);
    assert.deepEqual([status, body.code], [404, 'NOT_FOUND']);
  });

  test('a token sees only the datasets it may read and cannot create others; another dataset and its tables are refused (or listed empty) as missing ones are', async () => {
    await suite.client.createDataset('visible');
    await suite.client.createDataset('hidden');
    const { secret } = await suite.server.core.tokens.create('visible-reader', [{ action: 'read', namespace: 'visible' }]);
    const listed = (await suite.client.call('GET', '/datasets', undefined, secret)).body;
    assert.deepEqual(listed.datasets.map((dataset: { name: string }) => dataset.name), ['visible']);
    const hidden = (await suite.client.call('GET', '/datasets?pageSize=100')).body.datasets.find((dataset: { name: string }) => dataset.name === 'hidden');
    const denied = await suite.client.call('GET', `/datasets/${hidden.datasetId}`, undefined, secret);
    assert.deepEqual([denied.status, denied.body], [403, { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' }]);
    assert.equal((await suite.client.call('POST', '/datasets', { name: 'mine' }, secret)).status, 403);
    // Its tables are refused, and listed, as those of a dataset that does not exist are: the answer tells nothing of which ids exist.
    const tableId = await suite.client.createTable(hidden.datasetId, 'secret_table', [{ name: 'id', arrowType: 'int32' }]);
    for (const path of [`/dataset-tables/${tableId}`, '/dataset-tables/doesnotexist']) {
      const refused = await suite.client.call('GET', path, undefined, secret);
      assert.deepEqual([refused.status, refused.body], [403, { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' }], path);
    }
    for (const path of [`/dataset-tables?datasetId=${hidden.datasetId}`, '/dataset-tables?datasetId=doesnotexist']) {
      const listedTables = await suite.client.call('GET', path, undefined, secret);
      assert.deepEqual([listedTables.status, listedTables.body.tables, listedTables.body.total], [200, [], 0], path);
    }
    assert.equal((await suite.client.call('GET', '/dataset-tables?datasetId=doesnotexist')).status, 404);
  });

  test("a token's scope on a dataset follows it: renamed, the token still reads it; deleted, a new dataset of the old name is not the token's", async () => {
    const datasetId = await suite.client.createDataset('followed');
    const { secret } = await suite.server.core.tokens.create('follower', [{ action: 'read', namespace: 'followed' }]);
    assert.equal((await suite.client.call('PUT', `/datasets/${datasetId}`, { name: 'followed_renamed' })).status, 200);
    assert.equal((await suite.client.call('GET', `/datasets/${datasetId}`, undefined, secret)).status, 200);
    assert.equal((await suite.client.call('DELETE', `/datasets/${datasetId}`)).status, 204);
    const again = await suite.client.createDataset('followed_renamed');
    const refused = await suite.client.call('GET', `/datasets/${again}`, undefined, secret);
    assert.deepEqual([refused.status, refused.body], [403, { error: 'FORBIDDEN', message: 'Insufficient permissions for this resource' }]);
    assert.deepEqual(suite.server.core.tokens.find('follower')!.scopes, []);
  });

  test('a token that may read one table of a dataset sees the dataset, listed and by id, as it sees the table, with the count of the rows its filter admits', async () => {
    const datasetId = await suite.client.createDataset('partly');
    await suite.client.createTable(datasetId, 'shared', [{ name: 'id', arrowType: 'int32' }]);
    await suite.client.createTable(datasetId, 'private', [{ name: 'id', arrowType: 'int32' }]);
    const { secret } = await suite.server.core.tokens.create('one-table', [{ action: 'read', namespace: 'partly', table: 'shared', filter: 'id = 1' }]);
    const listed = (await suite.client.call('GET', '/datasets', undefined, secret)).body;
    assert.deepEqual(listed.datasets.map((dataset: { name: string }) => dataset.name), ['partly']);
    assert.equal((await suite.client.call('GET', `/datasets/${datasetId}`, undefined, secret)).status, 200);
    const tables = (await suite.client.call('GET', `/dataset-tables?datasetId=${datasetId}`, undefined, secret)).body;
    assert.deepEqual(tables.tables.map((table: { tableName: string }) => table.tableName), ['shared']);
    // Its row filter admits one row of three: the count it is shown is of what it may read.
    const sharedId = tables.tables[0].tableId;
    await suite.client.writeRows(sharedId, 'mode=append', 'json', [{ id: 1 }, { id: 2 }, { id: 3 }]);
    assert.equal((await suite.client.call('GET', `/dataset-tables/${sharedId}`, undefined, secret)).body.rowCount, 1);
    assert.equal((await suite.client.call('GET', `/dataset-tables?datasetId=${datasetId}`, undefined, secret)).body.tables[0].rowCount, 1);
    assert.equal((await suite.client.call('GET', `/dataset-tables/${sharedId}`)).body.rowCount, 3);
  });

  test('an unknown path under a Catalyzed prefix answers in the Catalyzed error shape', async () => {
    const { status, body } = await suite.client.call('GET', '/datasets/x/nothing-here');
    assert.equal(status, 404);
    assert.equal(body.code, 'NOT_FOUND');
  });
});

describe('Catalyzed dataset tables', () => {
  const suite = useCatalyzedSuite({ dataset: 'tables' });

  /** Arrow type names as clients write them (any case, with aliases) and as the server prints them. */
  const TYPES: Array<[given: string, printed: string]> = [
    ['int8', 'int8'], ['INT16', 'int16'], ['Int32', 'int32'], ['int64', 'int64'],
    ['uint8', 'uint8'], ['uint16', 'uint16'], ['UINT32', 'uint32'], ['uint64', 'uint64'],
    ['float16', 'float16'], ['float32', 'float32'], ['FLOAT', 'float32'], ['float64', 'float64'], ['Double', 'float64'],
    ['utf8', 'utf8'], ['STRING', 'utf8'], ['largeutf8', 'largeutf8'], ['large_utf8', 'largeutf8'], ['LargeString', 'largeutf8'],
    ['binary', 'binary'], ['largebinary', 'largebinary'], ['large_binary', 'largebinary'],
    ['bool', 'bool'], ['BOOLEAN', 'bool'], ['date32', 'date32'], ['date64', 'date64'],
    ['timestamp', 'timestamp[us]'], ['timestamp[s]', 'timestamp[s]'], ['TIMESTAMP[ms]', 'timestamp[ms]'], ['timestamp[us]', 'timestamp[us]'], ['timestamp[ns]', 'timestamp[ns]'],
    ['list<utf8>', 'list<utf8>'], ['LIST<int64>', 'list<int64>'], ['fixed_size_list[3]<float32>', 'fixed_size_list[3]<float32>'], ['null', 'null'],
  ];

  test('a table is created with every Arrow type and alias, in any case, and lists its fields by their Arrow names', async () => {
    const fields = TYPES.map(([arrowType], index) => ({ name: `c${index}`, arrowType }));
    const { status, body } = await suite.client.call('POST', '/dataset-tables', { datasetId: suite.datasetId, tableName: 'all_types', description: 'every type', fields: [{ name: 'id', arrowType: 'int64', nullable: false }, ...fields], primaryKeyColumns: ['id'] });
    assert.equal(status, 201, JSON.stringify(body));
    assert.match(body.tableId, ID);
    assert.deepEqual([body.datasetId, body.tableName, body.description, body.primaryKeyColumns], [suite.datasetId, 'all_types', 'every type', ['id']]);
    assert.deepEqual(body.fields.slice(1), TYPES.map(([, printed], index) => ({ name: `c${index}`, arrowType: printed, nullable: true })));
    const schema = (await suite.client.call('GET', `/dataset-tables/${body.tableId}/schema`)).body;
    assert.deepEqual(schema.fields[1], { name: 'c0', dataType: 'int8', nullable: true });
    assert.deepEqual(schema.primaryKeyColumns, ['id']);
  });

  test('a table of every type takes a row in every format and reads it back', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'typed_rows', [
      { name: 'id', arrowType: 'int64' }, { name: 'small', arrowType: 'int8' }, { name: 'big', arrowType: 'uint64' }, { name: 'half', arrowType: 'float16' },
      { name: 'day', arrowType: 'date32' }, { name: 'at', arrowType: 'timestamp[ms]' }, { name: 'tags', arrowType: 'list<utf8>' }, { name: 'raw', arrowType: 'binary' },
    ], ['id']);
    const response = await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, small: -5, big: '18446744073709551615', half: 1.5, day: '2024-01-02', at: '2024-01-02T03:04:05.678Z', tags: ['a', 'b'], raw: 'aGk=' }]);
    assert.equal(response.rows_inserted, 1);
    assert.deepEqual(await suite.client.rows(tableId), [{ id: 1, small: -5, big: '18446744073709551615', half: 1.5, day: '2024-01-02', at: '2024-01-02T03:04:05.678Z', tags: ['a', 'b'], raw: 'aGk=' }]);
  });

  test('a field type nested more than 8 levels deep is a 400 naming the bound and creates nothing', async () => {
    const lists = (depth: number) => `${'list<'.repeat(depth)}int32${'>'.repeat(depth)}`;
    await suite.client.createTable(suite.datasetId, 'deep_ok', [{ name: 'a', arrowType: lists(8) }]);
    for (const arrowType of [lists(9), lists(100_000), `${'struct<x: '.repeat(50)}int32${'>'.repeat(50)}`]) {
      const { status, body } = await suite.client.call('POST', '/dataset-tables', { datasetId: suite.datasetId, tableName: 'too_deep', fields: [{ name: 'a', arrowType }] });
      assert.equal(status, 400);
      assert.equal(body.code, 'VALIDATION_ERROR');
      assert.match(body.error, /^Field "a": Invalid type ".*": lists, maps and structs may nest at most 8 levels deep/);
    }
    const tables = (await suite.client.call('GET', `/dataset-tables?datasetId=${suite.datasetId}`)).body;
    assert.ok(!JSON.stringify(tables).includes('too_deep'));
  });

  test('a table name is unique in its dataset (409) but may repeat in another dataset', async () => {
    const fields = [{ name: 'id', arrowType: 'int32' }];
    await suite.client.createTable(suite.datasetId, 'twice', fields);
    const again = await suite.client.call('POST', '/dataset-tables', { datasetId: suite.datasetId, tableName: 'twice', fields });
    assert.deepEqual([again.status, again.body.code], [409, 'CONFLICT']);
    await suite.client.createTable(await suite.client.createDataset('elsewhere'), 'twice', fields);
  });

  test('invalid table definitions are refused with 400 naming the problem', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ tableName: 'no_fields', fields: [] }, /fields/],
      [{ tableName: 'bad_type', fields: [{ name: 'a', arrowType: 'int33' }] }, /int33/],
      [{ tableName: 'x'.repeat(256), fields: [{ name: 'a', arrowType: 'int32' }] }, /name/],
      [{ tableName: 'bad_key', fields: [{ name: 'a', arrowType: 'int32' }], primaryKeyColumns: ['b'] }, /"b"/],
      [{ tableName: 'twin', fields: [{ name: 'a', arrowType: 'int32' }, { name: 'A', arrowType: 'int32' }] }, /Duplicate/],
      // A key is never NULL, and a null field holds nothing else: no row could ever be written.
      [{ tableName: 'null_key', fields: [{ name: 'n', arrowType: 'null' }], primaryKeyColumns: ['n'] }, /"n" cannot be of the null type/],
      [{ fields: [{ name: 'a', arrowType: 'int32' }] }, /tableName/],
    ];
    for (const [definition, message] of cases) {
      const { status, body } = await suite.client.call('POST', '/dataset-tables', { datasetId: suite.datasetId, ...definition });
      assert.equal(status, 400, JSON.stringify(definition));
      assert.equal(body.code, 'VALIDATION_ERROR');
      assert.match(body.error, message);
    }
    assert.equal((await suite.client.call('POST', '/dataset-tables', { datasetId: 'nope', tableName: 't', fields: [{ name: 'a', arrowType: 'int32' }] })).status, 404);
  });

  test('tables are listed per dataset', async () => {
    const other = await suite.client.createDataset('listing');
    const first = await suite.client.createTable(other, 'first', [{ name: 'id', arrowType: 'int32' }]);
    const second = await suite.client.createTable(other, 'second', [{ name: 'id', arrowType: 'int32' }]);
    const { body } = await suite.client.call('GET', `/dataset-tables?datasetId=${other}`);
    assert.deepEqual(body.tables.map((table: { tableId: string }) => table.tableId), [first, second]);
    assert.equal(body.total, 2);
  });

  test('PUT renames a table, describes it and appends fields; existing fields cannot change', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'evolving', [{ name: 'id', arrowType: 'int32' }], ['id']);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 1 }]);
    const { status, body } = await suite.client.call('PUT', `/dataset-tables/${tableId}`, {
      tableName: 'evolved', description: 'grown', fields: [{ name: 'id', arrowType: 'int32', nullable: false }, { name: 'note', arrowType: 'string' }],
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual([body.tableName, body.description, body.fields.map((field: { name: string }) => field.name)], ['evolved', 'grown', ['id', 'note']]);
    await suite.client.writeRows(tableId, 'mode=append', 'json', [{ id: 2, note: 'new' }]);
    assert.deepEqual(await suite.client.rows(tableId), [{ id: 1, note: null }, { id: 2, note: 'new' }]);
    const changed = await suite.client.call('PUT', `/dataset-tables/${tableId}`, { fields: [{ name: 'id', arrowType: 'int64' }] });
    assert.equal(changed.status, 400);
    assert.equal((await suite.client.call('PUT', `/dataset-tables/${tableId}`, { primaryKeyColumns: ['note'] })).status, 400);
  });

  test('a PUT that is refused changes nothing: fields it adds are not added when its new name is taken or invalid', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'put_a', [{ name: 'a', arrowType: 'int32' }]);
    await suite.client.createTable(suite.datasetId, 'put_b', [{ name: 'a', arrowType: 'int32' }]);
    const taken = await suite.client.call('PUT', `/dataset-tables/${tableId}`, { tableName: 'put_b', fields: [{ name: 'a', arrowType: 'int32' }, { name: 'added', arrowType: 'utf8' }] });
    assert.equal(taken.status, 409);
    const invalidName = await suite.client.call('PUT', `/dataset-tables/${tableId}`, { tableName: '', fields: [{ name: 'a', arrowType: 'int32' }, { name: 'added', arrowType: 'utf8' }] });
    assert.equal(invalidName.status, 400);
    const table = await suite.client.call('GET', `/dataset-tables/${tableId}`);
    assert.deepEqual([table.body.tableName, table.body.fields.map((field: { name: string }) => field.name)], ['put_a', ['a']]);
  });

  test("a PUT may send back the fields a table was created with, its key's nullability as given then; a null description clears it, on datasets and tables", async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'resent', [{ name: 'id', arrowType: 'int32', nullable: true }, { name: 'v', arrowType: 'utf8' }], ['id']);
    const resent = await suite.client.call('PUT', `/dataset-tables/${tableId}`, {
      description: 'kept', fields: [{ name: 'id', arrowType: 'int32' }, { name: 'v', arrowType: 'utf8' }, { name: 'w', arrowType: 'int64' }],
    });
    assert.equal(resent.status, 200, JSON.stringify(resent.body));
    assert.deepEqual(resent.body.fields.map((field: { name: string; nullable: boolean }) => [field.name, field.nullable]), [['id', false], ['v', true], ['w', true]]);
    const cleared = await suite.client.call('PUT', `/dataset-tables/${tableId}`, { description: null });
    assert.equal(cleared.body.description, null);
    const datasetId = (await suite.client.call('POST', '/datasets', { name: 'described', description: 'to be cleared' })).body.datasetId;
    const dataset = await suite.client.call('PUT', `/datasets/${datasetId}`, { description: null });
    assert.equal(dataset.status, 200, JSON.stringify(dataset.body));
    assert.equal(dataset.body.description, null);
    assert.equal((await suite.client.call('GET', `/datasets/${datasetId}`)).body.description, null);
  });

  test('a table takes no quarantine companion, so a name ending in _quarantine is free beside it, in either order', async () => {
    const datasetId = await suite.client.createDataset('companions');
    await suite.client.createTable(datasetId, 'orders', [{ name: 'id', arrowType: 'int32' }]);
    await suite.client.createTable(datasetId, 'orders_quarantine', [{ name: 'id', arrowType: 'int32' }]);
    await suite.client.createTable(datasetId, 'x_quarantine', [{ name: 'id', arrowType: 'int32' }]);
    await suite.client.createTable(datasetId, 'x', [{ name: 'id', arrowType: 'int32' }]);
    const listed = (await suite.client.call('GET', `/dataset-tables?datasetId=${datasetId}`)).body;
    assert.deepEqual(listed.tables.map((table: { tableName: string }) => table.tableName).sort(), ['orders', 'orders_quarantine', 'x', 'x_quarantine']);
  });

  test('concurrent PUTs that append the same field add it once and all succeed', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'raced', [{ name: 'id', arrowType: 'int32' }]);
    const fields = [{ name: 'id', arrowType: 'int32' }, { name: 'note', arrowType: 'utf8' }];
    const answers = await Promise.all(Array.from({ length: 6 }, () => suite.client.call('PUT', `/dataset-tables/${tableId}`, { fields })));
    assert.deepEqual(answers.map(({ status }) => status), [200, 200, 200, 200, 200, 200], JSON.stringify(answers.map(({ body }) => body)));
    const schema = await suite.client.call('GET', `/dataset-tables/${tableId}/schema`);
    assert.deepEqual(schema.body.fields.map((field: { name: string }) => field.name), ['id', 'note']);
  });

  test('a field the storage engine cannot hold (a decimal of more than 38 digits) is a 400 naming it, in a new table and an added field', async () => {
    const created = await suite.client.call('POST', '/dataset-tables', { datasetId: suite.datasetId, tableName: 'wide', fields: [{ name: 'big', arrowType: 'decimal256(50, 2)' }] });
    assert.equal(created.status, 400, JSON.stringify(created.body));
    assert.equal(created.body.code, 'VALIDATION_ERROR');
    assert.match(created.body.message, /Column "big": a decimal of 50 digits cannot be stored: decimals hold at most 38 digits/);
    const tableId = await suite.client.createTable(suite.datasetId, 'narrow', [{ name: 'id', arrowType: 'int32' }]);
    const added = await suite.client.call('PUT', `/dataset-tables/${tableId}`, { fields: [{ name: 'id', arrowType: 'int32' }, { name: 'big', arrowType: 'decimal256(40, 0)' }] });
    assert.equal(added.status, 400, JSON.stringify(added.body));
  });

  test('a primary key that names a column twice is a validation error', async () => {
    const response = await suite.client.call('POST', '/dataset-tables', { datasetId: suite.datasetId, tableName: 'twice', fields: [{ name: 'a', arrowType: 'int32' }], primaryKeyColumns: ['a', 'a'] });
    assert.deepEqual([response.status, response.body.code, response.body.message], [400, 'VALIDATION_ERROR', 'Primary key column "a" is named more than once']);
  });

  test('a deleted table is gone: 404 on read and write', async () => {
    const tableId = await suite.client.createTable(suite.datasetId, 'dropped', [{ name: 'id', arrowType: 'int32' }]);
    assert.equal((await suite.client.call('DELETE', `/dataset-tables/${tableId}`)).status, 204);
    assert.equal((await suite.client.call('GET', `/dataset-tables/${tableId}`)).status, 404);
    assert.equal((await suite.client.write(tableId, 'mode=append', '[]', 'application/json')).status, 404);
  });
});
