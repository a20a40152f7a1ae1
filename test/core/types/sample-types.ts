import type { DataType, DataTypeKind } from '../../../src/core/types/index.ts';

const int32: DataType = { kind: 'int', bits: 32, signed: true };
const int64: DataType = { kind: 'int', bits: 64, signed: true };
const string: DataType = { kind: 'string' };

const integers = Object.fromEntries(
  ([8, 16, 32, 64, 128, 256] as const).flatMap((bits) => [
    [`int${bits}`, { kind: 'int', bits, signed: true }],
    [`uint${bits}`, { kind: 'int', bits, signed: false }],
  ]),
) as Record<string, DataType>;

/**
 * Internal types in the canonical form the parsers produce, grouped by kind so that a new kind
 * fails to compile here until it has samples. Dialect tests name the lossy ones by label.
 */
export const SAMPLE_TYPES: Record<DataTypeKind, Record<string, DataType>> = {
  boolean: { boolean: { kind: 'boolean' } },
  int: integers,
  float: {
    float16: { kind: 'float', bits: 16 },
    float32: { kind: 'float', bits: 32 },
    float64: { kind: 'float', bits: 64 },
  },
  decimal: {
    'decimal(10,2)': { kind: 'decimal', precision: 10, scale: 2 },
    'decimal(38,0)': { kind: 'decimal', precision: 38, scale: 0 },
    'decimal(76,10)': { kind: 'decimal', precision: 76, scale: 10 },
  },
  string: {
    string,
    'string length 10': { kind: 'string', length: 10 },
    'string fixed 3': { kind: 'string', length: 3, fixed: true },
    'string lowCardinality': { kind: 'string', lowCardinality: true },
    'string large': { kind: 'string', large: true },
  },
  binary: {
    binary: { kind: 'binary' },
    'binary length 8': { kind: 'binary', length: 8 },
    'binary fixed 16': { kind: 'binary', length: 16, fixed: true },
    'binary large': { kind: 'binary', large: true },
  },
  uuid: { uuid: { kind: 'uuid' } },
  date: {
    date: { kind: 'date', unit: 'day' },
    'date extended': { kind: 'date', unit: 'day', extended: true },
    'date ms': { kind: 'date', unit: 'ms' },
  },
  time: { time: { kind: 'time' } },
  timestamp: {
    'timestamp s': { kind: 'timestamp', unit: 's' },
    'timestamp ms': { kind: 'timestamp', unit: 'ms' },
    'timestamp us': { kind: 'timestamp', unit: 'us' },
    'timestamp ns': { kind: 'timestamp', unit: 'ns' },
    'timestamp ms UTC': { kind: 'timestamp', unit: 'ms', timezone: 'UTC' },
    'timestamp s Europe/Berlin': { kind: 'timestamp', unit: 's', timezone: 'Europe/Berlin' },
  },
  list: {
    'list of nullable int32': { kind: 'list', element: int32, elementNullable: true },
    'list of non-null string': { kind: 'list', element: string, elementNullable: false },
    'list of lists': {
      kind: 'list',
      element: { kind: 'list', element: int64, elementNullable: true },
      elementNullable: true,
    },
    'fixed-size list of 3': { kind: 'list', element: int32, elementNullable: true, size: 3 },
  },
  map: {
    'map of nullable values': { kind: 'map', key: string, value: int64, valueNullable: true },
    'map of non-null lists': {
      kind: 'map',
      key: string,
      value: { kind: 'list', element: int32, elementNullable: true },
      valueNullable: false,
    },
  },
  struct: {
    'struct of nullable fields': {
      kind: 'struct',
      fields: [
        { name: 'a', type: int32, nullable: true },
        { name: 'b', type: { kind: 'list', element: string, elementNullable: true }, nullable: true },
      ],
    },
    'struct with odd names and a non-null field': {
      kind: 'struct',
      fields: [
        { name: 'Mixed Case', type: string, nullable: false },
        { name: 'quote"d', type: { kind: 'struct', fields: [{ name: 'x', type: int64, nullable: true }] }, nullable: true },
      ],
    },
  },
  json: { json: { kind: 'json' } },
  null: { null: { kind: 'null' } },
};

export const SAMPLES: [label: string, type: DataType][] = Object.values(SAMPLE_TYPES).flatMap((byLabel) =>
  Object.entries(byLabel),
);

export const SAMPLE_LABELS = new Set(SAMPLES.map(([label]) => label));
