import { applyKindTable } from './data-type.ts';
import type { DataType, KindTable, StructField, TimeUnit } from './data-type.ts';
import { isTimeZone } from './time-zone.ts';
import { TypeNameReader } from './type-name-reader.ts';

// Arrow type names as Catalyzed spells them, case-insensitive. Nested types follow pyarrow's
// spelling: `list<utf8>`, `map<utf8, int32>`, `struct<a: int32, b: utf8 not null>`. A list element,
// map value or struct field is nullable unless followed by `not null` (Arrow's default).

type ReadType = (reader: TypeNameReader) => DataType;

const always =
  (type: DataType): ReadType =>
  () =>
    type;

function readBracketed<T>(reader: TypeNameReader, read: (reader: TypeNameReader) => T): T {
  reader.expectSymbol('[');
  const value = read(reader);
  reader.expectSymbol(']');
  return value;
}

function readUnit(reader: TypeNameReader, allowed: readonly TimeUnit[]): TimeUnit {
  const unit = reader.readWord().toLowerCase();
  return allowed.find((candidate) => candidate === unit) ?? reader.fail(`time unit must be ${allowed.join(', ')}`);
}

const ALL_UNITS: readonly TimeUnit[] = ['s', 'ms', 'us', 'ns'];

function readTimestamp(reader: TypeNameReader): DataType {
  if (reader.peekChar() !== '[') return { kind: 'timestamp', unit: 'us' };
  return readBracketed(reader, (r) => {
    const unit = readUnit(r, ALL_UNITS);
    if (!r.acceptSymbol(',')) return { kind: 'timestamp', unit };
    if (!r.acceptWords('tz')) r.fail('expected "tz="');
    r.expectSymbol('=');
    const timezone = r.readUntil(']');
    if (!isTimeZone(timezone.trim())) r.fail(`unknown time zone "${timezone}"`);
    return { kind: 'timestamp', unit, timezone };
  });
}

/** `time32[s|ms]` and `time64[us|ns]` are all one time of day; the model keeps no unit for time. */
const readTime =
  (units: readonly TimeUnit[]): ReadType =>
  (reader) => {
    readBracketed(reader, (r) => readUnit(r, units));
    return { kind: 'time' };
  };

/** A list or map member: `T`, `T not null`, or pyarrow's labelled `item: T`. */
function readMember(reader: TypeNameReader): { type: DataType; nullable: boolean } {
  reader.acceptLabel('"');
  const type = readType(reader);
  return { type, nullable: !reader.acceptWords('not', 'null') };
}

const MAX_FIXED_SIZE = 100_000;

function readList(reader: TypeNameReader, size?: number): DataType {
  reader.expectSymbol('<');
  const { type, nullable } = reader.nested(() => readMember(reader));
  reader.expectSymbol('>');
  return { kind: 'list', element: type, elementNullable: nullable, ...(size === undefined ? {} : { size }) };
}

function readMap(reader: TypeNameReader): DataType {
  reader.expectSymbol('<');
  const key = reader.nested(() => readMember(reader));
  reader.expectSymbol(',');
  const value = reader.nested(() => readMember(reader));
  reader.expectSymbol('>');
  return { kind: 'map', key: key.type, value: value.type, valueNullable: value.nullable };
}

function readStruct(reader: TypeNameReader): DataType {
  reader.expectSymbol('<');
  const fields: StructField[] = [];
  do {
    const name = reader.acceptLabel('"') ?? reader.fail('expected "name: type"');
    const { type, nullable } = reader.nested(() => readMember(reader));
    fields.push({ name, type, nullable });
  } while (reader.acceptSymbol(','));
  reader.expectSymbol('>');
  return { kind: 'struct', fields };
}

const INTEGER_READERS: Record<string, ReadType> = Object.fromEntries(
  ([8, 16, 32, 64, 128, 256] as const).flatMap((bits) => [
    [`int${bits}`, always({ kind: 'int', bits, signed: true })],
    [`uint${bits}`, always({ kind: 'int', bits, signed: false })],
  ]),
);

/**
 * Lower-case name → reader of what follows the name. Add a name by adding a row.
 * int128/int256/uint128/uint256 are not Arrow types; they are read back because they are printed
 * (see ARROW_NAMES).
 */
const ARROW_READERS: Record<string, ReadType> = {
  ...INTEGER_READERS,
  float16: always({ kind: 'float', bits: 16 }),
  float32: always({ kind: 'float', bits: 32 }),
  float: always({ kind: 'float', bits: 32 }),
  float64: always({ kind: 'float', bits: 64 }),
  double: always({ kind: 'float', bits: 64 }),
  decimal128: (reader) => reader.readDecimalArguments(38),
  decimal256: (reader) => reader.readDecimalArguments(76),
  decimal: (reader) => reader.readDecimalArguments(76),
  utf8: always({ kind: 'string' }),
  string: always({ kind: 'string' }),
  largeutf8: always({ kind: 'string', large: true }),
  large_utf8: always({ kind: 'string', large: true }),
  largestring: always({ kind: 'string', large: true }),
  large_string: always({ kind: 'string', large: true }),
  binary: always({ kind: 'binary' }),
  largebinary: always({ kind: 'binary', large: true }),
  large_binary: always({ kind: 'binary', large: true }),
  fixed_size_binary: (reader) => ({ kind: 'binary', length: readBracketed(reader, (r) => r.readInteger()), fixed: true }),
  bool: always({ kind: 'boolean' }),
  boolean: always({ kind: 'boolean' }),
  date32: always({ kind: 'date', unit: 'day' }),
  date64: always({ kind: 'date', unit: 'ms' }),
  time32: readTime(['s', 'ms']),
  time64: readTime(['us', 'ns']),
  timestamp: readTimestamp,
  list: (reader) => readList(reader),
  // DuckDB's ARRAY holds 1 to 100,000 elements.
  fixed_size_list: (reader) => readList(reader, readBracketed(reader, (r) => {
    const size = r.readInteger();
    return size >= 1 && size <= MAX_FIXED_SIZE ? size : r.fail(`a fixed_size_list holds 1 to ${MAX_FIXED_SIZE} elements`);
  })),
  map: readMap,
  struct: readStruct,
  null: always({ kind: 'null' }),
};

function readType(reader: TypeNameReader): DataType {
  const name = reader.readWord();
  const read = ARROW_READERS[name.toLowerCase()] ?? reader.failUnknown(name);
  return read(reader);
}

export function parseArrowType(text: string): DataType {
  const reader = new TypeNameReader(text);
  const type = readType(reader);
  reader.expectEnd();
  return reader.checkNesting(type);
}

const quoteName = (name: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;

const printMember = (type: DataType, nullable: boolean): string =>
  `${printArrowType(type)}${nullable ? '' : ' not null'}`;

/**
 * Names for every kind. Arrow has no name for some kinds; they print as the Arrow type that would
 * carry their values, and what is lost comes back different:
 * - uuid and json → `utf8`, the text form Catalyzed clients read and write;
 * - 128- and 256-bit integers → `int128`, `uint256`, … — not Arrow types, but exact, whereas
 *   `decimal128(38, 0)` would change the kind and still not hold every uint128;
 * - decimal → `decimal128(p, s)`, or `decimal256(p, s)` above 38 digits;
 * - time → `time64[us]`; a string's `length`, `fixed` or `lowCardinality` → `utf8`;
 *   a binary `length` without `fixed` → `binary`; Date32's `extended` → `date32`.
 */
const ARROW_NAMES: KindTable<string> = {
  boolean: () => 'bool',
  int: ({ bits, signed }) => `${signed ? '' : 'u'}int${bits}`,
  float: ({ bits }) => `float${bits}`,
  decimal: ({ precision, scale }) => `decimal${precision <= 38 ? 128 : 256}(${precision}, ${scale})`,
  string: ({ large }) => (large === true ? 'largeutf8' : 'utf8'),
  binary: ({ length, fixed, large }) =>
    fixed === true && length !== undefined ? `fixed_size_binary[${length}]` : large === true ? 'largebinary' : 'binary',
  uuid: () => 'utf8',
  date: ({ unit }) => (unit === 'ms' ? 'date64' : 'date32'),
  time: () => 'time64[us]',
  timestamp: ({ unit, timezone }) => `timestamp[${unit}${timezone === undefined ? '' : `, tz=${timezone}`}]`,
  list: ({ element, elementNullable, size }) =>
    size === undefined
      ? `list<${printMember(element, elementNullable)}>`
      : `fixed_size_list[${size}]<${printMember(element, elementNullable)}>`,
  map: ({ key, value, valueNullable }) => `map<${printArrowType(key)}, ${printMember(value, valueNullable)}>`,
  struct: ({ fields }) =>
    `struct<${fields.map(({ name, type, nullable }) => `${quoteName(name)}: ${printMember(type, nullable)}`).join(', ')}>`,
  json: () => 'utf8',
  null: () => 'null',
};

export function printArrowType(type: DataType): string {
  return applyKindTable(ARROW_NAMES, type);
}
