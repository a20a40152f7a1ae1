import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClickHouseType, printClickHouseType, readClickHouseType, TypeNameError } from '../../../src/core/types/index.ts';
import type { DataType, FieldType } from '../../../src/core/types/index.ts';
import { SAMPLE_LABELS, SAMPLES } from './sample-types.ts';

const notNull = (type: DataType): FieldType => ({ type, nullable: false });
const int = (bits: 8 | 16 | 32 | 64 | 128 | 256, signed = true): DataType => ({ kind: 'int', bits, signed });
const string: DataType = { kind: 'string' };

/** Every name the Tinybird spec lists, in its canonical spelling, with what it means. */
const CANONICAL_NAMES: [name: string, field: FieldType][] = [
  ...([8, 16, 32, 64, 128, 256] as const).flatMap((bits): [string, FieldType][] => [
    [`Int${bits}`, notNull(int(bits))],
    [`UInt${bits}`, notNull(int(bits, false))],
  ]),
  ['Float32', notNull({ kind: 'float', bits: 32 })],
  ['Float64', notNull({ kind: 'float', bits: 64 })],
  ['Decimal(10, 2)', notNull({ kind: 'decimal', precision: 10, scale: 2 })],
  ['String', notNull(string)],
  ['FixedString(16)', notNull({ kind: 'string', length: 16, fixed: true })],
  ['UUID', notNull({ kind: 'uuid' })],
  ['Date', notNull({ kind: 'date', unit: 'day' })],
  ['Date32', notNull({ kind: 'date', unit: 'day', extended: true })],
  ['DateTime', notNull({ kind: 'timestamp', unit: 's' })],
  ["DateTime('Europe/Berlin')", notNull({ kind: 'timestamp', unit: 's', timezone: 'Europe/Berlin' })],
  ['DateTime64(3)', notNull({ kind: 'timestamp', unit: 'ms' })],
  ['DateTime64(6)', notNull({ kind: 'timestamp', unit: 'us' })],
  ['DateTime64(9)', notNull({ kind: 'timestamp', unit: 'ns' })],
  ["DateTime64(3, 'UTC')", notNull({ kind: 'timestamp', unit: 'ms', timezone: 'UTC' })],
  ['Bool', notNull({ kind: 'boolean' })],
  ['Array(Int16)', notNull({ kind: 'list', element: int(16), elementNullable: false })],
  ['Array(Nullable(String))', notNull({ kind: 'list', element: string, elementNullable: true })],
  ['Map(String, Int64)', notNull({ kind: 'map', key: string, value: int(64), valueNullable: false })],
  [
    'Tuple(a Int32, `b c` Nullable(String))',
    notNull({
      kind: 'struct',
      fields: [
        { name: 'a', type: int(32), nullable: false },
        { name: 'b c', type: string, nullable: true },
      ],
    }),
  ],
  [
    'Tuple(Int32, String)',
    notNull({
      kind: 'struct',
      fields: [
        { name: '1', type: int(32), nullable: false },
        { name: '2', type: string, nullable: false },
      ],
    }),
  ],
  ['Nullable(String)', { type: string, nullable: true }],
  ['LowCardinality(String)', notNull({ kind: 'string', lowCardinality: true })],
  ['LowCardinality(Nullable(String))', { type: { kind: 'string', lowCardinality: true }, nullable: true }],
  [
    'Array(LowCardinality(Nullable(String)))',
    notNull({ kind: 'list', element: { kind: 'string', lowCardinality: true }, elementNullable: true }),
  ],
  ['JSON', notNull({ kind: 'json' })],
  ['Time', notNull({ kind: 'time' })],
  ['Nullable(Nothing)', { type: { kind: 'null' }, nullable: true }],
];

/** Other spellings ClickHouse (or a careless hand) uses, and the canonical name each prints as. */
const ALIASES: [alias: string, canonical: string][] = [
  ['Boolean', 'Bool'],
  ['Decimal32(2)', 'Decimal(9, 2)'],
  ['Decimal64(4)', 'Decimal(18, 4)'],
  ['Decimal128(10)', 'Decimal(38, 10)'],
  ['Decimal256(20)', 'Decimal(76, 20)'],
  ['Decimal(12)', 'Decimal(12, 0)'],
  ['Decimal', 'Decimal(10, 0)'],
  ['Array(Decimal)', 'Array(Decimal(10, 0))'],
  ['Decimal(10,2)', 'Decimal(10, 2)'],
  ['DateTime64(0)', 'DateTime'],
  // Precisions between units round up to the next unit, so no written digit is lost.
  ['DateTime64(2)', 'DateTime64(3)'],
  ['DateTime64(5, \'UTC\')', "DateTime64(6, 'UTC')"],
  ['int32', 'Int32'],
  ['UINT64', 'UInt64'],
  ['string', 'String'],
  ['nullable(string)', 'Nullable(String)'],
  ['lowcardinality(nullable(string))', 'LowCardinality(Nullable(String))'],
  ['datetime64(3)', 'DateTime64(3)'],
  ['  Array( Nullable( Int8 ) ) ', 'Array(Nullable(Int8))'],
  // LowCardinality is kept only on strings; elsewhere it is a storage hint with nothing to keep.
  ['LowCardinality(UInt32)', 'UInt32'],
];

/** Kinds and details ClickHouse has no name for, and what they come back as. */
const LOSSY: Record<string, DataType> = {
  float16: { kind: 'float', bits: 32 },
  'string length 10': string,
  'string large': string,
  binary: string,
  'binary length 8': string,
  'binary large': string,
  'binary fixed 16': { kind: 'string', length: 16, fixed: true },
  'date ms': { kind: 'date', unit: 'day' },
  'fixed-size list of 3': { kind: 'list', element: int(32), elementNullable: true },
};

const INVALID_NAMES: [text: string, message: RegExp][] = [
  ['Foo', /^Unknown type "Foo"$/],
  ['Array(Foo)', /^Unknown type "Foo" in "Array\(Foo\)"$/],
  ['', /expected a name/],
  ['Array(Int32', /expected "\)"/],
  ['Array(Int32))', /unexpected "\)"/],
  ['Decimal(100, 2)', /precision must be 1 to 76/],
  ['Decimal(5, 6)', /scale must not exceed/],
  ['DateTime64(12)', /precision must be 0 to 9/],
  ["DateTime('UTC", /unterminated '/],
  ["DateTime('Europe/Pariss')", /unknown time zone 'Europe\/Pariss'/],
  ["DateTime64(3, 'it\\'s')", /unknown time zone 'it's'/],
  ['FixedString(0)', /FixedString length must be at least 1/],
  ['FixedString(n)', /expected a number/],
  ['Nullable(Nullable(Int8))', /Nullable cannot be nested/],
  ['Map(Nullable(String), Int8)', /Map key cannot be Nullable/],
  ['Int32 Int64', /unexpected "Int64"/],
];

for (const [name, field] of CANONICAL_NAMES) {
  test(`ClickHouse "${name}" parses to its internal type and prints back unchanged`, () => {
    assert.deepEqual(parseClickHouseType(name), field);
    assert.equal(printClickHouseType(field), name);
  });
}

for (const [alias, canonical] of ALIASES) {
  test(`ClickHouse "${alias}" is read as "${canonical}"`, () => {
    assert.equal(printClickHouseType(parseClickHouseType(alias)), canonical);
    assert.deepEqual(parseClickHouseType(alias), parseClickHouseType(canonical));
  });
}

test('every internal type survives printing as ClickHouse and parsing back, except the named lossy ones', () => {
  for (const [label, type] of SAMPLES) {
    for (const nullable of [false, true]) {
      const printed = printClickHouseType({ type, nullable });
      const expected = { type: LOSSY[label] ?? type, nullable };
      assert.deepEqual(parseClickHouseType(printed), expected, `${label} printed as ${printed}`);
    }
  }
});

test('the ClickHouse lossy table names only existing samples', () => {
  for (const label of Object.keys(LOSSY)) assert.ok(SAMPLE_LABELS.has(label), label);
});

test('a nullable array prints as Nullable(Array(...)), which ClickHouse refuses but is read back', () => {
  const field: FieldType = { type: { kind: 'list', element: int(8), elementNullable: false }, nullable: true };
  assert.equal(printClickHouseType(field), 'Nullable(Array(Int8))');
  assert.deepEqual(parseClickHouseType('Nullable(Array(Int8))'), field);
});

test("a tuple whose fields DuckDB left unnamed ((1, 'a') in SQL) prints as ClickHouse's unnamed tuple", () => {
  const fields = [{ name: '', type: { kind: 'int', bits: 32, signed: true }, nullable: false }, { name: '', type: { kind: 'string' }, nullable: false }] as const;
  assert.equal(printClickHouseType(notNull({ kind: 'struct', fields: [...fields] })), 'Tuple(Int32, String)');
});

test('a time zone is an IANA name or an offset; one with a quote is escaped when printed', () => {
  for (const timezone of ['Europe/Paris', 'UTC', 'Etc/GMT+7', '+05:30', '-03:00']) {
    const field = notNull({ kind: 'timestamp', unit: 'ms', timezone });
    assert.deepEqual(parseClickHouseType(printClickHouseType(field)), field, timezone);
  }
  assert.equal(printClickHouseType(notNull({ kind: 'timestamp', unit: 'ms', timezone: "it's" })), "DateTime64(3, 'it\\'s')");
});

for (const [text, message] of INVALID_NAMES) {
  test(`ClickHouse "${text}" is refused with a TypeNameError matching ${message}`, () => {
    assert.throws(() => parseClickHouseType(text), (error: unknown) => {
      assert.ok(error instanceof TypeNameError);
      assert.equal(error.typeName, text);
      assert.match(error.message, message);
      return true;
    });
  });
}

test('types nest at most 8 levels of Array, Map and Tuple; deeper ones, and stacked Nullable or LowCardinality of any depth, are refused without overflowing', () => {
  const nest = (depth: number, wrap: (inner: string) => string) => Array.from({ length: depth }).reduce<string>((inner) => wrap(inner), 'Int32');
  for (const wrap of [(inner: string) => `Array(${inner})`, (inner: string) => `Map(String, ${inner})`, (inner: string) => `Tuple(x ${inner})`]) {
    assert.doesNotThrow(() => parseClickHouseType(nest(8, wrap)));
    for (const depth of [9, 100_000]) {
      assert.throws(() => parseClickHouseType(nest(depth, wrap)), (error: unknown) => error instanceof TypeNameError && /nest at most 8 levels deep/.test(error.message) && error.message.length < 400);
    }
  }
  assert.deepEqual(parseClickHouseType('LowCardinality(Nullable(String))'), { type: { kind: 'string', lowCardinality: true }, nullable: true });
  for (const wrap of [(inner: string) => `Nullable(${inner})`, (inner: string) => `LowCardinality(Nullable(${inner}))`]) {
    assert.throws(() => parseClickHouseType(nest(100_000, wrap)), TypeNameError);
  }
});

test('readClickHouseType reads the type inside a schema column and ends just past it', () => {
  const column = "`tags` Array(LowCardinality(String)) `json:$.tags[:]` DEFAULT []";
  const start = '`tags` '.length;
  const { field, end } = readClickHouseType(column, start);
  assert.deepEqual(field, notNull({ kind: 'list', element: { kind: 'string', lowCardinality: true }, elementNullable: false }));
  assert.equal(column.slice(start, end), 'Array(LowCardinality(String))');
  assert.equal(readClickHouseType('Nullable(Int8), b String').end, 'Nullable(Int8)'.length);
});
