import { applyKindTable, getTimeUnitForDigits, TIME_UNIT_DIGITS } from './data-type.ts';
import type { DataType, DataTypeOf, FieldType, KindTable, StructField } from './data-type.ts';
import { TypeNameReader } from './type-name-reader.ts';

// Feldera's SQL type names (docs.feldera.com/sql/types), case-insensitive. Nullability follows
// Feldera: a column is nullable unless `NOT NULL`; ARRAY elements and MAP values are nullable;
// MAP keys never are; ROW fields are NOT NULL unless they say `NULL`. `T NOT NULL ARRAY` and
// `MAP<K, V NOT NULL>` are accepted too (Feldera refuses them) so that every list and map prints
// back without losing whether its elements may be null.

type ReadType = (reader: TypeNameReader) => DataType;

// Wider than Feldera's 38 digits so that a ClickHouse Decimal(76, s) prints and parses back here;
// storage refuses anything over 38 (see toDuckDBType).
const MAX_DECIMAL_PRECISION = 76;
/** Feldera (Calcite) gives a bare DECIMAL its widest precision, 38, and scale 0. */
const DEFAULT_DECIMAL: DataTypeOf<'decimal'> = { kind: 'decimal', precision: 38, scale: 0 };

const always =
  (type: DataType): ReadType =>
  () =>
    type;

function readOptionalLength(reader: TypeNameReader): number | undefined {
  if (!reader.acceptSymbol('(')) return undefined;
  const length = reader.readInteger();
  reader.expectSymbol(')');
  return length;
}

const readInteger =
  (bits: 8 | 16 | 32 | 64): ReadType =>
  (reader) => ({ kind: 'int', bits, signed: !reader.acceptWords('UNSIGNED') });

const readDecimal: ReadType = (reader) =>
  reader.peekChar() === '(' ? reader.readDecimalArguments(MAX_DECIMAL_PRECISION) : DEFAULT_DECIMAL;

function readVarchar(reader: TypeNameReader): DataType {
  const length = readOptionalLength(reader);
  return length === undefined ? { kind: 'string' } : { kind: 'string', length };
}

/** CHAR(n), CHARACTER(n), and their VARYING forms; a bare CHAR is CHAR(1) as in standard SQL. */
function readChar(reader: TypeNameReader): DataType {
  if (reader.acceptWords('VARYING')) return readVarchar(reader);
  return { kind: 'string', length: readOptionalLength(reader) ?? 1, fixed: true };
}

function readVarbinary(reader: TypeNameReader): DataType {
  const length = readOptionalLength(reader);
  return length === undefined ? { kind: 'binary' } : { kind: 'binary', length };
}

function readBinary(reader: TypeNameReader): DataType {
  if (reader.acceptWords('VARYING')) return readVarbinary(reader);
  return { kind: 'binary', length: readOptionalLength(reader) ?? 1, fixed: true };
}

/** TIME and TIMESTAMP take `[(precision)] [WITHOUT TIME ZONE]`; TIME keeps no precision. */
function readTimeSuffix(reader: TypeNameReader): number | undefined {
  const digits = readOptionalLength(reader);
  reader.acceptWords('WITHOUT', 'TIME', 'ZONE');
  return digits;
}

function readTimestamp(reader: TypeNameReader): DataType {
  const digits = readTimeSuffix(reader);
  const unit = digits === undefined ? 'us' : getTimeUnitForDigits(digits);
  return { kind: 'timestamp', unit: unit ?? reader.fail('TIMESTAMP precision must be 0 to 9') };
}

function readMap(reader: TypeNameReader): DataType {
  reader.expectSymbol('<');
  const key = reader.nested(() => readField(reader, false));
  if (key.nullable) reader.fail('a MAP key cannot be NULL');
  reader.expectSymbol(',');
  const value = reader.nested(() => readField(reader, true));
  reader.expectSymbol('>');
  return { kind: 'map', key: key.type, value: value.type, valueNullable: value.nullable };
}

function readRow(reader: TypeNameReader): DataType {
  reader.expectSymbol('(');
  const fields: StructField[] = [];
  do {
    // Feldera folds an unquoted field name to lower case, as any name; a quoted one is exact.
    const name = reader.readName('"', true);
    fields.push({ name, ...reader.nested(() => readField(reader, false)) });
  } while (reader.acceptSymbol(','));
  reader.expectSymbol(')');
  return { kind: 'struct', fields };
}

/** Upper-case first word → reader of the rest of the name. Add a name by adding a row. */
const SQL_READERS: Record<string, ReadType> = {
  BOOLEAN: always({ kind: 'boolean' }),
  BOOL: always({ kind: 'boolean' }),
  TINYINT: readInteger(8),
  SMALLINT: readInteger(16),
  INT2: readInteger(16),
  INTEGER: readInteger(32),
  INT: readInteger(32),
  INT4: readInteger(32),
  SIGNED: readInteger(32),
  UNSIGNED: always({ kind: 'int', bits: 32, signed: false }),
  BIGINT: readInteger(64),
  INT8: readInteger(64),
  INT64: readInteger(64),
  DECIMAL: readDecimal,
  DEC: readDecimal,
  NUMERIC: readDecimal,
  NUMBER: readDecimal,
  REAL: always({ kind: 'float', bits: 32 }),
  FLOAT4: always({ kind: 'float', bits: 32 }),
  FLOAT32: always({ kind: 'float', bits: 32 }),
  DOUBLE: (reader) => {
    reader.acceptWords('PRECISION');
    return { kind: 'float', bits: 64 };
  },
  FLOAT8: always({ kind: 'float', bits: 64 }),
  FLOAT64: always({ kind: 'float', bits: 64 }),
  FLOAT: (reader) => reader.failUnknown('FLOAT', 'Feldera has no FLOAT; use REAL or DOUBLE'),
  VARCHAR: readVarchar,
  STRING: always({ kind: 'string' }),
  TEXT: always({ kind: 'string' }),
  CHAR: readChar,
  CHARACTER: readChar,
  BINARY: readBinary,
  VARBINARY: readVarbinary,
  BYTEA: always({ kind: 'binary' }),
  DATE: always({ kind: 'date', unit: 'day' }),
  TIME: (reader) => {
    readTimeSuffix(reader);
    return { kind: 'time' };
  },
  TIMESTAMP: readTimestamp,
  DATETIME: readTimestamp,
  UUID: always({ kind: 'uuid' }),
  VARIANT: always({ kind: 'json' }),
  NULL: always({ kind: 'null' }),
  MAP: readMap,
  ROW: readRow,
};

function readNullability(reader: TypeNameReader): boolean | undefined {
  if (reader.acceptWords('NOT', 'NULL')) return false;
  if (reader.acceptWords('NULL')) return true;
  return undefined;
}

function readField(reader: TypeNameReader, nullableByDefault: boolean): FieldType {
  const name = reader.readWord();
  const read = SQL_READERS[name.toUpperCase()] ?? reader.failUnknown(name);
  let type = read(reader);
  let nullable = readNullability(reader);
  while (reader.acceptWords('ARRAY')) {
    type = { kind: 'list', element: type, elementNullable: nullable ?? true };
    nullable = readNullability(reader);
  }
  return { type, nullable: nullable ?? nullableByDefault };
}

/** Parses a Feldera SQL type with an optional `NULL` / `NOT NULL` suffix (nullable if neither). */
export function parseSqlType(text: string): FieldType {
  const reader = new TypeNameReader(text);
  const field = readField(reader, true);
  reader.expectEnd();
  reader.checkNesting(field.type);
  return field;
}

/**
 * Reads the SQL type (and its NULL / NOT NULL) that starts at `start` and stops where the type
 * does, for a column definition that goes on (`x INT NOT NULL PRIMARY KEY, …`). `end` is the index
 * just past the type.
 */
export function readSqlType(text: string, start = 0): { field: FieldType; end: number } {
  const reader = new TypeNameReader(text.slice(start));
  const field = readField(reader, true);
  reader.checkNesting(field.type);
  return { field, end: start + reader.offset };
}

// Feldera folds unquoted names, so any name that is not already lower case is quoted to stay exact.
const quoteName = (name: string): string =>
  /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;

const INTEGER_NAMES = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' } as const;

const printSized = (name: string, length: number | undefined): string =>
  length === undefined ? name : `${name}(${length})`;

const printElement = (type: DataType, nullable: boolean): string =>
  `${applyKindTable(SQL_NAMES, type)}${nullable ? '' : ' NOT NULL'}`;

const printRowField = (type: DataType, nullable: boolean): string =>
  nullable ? `${applyKindTable(SQL_NAMES, type)} NULL` : printElement(type, false);

/**
 * Names for every kind. Where Feldera has no exact type the nearest one is printed and the
 * difference is lost on the way back: 128- and 256-bit integers → DECIMAL(38, 0) (the widest
 * Feldera integer-valued type), float16 → REAL, a date in ms → DATE, a timestamp's timezone
 * (Feldera has only WITHOUT TIME ZONE), lowCardinality and large → VARCHAR, a list's `size` → ARRAY.
 */
const SQL_NAMES: KindTable<string> = {
  boolean: () => 'BOOLEAN',
  int: ({ bits, signed }) =>
    bits === 128 || bits === 256 ? 'DECIMAL(38, 0)' : `${INTEGER_NAMES[bits]}${signed ? '' : ' UNSIGNED'}`,
  float: ({ bits }) => (bits === 64 ? 'DOUBLE' : 'REAL'),
  decimal: ({ precision, scale }) => `DECIMAL(${precision}, ${scale})`,
  string: ({ length, fixed }) => (fixed === true ? printSized('CHAR', length) : printSized('VARCHAR', length)),
  binary: ({ length, fixed }) => (fixed === true ? printSized('BINARY', length) : printSized('VARBINARY', length)),
  uuid: () => 'UUID',
  date: () => 'DATE',
  time: () => 'TIME',
  timestamp: ({ unit }) => (unit === 'us' ? 'TIMESTAMP' : `TIMESTAMP(${TIME_UNIT_DIGITS[unit]})`),
  list: ({ element, elementNullable }) => `${printElement(element, elementNullable)} ARRAY`,
  map: ({ key, value, valueNullable }) =>
    `MAP<${applyKindTable(SQL_NAMES, key)}, ${printElement(value, valueNullable)}>`,
  // Every ROW field says NULL or NOT NULL, so the name never depends on the default.
  struct: ({ fields }) =>
    `ROW(${fields.map(({ name, type, nullable }) => `${quoteName(name)} ${printRowField(type, nullable)}`).join(', ')})`,
  json: () => 'VARIANT',
  null: () => 'NULL',
};

/** Prints a field as Feldera names it, with `NOT NULL` when it cannot hold null. */
export function printSqlType({ type, nullable }: FieldType): string {
  return printElement(type, nullable);
}
