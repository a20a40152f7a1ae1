import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSqlType, printSqlType, readSqlType, TypeNameError } from '../../../src/core/types/index.ts';
import type { DataType, FieldType } from '../../../src/core/types/index.ts';
import { SAMPLE_LABELS, SAMPLES } from './sample-types.ts';

const nullable = (type: DataType): FieldType => ({ type, nullable: true });
const int = (bits: 8 | 16 | 32 | 64, signed = true): DataType => ({ kind: 'int', bits, signed });
const string: DataType = { kind: 'string' };

/** Every name the Feldera spec lists, in its canonical spelling, with what it means. */
const CANONICAL_NAMES: [name: string, field: FieldType][] = [
  ['BOOLEAN', nullable({ kind: 'boolean' })],
  ['TINYINT', nullable(int(8))],
  ['SMALLINT', nullable(int(16))],
  ['INTEGER', nullable(int(32))],
  ['BIGINT', nullable(int(64))],
  ['TINYINT UNSIGNED', nullable(int(8, false))],
  ['SMALLINT UNSIGNED', nullable(int(16, false))],
  ['INTEGER UNSIGNED', nullable(int(32, false))],
  ['BIGINT UNSIGNED', nullable(int(64, false))],
  ['DECIMAL(10, 2)', nullable({ kind: 'decimal', precision: 10, scale: 2 })],
  ['REAL', nullable({ kind: 'float', bits: 32 })],
  ['DOUBLE', nullable({ kind: 'float', bits: 64 })],
  ['VARCHAR', nullable(string)],
  ['VARCHAR(20)', nullable({ kind: 'string', length: 20 })],
  ['CHAR(3)', nullable({ kind: 'string', length: 3, fixed: true })],
  ['DATE', nullable({ kind: 'date', unit: 'day' })],
  ['TIME', nullable({ kind: 'time' })],
  ['TIMESTAMP', nullable({ kind: 'timestamp', unit: 'us' })],
  ['TIMESTAMP(3)', nullable({ kind: 'timestamp', unit: 'ms' })],
  ['BINARY(16)', nullable({ kind: 'binary', length: 16, fixed: true })],
  ['VARBINARY', nullable({ kind: 'binary' })],
  ['INTEGER ARRAY', nullable({ kind: 'list', element: int(32), elementNullable: true })],
  [
    'INTEGER ARRAY ARRAY',
    nullable({
      kind: 'list',
      element: { kind: 'list', element: int(32), elementNullable: true },
      elementNullable: true,
    }),
  ],
  ['MAP<VARCHAR, BIGINT>', nullable({ kind: 'map', key: string, value: int(64), valueNullable: true })],
  [
    'ROW(a INTEGER NOT NULL, b VARCHAR NULL)',
    nullable({
      kind: 'struct',
      fields: [
        { name: 'a', type: int(32), nullable: false },
        { name: 'b', type: string, nullable: true },
      ],
    }),
  ],
  ['VARIANT', nullable({ kind: 'json' })],
  ['UUID', nullable({ kind: 'uuid' })],
  ['NULL', nullable({ kind: 'null' })],
  ['BIGINT NOT NULL', { type: int(64), nullable: false }],
  ['VARCHAR ARRAY NOT NULL', { type: { kind: 'list', element: string, elementNullable: true }, nullable: false }],
  // Not Feldera syntax: printed only so that non-null elements and values are not lost.
  ['INTEGER NOT NULL ARRAY', nullable({ kind: 'list', element: int(32), elementNullable: false })],
  ['MAP<VARCHAR, BIGINT NOT NULL>', nullable({ kind: 'map', key: string, value: int(64), valueNullable: false })],
];

/** Feldera's aliases and other accepted spellings, and the canonical name each prints as. */
const ALIASES: [alias: string, canonical: string][] = [
  ['BOOL', 'BOOLEAN'],
  ['INT', 'INTEGER'],
  ['INT4', 'INTEGER'],
  ['SIGNED', 'INTEGER'],
  ['INT2', 'SMALLINT'],
  ['INT8', 'BIGINT'],
  ['INT64', 'BIGINT'],
  ['INT UNSIGNED', 'INTEGER UNSIGNED'],
  ['UNSIGNED', 'INTEGER UNSIGNED'],
  ['NUMERIC(10,2)', 'DECIMAL(10, 2)'],
  ['DEC(5)', 'DECIMAL(5, 0)'],
  ['NUMBER(7, 1)', 'DECIMAL(7, 1)'],
  ['DECIMAL', 'DECIMAL(38, 0)'],
  ['FLOAT4', 'REAL'],
  ['FLOAT32', 'REAL'],
  ['FLOAT8', 'DOUBLE'],
  ['FLOAT64', 'DOUBLE'],
  ['DOUBLE PRECISION', 'DOUBLE'],
  ['STRING', 'VARCHAR'],
  ['TEXT', 'VARCHAR'],
  ['CHARACTER VARYING(10)', 'VARCHAR(10)'],
  ['CHARACTER(4)', 'CHAR(4)'],
  ['CHAR', 'CHAR(1)'],
  ['BYTEA', 'VARBINARY'],
  ['BINARY VARYING(8)', 'VARBINARY(8)'],
  ['DATETIME', 'TIMESTAMP'],
  ['TIMESTAMP(6) WITHOUT TIME ZONE', 'TIMESTAMP'],
  ['TIME(3)', 'TIME'],
  ['varchar not null', 'VARCHAR NOT NULL'],
  ['int array', 'INTEGER ARRAY'],
  ['map<varchar, int>', 'MAP<VARCHAR, INTEGER>'],
  ['row(x int)', 'ROW(x INTEGER NOT NULL)'],
  ['ROW(Field INT, "Field" INT)', 'ROW(field INTEGER NOT NULL, "Field" INTEGER NOT NULL)'],
  ['BIGINT NULL', 'BIGINT'],
];

/** Kinds and details Feldera has no name for, and what they come back as. */
const WIDE_INTEGER: DataType = { kind: 'decimal', precision: 38, scale: 0 };
const LOSSY: Record<string, DataType> = {
  int128: WIDE_INTEGER,
  uint128: WIDE_INTEGER,
  int256: WIDE_INTEGER,
  uint256: WIDE_INTEGER,
  float16: { kind: 'float', bits: 32 },
  'string lowCardinality': string,
  'string large': string,
  'binary large': { kind: 'binary' },
  'date extended': { kind: 'date', unit: 'day' },
  'date ms': { kind: 'date', unit: 'day' },
  'timestamp ms UTC': { kind: 'timestamp', unit: 'ms' },
  'timestamp s Europe/Berlin': { kind: 'timestamp', unit: 's' },
  'fixed-size list of 3': { kind: 'list', element: { kind: 'int', bits: 32, signed: true }, elementNullable: true },
};

const INVALID_NAMES: [text: string, message: RegExp][] = [
  ['FOO', /^Unknown type "FOO"$/],
  ['INT ARRAY ARRAY FOO', /unexpected "FOO"/],
  ['FLOAT', /^Unknown type "FLOAT": Feldera has no FLOAT; use REAL or DOUBLE$/],
  ['MAP<INT ARRAY, GEOMETRY>', /^Unknown type "GEOMETRY" in "MAP<INT ARRAY, GEOMETRY>"$/],
  ['', /expected a name/],
  ['DECIMAL(10, 2', /expected "\)"/],
  ['DECIMAL(0)', /precision must be 1 to 76/],
  ['MAP<VARCHAR INT>', /expected ","/],
  ['MAP<VARCHAR NULL, INT>', /MAP key cannot be NULL/],
  ['ROW()', /expected a name/],
  ['TIMESTAMP WITH TIME ZONE', /unexpected "WITH TIME ZONE"/],
  ['BIGINT NOT', /unexpected "NOT"/],
];

for (const [name, field] of CANONICAL_NAMES) {
  test(`SQL "${name}" parses to its internal type and prints back unchanged`, () => {
    assert.deepEqual(parseSqlType(name), field);
    assert.equal(printSqlType(field), name);
  });
}

for (const [alias, canonical] of ALIASES) {
  test(`SQL "${alias}" is read as "${canonical}"`, () => {
    assert.equal(printSqlType(parseSqlType(alias)), canonical);
    assert.deepEqual(parseSqlType(alias), parseSqlType(canonical));
  });
}

test('every internal type survives printing as SQL and parsing back, except the named lossy ones', () => {
  for (const [label, type] of SAMPLES) {
    for (const isNullable of [false, true]) {
      const printed = printSqlType({ type, nullable: isNullable });
      const expected = { type: LOSSY[label] ?? type, nullable: isNullable };
      assert.deepEqual(parseSqlType(printed), expected, `${label} printed as ${printed}`);
    }
  }
});

test('the SQL lossy table names only existing samples', () => {
  for (const label of Object.keys(LOSSY)) assert.ok(SAMPLE_LABELS.has(label), label);
});

test('a ROW field without a suffix is NOT NULL, and names that are not lower case are quoted', () => {
  const field = parseSqlType('ROW("Mixed Case" INT, plain VARCHAR NULL) NOT NULL');
  assert.deepEqual(field, {
    type: {
      kind: 'struct',
      fields: [
        { name: 'Mixed Case', type: int(32), nullable: false },
        { name: 'plain', type: string, nullable: true },
      ],
    },
    nullable: false,
  });
  assert.equal(printSqlType(field), 'ROW("Mixed Case" INTEGER NOT NULL, plain VARCHAR NULL) NOT NULL');
});

for (const [text, message] of INVALID_NAMES) {
  test(`SQL "${text}" is refused with a TypeNameError matching ${message}`, () => {
    assert.throws(() => parseSqlType(text), (error: unknown) => {
      assert.ok(error instanceof TypeNameError);
      assert.equal(error.typeName, text);
      assert.match(error.message, message);
      return true;
    });
  });
}

test('types nest at most 8 levels of ARRAY, MAP and ROW; deeper ones are refused without overflowing', () => {
  const nest = (depth: number, wrap: (inner: string) => string) => Array.from({ length: depth }).reduce<string>((inner) => wrap(inner), 'INT');
  for (const wrap of [(inner: string) => `${inner} ARRAY`, (inner: string) => `MAP<INT, ${inner}>`, (inner: string) => `ROW(x ${inner})`]) {
    assert.doesNotThrow(() => parseSqlType(nest(8, wrap)));
    for (const depth of [9, 100_000]) {
      assert.throws(() => parseSqlType(nest(depth, wrap)), (error: unknown) => error instanceof TypeNameError && /nest (at most 8|\d+) levels deep/.test(error.message));
      assert.throws(() => readSqlType(`${nest(depth, wrap)} NOT NULL, b INT`), TypeNameError);
    }
  }
  // ARRAY suffixes are counted with the brackets around them.
  assert.throws(() => parseSqlType(`ROW(x ${nest(4, (inner) => `${inner} ARRAY`)}) ${'ARRAY '.repeat(4)}`), /nest 9 levels deep; at most 8 are allowed/);
});

test('readSqlType reads a column type with its NOT NULL and stops before PRIMARY KEY or a comma', () => {
  const definition = 'id BIGINT UNSIGNED NOT NULL PRIMARY KEY, tags VARCHAR ARRAY)';
  const first = readSqlType(definition, 'id '.length);
  assert.deepEqual(first.field, { type: int(64, false), nullable: false });
  assert.equal(definition.slice(first.end), ' PRIMARY KEY, tags VARCHAR ARRAY)');
  const second = readSqlType(definition, definition.indexOf('VARCHAR'));
  assert.deepEqual(second.field, nullable({ kind: 'list', element: string, elementNullable: true }));
  assert.equal(definition.slice(second.end), ')');
  // A failed look-ahead for NOT NULL must not count the spaces it skipped as part of the type.
  const third = readSqlType('INT  DEFAULT 1');
  assert.equal(third.end, 'INT'.length);
});
