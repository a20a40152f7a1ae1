import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArrowType, printArrowType, TypeNameError } from '../../../src/core/types/index.ts';
import type { DataType } from '../../../src/core/types/index.ts';
import { SAMPLE_LABELS, SAMPLES } from './sample-types.ts';

const int = (bits: 8 | 16 | 32 | 64 | 128 | 256, signed = true): DataType => ({ kind: 'int', bits, signed });
const string: DataType = { kind: 'string' };

/** Every name the Catalyzed spec lists, in its canonical spelling, with what it means. */
const CANONICAL_NAMES: [name: string, type: DataType][] = [
  ...([8, 16, 32, 64] as const).flatMap((bits): [string, DataType][] => [
    [`int${bits}`, int(bits)],
    [`uint${bits}`, int(bits, false)],
  ]),
  ['float16', { kind: 'float', bits: 16 }],
  ['float32', { kind: 'float', bits: 32 }],
  ['float64', { kind: 'float', bits: 64 }],
  ['utf8', string],
  ['largeutf8', { kind: 'string', large: true }],
  ['binary', { kind: 'binary' }],
  ['largebinary', { kind: 'binary', large: true }],
  ['bool', { kind: 'boolean' }],
  ['date32', { kind: 'date', unit: 'day' }],
  ['date64', { kind: 'date', unit: 'ms' }],
  ['timestamp[s]', { kind: 'timestamp', unit: 's' }],
  ['timestamp[ms]', { kind: 'timestamp', unit: 'ms' }],
  ['timestamp[us]', { kind: 'timestamp', unit: 'us' }],
  ['timestamp[ns]', { kind: 'timestamp', unit: 'ns' }],
  ['list<utf8>', { kind: 'list', element: string, elementNullable: true }],
  ['list<list<int32>>', { kind: 'list', element: { kind: 'list', element: int(32), elementNullable: true }, elementNullable: true }],
  ['fixed_size_list[3]<float32>', { kind: 'list', element: { kind: 'float', bits: 32 }, elementNullable: true, size: 3 }],
  ['null', { kind: 'null' }],
  // Names printed for kinds the spec does not list, so that any table can be listed here.
  ['decimal128(10, 2)', { kind: 'decimal', precision: 10, scale: 2 }],
  ['decimal256(50, 4)', { kind: 'decimal', precision: 50, scale: 4 }],
  ['int128', int(128)],
  ['uint256', int(256, false)],
  ['fixed_size_binary[16]', { kind: 'binary', length: 16, fixed: true }],
  ['time64[us]', { kind: 'time' }],
  ['timestamp[ms, tz=Europe/Berlin]', { kind: 'timestamp', unit: 'ms', timezone: 'Europe/Berlin' }],
  ['timestamp[s, tz=+05:30]', { kind: 'timestamp', unit: 's', timezone: '+05:30' }],
  ['list<int32 not null>', { kind: 'list', element: int(32), elementNullable: false }],
  ['map<utf8, int64>', { kind: 'map', key: string, value: int(64), valueNullable: true }],
  ['map<utf8, int64 not null>', { kind: 'map', key: string, value: int(64), valueNullable: false }],
  [
    'struct<a: int32, "b c": utf8 not null>',
    {
      kind: 'struct',
      fields: [
        { name: 'a', type: int(32), nullable: true },
        { name: 'b c', type: string, nullable: false },
      ],
    },
  ],
];

/** The spec's aliases and other accepted spellings, and the canonical name each prints as. */
const ALIASES: [alias: string, canonical: string][] = [
  ['float', 'float32'],
  ['double', 'float64'],
  ['string', 'utf8'],
  ['large_utf8', 'largeutf8'],
  ['largestring', 'largeutf8'],
  ['large_string', 'largeutf8'],
  ['large_binary', 'largebinary'],
  ['boolean', 'bool'],
  ['timestamp', 'timestamp[us]'],
  ['INT64', 'int64'],
  ['Utf8', 'utf8'],
  ['Timestamp[MS]', 'timestamp[ms]'],
  ['LIST<STRING>', 'list<utf8>'],
  ['list<item: int32>', 'list<int32>'],
  ['Fixed_Size_List[2]<Double>', 'fixed_size_list[2]<float64>'],
  ['decimal128(10,2)', 'decimal128(10, 2)'],
  ['decimal(10, 2)', 'decimal128(10, 2)'],
  ['time32[ms]', 'time64[us]'],
  ['time64[ns]', 'time64[us]'],
];

/** Kinds and details Arrow has no name for, and what they come back as. */
const LOSSY: Record<string, DataType> = {
  'string length 10': string,
  'string fixed 3': string,
  'string lowCardinality': string,
  'binary length 8': { kind: 'binary' },
  uuid: string,
  json: string,
  'date extended': { kind: 'date', unit: 'day' },
};

const INVALID_NAMES: [text: string, message: RegExp][] = [
  ['foo', /^Unknown type "foo"$/],
  ['list<foo>', /^Unknown type "foo" in "list<foo>"$/],
  ['', /expected a name/],
  ['list<utf8', /expected ">"/],
  ['timestamp[hours]', /time unit must be s, ms, us, ns/],
  ['timestamp[ms, zone=UTC]', /expected "tz="/],
  ['timestamp[us, tz=Nowhere]', /unknown time zone "Nowhere"/],
  ['time32[us]', /time unit must be s, ms/],
  ['fixed_size_list<utf8>', /expected "\["/],
  ['fixed_size_list[0]<int32>', /a fixed_size_list holds 1 to 100000 elements/],
  ['fixed_size_list[99999999999]<int32>', /a fixed_size_list holds 1 to 100000 elements/],
  ['decimal128(40, 2)', /precision must be 1 to 38/],
  ['struct<int32>', /expected "name: type"/],
  ['utf8 utf8', /unexpected "utf8"/],
];

for (const [name, type] of CANONICAL_NAMES) {
  test(`Arrow "${name}" parses to its internal type and prints back unchanged`, () => {
    assert.deepEqual(parseArrowType(name), type);
    assert.equal(printArrowType(type), name);
  });
}

for (const [alias, canonical] of ALIASES) {
  test(`Arrow "${alias}" is read as "${canonical}"`, () => {
    assert.equal(printArrowType(parseArrowType(alias)), canonical);
    assert.deepEqual(parseArrowType(alias), parseArrowType(canonical));
  });
}

test('every internal type survives printing as Arrow and parsing back, except the named lossy ones', () => {
  for (const [label, type] of SAMPLES) {
    const printed = printArrowType(type);
    assert.deepEqual(parseArrowType(printed), LOSSY[label] ?? type, `${label} printed as ${printed}`);
  }
});

test('the Arrow lossy table names only existing samples', () => {
  for (const label of Object.keys(LOSSY)) assert.ok(SAMPLE_LABELS.has(label), label);
});

test('uuid and json list as utf8 in Arrow', () => {
  assert.equal(printArrowType({ kind: 'uuid' }), 'utf8');
  assert.equal(printArrowType({ kind: 'json' }), 'utf8');
});

for (const [text, message] of INVALID_NAMES) {
  test(`Arrow "${text}" is refused with a TypeNameError matching ${message}`, () => {
    assert.throws(() => parseArrowType(text), (error: unknown) => {
      assert.ok(error instanceof TypeNameError);
      assert.equal(error.typeName, text);
      assert.match(error.message, message);
      return true;
    });
  });
}

test('types nest at most 8 levels of list, map and struct; deeper ones are refused without overflowing', () => {
  const nest = (depth: number, wrap: (inner: string) => string) => Array.from({ length: depth }).reduce<string>((inner) => wrap(inner), 'int32');
  for (const wrap of [(inner: string) => `list<${inner}>`, (inner: string) => `map<utf8, ${inner}>`, (inner: string) => `struct<x: ${inner}>`]) {
    assert.doesNotThrow(() => parseArrowType(nest(8, wrap)));
    for (const depth of [9, 100_000]) {
      assert.throws(() => parseArrowType(nest(depth, wrap)), (error: unknown) => error instanceof TypeNameError && /nest at most 8 levels deep/.test(error.message));
    }
  }
});
