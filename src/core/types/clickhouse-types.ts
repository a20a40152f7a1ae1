import { applyKindTable, getTimeUnitForDigits, TIME_UNIT_DIGITS } from './data-type.ts';
import type { DataType, FieldType, KindTable, StructField } from './data-type.ts';
import { isTimeZone } from './time-zone.ts';
import { TypeNameReader } from './type-name-reader.ts';

// ClickHouse (Tinybird) type names. ClickHouse itself is case-sensitive; names are matched
// case-insensitively here so that `int32` or `nullable(string)` is understood rather than refused.

type ReadField = (reader: TypeNameReader) => FieldType;

const MAX_DECIMAL_PRECISION = 76;

const notNull = (type: DataType): FieldType => ({ type, nullable: false });
const always =
  (type: DataType): ReadField =>
  () =>
    notNull(type);

function readInParentheses<T>(reader: TypeNameReader, read: (reader: TypeNameReader) => T): T {
  reader.expectSymbol('(');
  const value = read(reader);
  reader.expectSymbol(')');
  return value;
}

function readTimezone(reader: TypeNameReader): string {
  const timezone = reader.readQuoted("'", true);
  if (!isTimeZone(timezone)) reader.fail(`unknown time zone '${timezone}'`);
  return timezone;
}

function readDateTime(reader: TypeNameReader): FieldType {
  const timezone = reader.acceptSymbol('(') ? readTimezone(reader) : undefined;
  if (timezone !== undefined) reader.expectSymbol(')');
  return notNull({ kind: 'timestamp', unit: 's', ...(timezone === undefined ? {} : { timezone }) });
}

function readDateTime64(reader: TypeNameReader): FieldType {
  reader.expectSymbol('(');
  const unit = getTimeUnitForDigits(reader.readInteger()) ?? reader.fail('DateTime64 precision must be 0 to 9');
  const timezone = reader.acceptSymbol(',') ? readTimezone(reader) : undefined;
  reader.expectSymbol(')');
  return notNull({ kind: 'timestamp', unit, ...(timezone === undefined ? {} : { timezone }) });
}

/** `Decimal32(S)` and its siblings fix the precision by width and take only the scale. */
const readDecimalOfWidth =
  (precision: number): ReadField =>
  (reader) =>
    notNull(reader.checkDecimal(precision, readInParentheses(reader, (r) => r.readInteger()), precision));

function readTupleElement(reader: TypeNameReader, index: number): StructField {
  // An element is `name Type` or a bare `Type`; a bare one is named by its 1-based position,
  // which is how ClickHouse addresses unnamed tuple elements.
  if (reader.peekChar() === '`') {
    const name = reader.readQuoted('`', true);
    return { name, ...readField(reader) };
  }
  const word = reader.readWord();
  if (reader.peekWord() !== undefined || reader.peekChar() === '`') return { name: word, ...readField(reader) };
  return { name: String(index + 1), ...readFieldNamed(reader, word) };
}

function readTuple(reader: TypeNameReader): FieldType {
  reader.expectSymbol('(');
  const fields: StructField[] = [];
  reader.nested(() => {
    do {
      fields.push(readTupleElement(reader, fields.length));
    } while (reader.acceptSymbol(','));
  });
  reader.expectSymbol(')');
  return notNull({ kind: 'struct', fields });
}

/** LowCardinality(Nullable(String)) is the most wrappers a type can have in a row. */
const readWrapped = (reader: TypeNameReader): FieldType =>
  reader.wrapped(2, 'Nullable and LowCardinality may wrap one another only once', () => readInParentheses(reader, readField));

function readNullable(reader: TypeNameReader): FieldType {
  const inner = readWrapped(reader);
  if (inner.nullable) reader.fail('Nullable cannot be nested in Nullable');
  return { type: inner.type, nullable: true };
}

function readLowCardinality(reader: TypeNameReader): FieldType {
  const inner = readWrapped(reader);
  // LowCardinality is a storage hint; only strings keep it (dates and numbers lose nothing by dropping it).
  return inner.type.kind === 'string' ? { ...inner, type: { ...inner.type, lowCardinality: true } } : inner;
}

function readMap(reader: TypeNameReader): FieldType {
  reader.expectSymbol('(');
  const key = reader.nested(() => readField(reader));
  if (key.nullable) reader.fail('a Map key cannot be Nullable');
  reader.expectSymbol(',');
  const value = reader.nested(() => readField(reader));
  reader.expectSymbol(')');
  return notNull({ kind: 'map', key: key.type, value: value.type, valueNullable: value.nullable });
}

function readArray(reader: TypeNameReader): FieldType {
  const element = readInParentheses(reader, (r) => r.nested(() => readField(r)));
  return notNull({ kind: 'list', element: element.type, elementNullable: element.nullable });
}

const INTEGER_READERS: Record<string, ReadField> = Object.fromEntries(
  ([8, 16, 32, 64, 128, 256] as const).flatMap((bits) => [
    [`int${bits}`, always({ kind: 'int', bits, signed: true })],
    [`uint${bits}`, always({ kind: 'int', bits, signed: false })],
  ]),
);

/** Lower-case name → reader of what follows the name. Add a name by adding a row. */
const CLICKHOUSE_READERS: Record<string, ReadField> = {
  ...INTEGER_READERS,
  float32: always({ kind: 'float', bits: 32 }),
  float64: always({ kind: 'float', bits: 64 }),
  // A bare `Decimal` is ClickHouse's Decimal(10, 0).
  decimal: (reader) => notNull(reader.acceptSymbol('(') ? reader.readDecimalArguments(MAX_DECIMAL_PRECISION, { opened: true }) : { kind: 'decimal', precision: 10, scale: 0 }),
  decimal32: readDecimalOfWidth(9),
  decimal64: readDecimalOfWidth(18),
  decimal128: readDecimalOfWidth(38),
  decimal256: readDecimalOfWidth(76),
  string: always({ kind: 'string' }),
  fixedstring: (reader) => {
    const length = readInParentheses(reader, (r) => r.readInteger());
    if (length < 1) reader.fail('FixedString length must be at least 1');
    return notNull({ kind: 'string', length, fixed: true });
  },
  uuid: always({ kind: 'uuid' }),
  date: always({ kind: 'date', unit: 'day' }),
  date32: always({ kind: 'date', unit: 'day', extended: true }),
  time: always({ kind: 'time' }),
  datetime: readDateTime,
  datetime64: readDateTime64,
  bool: always({ kind: 'boolean' }),
  boolean: always({ kind: 'boolean' }),
  array: readArray,
  map: readMap,
  tuple: readTuple,
  nullable: readNullable,
  lowcardinality: readLowCardinality,
  json: always({ kind: 'json' }),
  nothing: always({ kind: 'null' }),
};

function readFieldNamed(reader: TypeNameReader, name: string): FieldType {
  const read = CLICKHOUSE_READERS[name.toLowerCase()] ?? reader.failUnknown(name);
  return read(reader);
}

function readField(reader: TypeNameReader): FieldType {
  return readFieldNamed(reader, reader.readWord());
}

/** Parses a ClickHouse type name; a top-level `Nullable(T)` becomes `nullable: true`. */
export function parseClickHouseType(text: string): FieldType {
  const reader = new TypeNameReader(text);
  const field = readField(reader);
  reader.expectEnd();
  reader.checkNesting(field.type);
  return field;
}

/**
 * Reads the ClickHouse type that starts at `start` and stops where the type does, for text that
 * goes on after it (a Tinybird schema column: `` `a` Nullable(String) `json:$.a` DEFAULT '' ``).
 * `end` is the index just past the type.
 */
export function readClickHouseType(text: string, start = 0): { field: FieldType; end: number } {
  const reader = new TypeNameReader(text.slice(start));
  const field = readField(reader);
  reader.checkNesting(field.type);
  return { field, end: start + reader.offset };
}

const quoteString = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const quoteName = (name: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;

const printFixedOrString = ({ length, fixed }: { length?: number; fixed?: boolean }): string =>
  fixed === true && length !== undefined ? `FixedString(${length})` : 'String';

function printTuple(fields: StructField[]): string {
  const isUnnamed = fields.every((field, index) => field.name === '' || field.name === String(index + 1));
  const elements = fields.map((field) =>
    isUnnamed ? printClickHouseType(field) : `${quoteName(field.name)} ${printClickHouseType(field)}`,
  );
  return `Tuple(${elements.join(', ')})`;
}

/**
 * Names for every kind. Where ClickHouse has no exact type the nearest one is printed, and the
 * difference is lost on the way back: float16 → Float32, binary → String/FixedString (ClickHouse
 * strings are bytes), a string's `length` or `large` → String, a date in ms → Date, a list's `size` → Array.
 */
const CLICKHOUSE_NAMES: KindTable<string> = {
  boolean: () => 'Bool',
  int: ({ bits, signed }) => `${signed ? '' : 'U'}Int${bits}`,
  // BFloat16 is a different format from IEEE half precision, so float16 widens to Float32.
  float: ({ bits }) => (bits === 64 ? 'Float64' : 'Float32'),
  decimal: ({ precision, scale }) => `Decimal(${precision}, ${scale})`,
  string: printFixedOrString,
  binary: printFixedOrString,
  uuid: () => 'UUID',
  date: ({ extended }) => (extended === true ? 'Date32' : 'Date'),
  time: () => 'Time',
  timestamp: ({ unit, timezone }) => {
    const zone = timezone === undefined ? undefined : quoteString(timezone);
    if (unit === 's') return zone === undefined ? 'DateTime' : `DateTime(${zone})`;
    const digits = TIME_UNIT_DIGITS[unit];
    return zone === undefined ? `DateTime64(${digits})` : `DateTime64(${digits}, ${zone})`;
  },
  list: ({ element, elementNullable }) =>
    `Array(${printClickHouseType({ type: element, nullable: elementNullable })})`,
  map: ({ key, value, valueNullable }) => {
    const keyName = printClickHouseType({ type: key, nullable: false });
    return `Map(${keyName}, ${printClickHouseType({ type: value, nullable: valueNullable })})`;
  },
  struct: ({ fields }) => printTuple(fields),
  json: () => 'JSON',
  null: () => 'Nothing',
};

/**
 * Prints a field as ClickHouse names it. A nullable list, map or tuple prints as `Nullable(Array(…))`
 * although ClickHouse itself refuses that: the name then still says what the column holds, and
 * `parseClickHouseType` reads it back.
 */
export function printClickHouseType({ type, nullable }: FieldType): string {
  const name = applyKindTable(CLICKHOUSE_NAMES, type);
  const withNull = nullable ? `Nullable(${name})` : name;
  // ClickHouse only accepts LowCardinality outside Nullable: LowCardinality(Nullable(String)).
  return type.kind === 'string' && type.lowCardinality === true ? `LowCardinality(${withNull})` : withNull;
}
