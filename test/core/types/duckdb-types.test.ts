import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  fromDuckDBTypeName,
  getStorableIntegerRange,
  toDuckDBType,
  TypeNameError,
} from '../../../src/core/types/index.ts';
import type { DataType } from '../../../src/core/types/index.ts';
import { SAMPLE_LABELS, SAMPLES } from './sample-types.ts';

const int32: DataType = { kind: 'int', bits: 32, signed: true };
const int64: DataType = { kind: 'int', bits: 64, signed: true };
const string: DataType = { kind: 'string' };
const binary: DataType = { kind: 'binary' };

/** Samples DuckDB cannot store at all: toDuckDBType throws for them. */
const UNSTORABLE = new Set(['decimal(76,10)']);

/**
 * What DuckDB keeps less of, and what comes back. Int256 is stored in 128 bits (values beyond are
 * refused at validation); DuckDB's list elements, map values and struct fields are always nullable;
 * string and binary details, float16, date units and ranges, and timezones have no column type.
 */
const LOSSY: Record<string, DataType> = {
  int256: { kind: 'int', bits: 128, signed: true },
  uint256: { kind: 'int', bits: 128, signed: false },
  float16: { kind: 'float', bits: 32 },
  'string length 10': string,
  'string fixed 3': string,
  'string lowCardinality': string,
  'string large': string,
  'binary length 8': binary,
  'binary fixed 16': binary,
  'binary large': binary,
  'date extended': { kind: 'date', unit: 'day' },
  'date ms': { kind: 'date', unit: 'day' },
  'timestamp ms UTC': { kind: 'timestamp', unit: 'ms' },
  'timestamp s Europe/Berlin': { kind: 'timestamp', unit: 's' },
  'list of non-null string': { kind: 'list', element: string, elementNullable: true },
  'map of non-null lists': {
    kind: 'map',
    key: string,
    value: { kind: 'list', element: int32, elementNullable: true },
    valueNullable: true,
  },
  'struct with odd names and a non-null field': {
    kind: 'struct',
    fields: [
      { name: 'Mixed Case', type: string, nullable: true },
      { name: 'quote"d', type: { kind: 'struct', fields: [{ name: 'x', type: int64, nullable: true }] }, nullable: true },
    ],
  },
};

/** Types that appear only in query results, as DuckDB's typeof() names them, and their nearest kind. */
const RESULT_EXPRESSIONS: [expression: string, duckdbName: string, type: DataType][] = [
  ["'2024-01-01 10:00:00+00'::TIMESTAMPTZ", 'TIMESTAMP WITH TIME ZONE', { kind: 'timestamp', unit: 'us', timezone: 'UTC' }],
  ["'10:00:00+01'::TIMETZ", 'TIME WITH TIME ZONE', { kind: 'time' }],
  ['INTERVAL 1 DAY', 'INTERVAL', string],
  ["'0101'::BIT", 'BIT', string],
  ['12345678901234567890123456789012345678901234567890::VARINT', 'BIGNUM', string],
  ["'b c'::ENUM('a', 'b c')", "ENUM('a', 'b c')", { kind: 'string', lowCardinality: true }],
  ['union_value(k := 1)', 'UNION(k INTEGER)', { kind: 'json' }],
  ["'x'::VARCHAR(3)", 'VARCHAR', string],
  ['123.45', 'DECIMAL(5,2)', { kind: 'decimal', precision: 5, scale: 2 }],
  ['NULL', '"NULL"', { kind: 'null' }],
  ["'{}'::JSON", 'JSON', { kind: 'json' }],
  ['[[1, 2]]', 'INTEGER[][]', { kind: 'list', element: { kind: 'list', element: int32, elementNullable: true }, elementNullable: true }],
  ['[1, 2]::INTEGER[2]', 'INTEGER[2]', { kind: 'list', element: int32, elementNullable: true, size: 2 }],
  ["MAP {'a': [1]}", 'MAP(VARCHAR, INTEGER[])', { kind: 'map', key: string, value: { kind: 'list', element: int32, elementNullable: true }, valueNullable: true }],
  [
    "{'a b': 1, 'c': 'x'}",
    'STRUCT("a b" INTEGER, c VARCHAR)',
    { kind: 'struct', fields: [{ name: 'a b', type: int32, nullable: true }, { name: 'c', type: string, nullable: true }] },
  ],
];

const ALIASES: [alias: string, canonical: string][] = [
  ['int', 'INTEGER'],
  ['INT8', 'BIGINT'],
  ['LONG', 'BIGINT'],
  ['bool', 'BOOLEAN'],
  ['REAL', 'FLOAT'],
  ['TEXT', 'VARCHAR'],
  ['BYTEA', 'BLOB'],
  ['DATETIME', 'TIMESTAMP'],
  ['TIMESTAMP_US', 'TIMESTAMP'],
  ['TIMESTAMPTZ', 'TIMESTAMP WITH TIME ZONE'],
  ['DECIMAL', 'DECIMAL(18,3)'],
  ['NUMERIC(10, 2)', 'DECIMAL(10,2)'],
  ['ROW(a INT)', 'STRUCT(a INTEGER)'],
  ['TIME_NS', 'TIME'],
];

let instance: DuckDBInstance;
let connection: DuckDBConnection;

before(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
});

after(() => {
  connection.closeSync();
  instance.closeSync();
});

async function readColumnTypes(table: string): Promise<Map<string, string>> {
  const result = await connection.runAndReadAll(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table}'`,
  );
  return new Map(result.getRows().map(([name, type]) => [String(name), String(type)]));
}

test('DuckDB accepts a column of every storable internal type and names it back as that type, except the named lossy ones', async () => {
  const storable = SAMPLES.filter(([label]) => !UNSTORABLE.has(label));
  const columns = storable.map(([, type], index) => `c${index} ${toDuckDBType(type)}`);
  await connection.run(`CREATE TABLE every_type (${columns.join(', ')})`);
  const declared = await readColumnTypes('every_type');
  storable.forEach(([label, type], index) => {
    const duckdbName = declared.get(`c${index}`);
    assert.ok(duckdbName !== undefined, label);
    assert.deepEqual(fromDuckDBTypeName(duckdbName), LOSSY[label] ?? type, `${label} stored as ${duckdbName}`);
  });
});

test('the DuckDB lossy table names only existing samples', () => {
  for (const label of [...Object.keys(LOSSY), ...UNSTORABLE]) assert.ok(SAMPLE_LABELS.has(label), label);
});

test('a decimal wider than 38 digits cannot be stored and says so', () => {
  assert.throws(() => toDuckDBType({ kind: 'decimal', precision: 76, scale: 10 }), {
    name: 'TypeNameError',
    typeName: 'DECIMAL(76,10)',
    message: /a decimal of 76 digits cannot be stored: decimals hold at most 38 digits/,
  });
});

test('Int256 and UInt256 are stored as HUGEINT and UHUGEINT with a 128-bit range that DuckDB enforces', async () => {
  assert.equal(toDuckDBType({ kind: 'int', bits: 256, signed: true }), 'HUGEINT');
  assert.equal(toDuckDBType({ kind: 'int', bits: 256, signed: false }), 'UHUGEINT');
  const signed = getStorableIntegerRange({ kind: 'int', bits: 256, signed: true });
  const unsigned = getStorableIntegerRange({ kind: 'int', bits: 256, signed: false });
  assert.deepEqual(signed, { min: -(2n ** 127n), max: 2n ** 127n - 1n });
  assert.deepEqual(unsigned, { min: 0n, max: 2n ** 128n - 1n });
  assert.deepEqual(getStorableIntegerRange({ kind: 'int', bits: 8, signed: true }), { min: -128n, max: 127n });
  const inRange = await connection.runAndReadAll(`SELECT ${signed.max}::HUGEINT, ${unsigned.max}::UHUGEINT`);
  assert.deepEqual(inRange.getRows(), [[signed.max, unsigned.max]]);
  await assert.rejects(connection.run(`SELECT ${signed.max + 1n}::HUGEINT`));
  await assert.rejects(connection.run(`SELECT ${unsigned.max + 1n}::UHUGEINT`));
});

for (const [expression, duckdbName, type] of RESULT_EXPRESSIONS) {
  test(`a query result of DuckDB type ${duckdbName} is named as ${JSON.stringify(type)}`, async () => {
    const result = await connection.runAndReadAll(`SELECT typeof(${expression})`);
    const [[typeofName]] = result.getRows() as [[string]];
    assert.equal(typeofName, duckdbName);
    assert.deepEqual(fromDuckDBTypeName(typeofName), type);
  });
}

test('result column types from the DuckDB client name the same types as typeof(), JSON and NULL aside', async () => {
  // The client names a JSON column VARCHAR and a NULL column INTEGER: both are still named as
  // what the client will hand over.
  const result = await connection.runAndReadAll(`SELECT ${RESULT_EXPRESSIONS.map(([expression]) => expression).join(', ')}`);
  RESULT_EXPRESSIONS.forEach(([, duckdbName, type], index) => {
    const clientName = result.columnType(index).toString();
    const expected = duckdbName === 'JSON' ? string : duckdbName === '"NULL"' ? int32 : type;
    assert.deepEqual(fromDuckDBTypeName(clientName), expected, `${duckdbName} reported as ${clientName}`);
  });
});

for (const [alias, canonical] of ALIASES) {
  test(`DuckDB "${alias}" is read like "${canonical}"`, () => {
    assert.deepEqual(fromDuckDBTypeName(alias), fromDuckDBTypeName(canonical));
  });
}

test('a struct built without field names is read with its fields named "", at any depth, a TIMESTAMP WITH TIME ZONE or NULL field included', () => {
  const unnamed = (...types: DataType[]): DataType => ({ kind: 'struct', fields: types.map((type) => ({ name: '', type, nullable: true })) });
  const utc: DataType = { kind: 'timestamp', unit: 'us', timezone: 'UTC' };
  assert.deepEqual(fromDuckDBTypeName('STRUCT(INTEGER, VARCHAR)'), unnamed(int32, string));
  assert.deepEqual(fromDuckDBTypeName('STRUCT(INTEGER, INTEGER)[]'), { kind: 'list', element: unnamed(int32, int32), elementNullable: true });
  assert.deepEqual(fromDuckDBTypeName('STRUCT(DECIMAL(10,2), TIMESTAMP WITH TIME ZONE, "NULL")'), unnamed({ kind: 'decimal', precision: 10, scale: 2 }, utc, { kind: 'null' }));
  assert.deepEqual(fromDuckDBTypeName('STRUCT(a STRUCT(BIGINT), "b c" INTEGER)'), {
    kind: 'struct', fields: [{ name: 'a', type: unnamed(int64), nullable: true }, { name: 'b c', type: int32, nullable: true }],
  });
});

test('an unknown or malformed DuckDB type name is refused with a TypeNameError', () => {
  const cases: [string, RegExp][] = [
    ['GEOMETRY', /^Unknown type "GEOMETRY"$/],
    ['STRUCT(a FOO)', /^Unknown type "FOO" in "STRUCT\(a FOO\)"$/],
    ['INTEGER[', /expected a number/],
    ['MAP(VARCHAR)', /expected ","/],
    ['DECIMAL(40,2)', /precision must be 1 to 38/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => fromDuckDBTypeName(text), (error: unknown) => {
      assert.ok(error instanceof TypeNameError);
      assert.equal(error.typeName, text);
      assert.match(error.message, message);
      return true;
    });
  }
});
