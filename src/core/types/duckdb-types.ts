import { applyKindTable } from './data-type.ts';
import type { DataType, DataTypeOf, KindTable, StructField, TimeUnit } from './data-type.ts';
import { TypeNameError } from './type-name-error.ts';
import { TypeNameReader } from './type-name-reader.ts';

// The storage engine's column types. DuckDB keeps less than the model does: list elements, map
// values and struct fields are always nullable; string length, fixedness, lowCardinality and
// largeness, binary length, float16, a date's ms unit or extended range, and a timestamp's timezone
// all have no DuckDB column type. Those are enforced (or merely remembered) by the catalog and by
// validation, which know the declared DataType; DuckDB only has to hold the values.

const MAX_DECIMAL_PRECISION = 38;

/**
 * Int256 and UInt256 have no DuckDB type. Their columns are HUGEINT / UHUGEINT (128 bits), and a
 * value outside 128 bits is rejected at validation (quarantined or refused), never truncated.
 * `getStorableIntegerRange` gives the range validation must check.
 */
export const WIDE_INTEGER_STORAGE_NOTE =
  'Int256/UInt256 columns are stored as DuckDB HUGEINT/UHUGEINT (128 bits): values outside the 128-bit range are rejected at validation, never truncated.';

/** The values an integer column can store: its declared range, cut to DuckDB's widest integers. */
export function getStorableIntegerRange({ bits, signed }: DataTypeOf<'int'>): { min: bigint; max: bigint } {
  const storedBits = BigInt(Math.min(bits, 128));
  return signed
    ? { min: -(1n << (storedBits - 1n)), max: (1n << (storedBits - 1n)) - 1n }
    : { min: 0n, max: (1n << storedBits) - 1n };
}

type IntegerBits = DataTypeOf<'int'>['bits'];
const SIGNED_INTEGERS: Record<IntegerBits, string> = {
  8: 'TINYINT',
  16: 'SMALLINT',
  32: 'INTEGER',
  64: 'BIGINT',
  128: 'HUGEINT',
  256: 'HUGEINT', // see WIDE_INTEGER_STORAGE_NOTE
};
const UNSIGNED_INTEGERS: Record<IntegerBits, string> = {
  8: 'UTINYINT',
  16: 'USMALLINT',
  32: 'UINTEGER',
  64: 'UBIGINT',
  128: 'UHUGEINT',
  256: 'UHUGEINT',
};
const TIMESTAMPS: Record<TimeUnit, string> = { s: 'TIMESTAMP_S', ms: 'TIMESTAMP_MS', us: 'TIMESTAMP', ns: 'TIMESTAMP_NS' };

const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;

const DUCKDB_NAMES: KindTable<string> = {
  boolean: () => 'BOOLEAN',
  int: ({ bits, signed }) => (signed ? SIGNED_INTEGERS : UNSIGNED_INTEGERS)[bits],
  float: ({ bits }) => (bits === 64 ? 'DOUBLE' : 'FLOAT'),
  decimal: ({ precision, scale }) => {
    if (precision > MAX_DECIMAL_PRECISION) {
      throw new TypeNameError(
        `DECIMAL(${precision},${scale})`,
        `a decimal of ${precision} digits cannot be stored: decimals hold at most ${MAX_DECIMAL_PRECISION} digits`,
      );
    }
    return `DECIMAL(${precision},${scale})`;
  },
  string: () => 'VARCHAR',
  binary: () => 'BLOB',
  uuid: () => 'UUID',
  date: () => 'DATE',
  time: () => 'TIME',
  // Timezones are display metadata: every timestamp is stored as a UTC instant without a zone.
  timestamp: ({ unit }) => TIMESTAMPS[unit],
  list: ({ element, size }) => `${toDuckDBType(element)}[${size ?? ''}]`,
  map: ({ key, value }) => `MAP(${toDuckDBType(key)}, ${toDuckDBType(value)})`,
  struct: ({ fields }) => {
    // DuckDB compares a struct's field names without regard to case, as it compares columns.
    const clash = fields.find(({ name }, index) => fields.findIndex((other) => other.name.toLowerCase() === name.toLowerCase()) !== index);
    if (clash) {
      const earlier = fields.find((other) => other.name.toLowerCase() === clash.name.toLowerCase())!.name;
      throw new TypeNameError('STRUCT', earlier === clash.name ? `struct field "${clash.name}" is named twice` : `struct field "${clash.name}" differs from field "${earlier}" only in case, which the storage engine cannot tell apart`);
    }
    return `STRUCT(${fields.map(({ name, type }) => `${quoteIdentifier(name)} ${toDuckDBType(type)}`).join(', ')})`;
  },
  json: () => 'JSON',
  // DuckDB's own type of the NULL literal: a column of it holds only NULL and survives a checkpoint.
  null: () => '"NULL"',
};

/** The DuckDB column type for a DataType, for CREATE TABLE. Throws TypeNameError if none fits. */
export function toDuckDBType(type: DataType): string {
  return applyKindTable(DUCKDB_NAMES, type);
}

/**
 * The DuckDB type a value of `type` is computed in before it is stored: the column's own, but with
 * every fixed-size list (DuckDB's ARRAY) as a plain list, as DuckDB cannot evaluate a CASE (nor a
 * COALESCE) over ARRAY values that differ from row to row. Writing a list of the right length
 * to an ARRAY column converts it.
 */
export function toComputeType(type: DataType): string {
  return toDuckDBType(withoutSizes(type));
}

function withoutSizes(type: DataType): DataType {
  switch (type.kind) {
    case 'list':
      return { kind: 'list', element: withoutSizes(type.element), elementNullable: type.elementNullable };
    case 'map':
      return { ...type, key: withoutSizes(type.key), value: withoutSizes(type.value) };
    case 'struct':
      return { ...type, fields: type.fields.map((field) => ({ ...field, type: withoutSizes(field.type) })) };
    default:
      return type;
  }
}

type ReadType = (reader: TypeNameReader) => DataType;

const always =
  (type: DataType): ReadType =>
  () =>
    type;

function skipLength(reader: TypeNameReader): void {
  if (!reader.acceptSymbol('(')) return;
  reader.readInteger();
  reader.expectSymbol(')');
}

const withSkippedLength =
  (type: DataType): ReadType =>
  (reader) => {
    skipLength(reader);
    return type;
  };

function readTimestamp(reader: TypeNameReader): DataType {
  skipLength(reader);
  // TIMESTAMPTZ values are instants, handed out by DuckDB as UTC.
  if (reader.acceptWords('WITH', 'TIME', 'ZONE')) return { kind: 'timestamp', unit: 'us', timezone: 'UTC' };
  reader.acceptWords('WITHOUT', 'TIME', 'ZONE');
  return { kind: 'timestamp', unit: 'us' };
}

function readTime(reader: TypeNameReader): DataType {
  skipLength(reader);
  // TIME WITH TIME ZONE keeps an offset the model has no room for; its values print with it as text.
  if (!reader.acceptWords('WITH', 'TIME', 'ZONE')) reader.acceptWords('WITHOUT', 'TIME', 'ZONE');
  return { kind: 'time' };
}

/**
 * A struct's fields. A struct built without names (`ROW(1, 'x')`) is printed as its fields' types
 * alone (`STRUCT(INTEGER, VARCHAR)`): its fields are read named "" (see `nameUnnamedFields`).
 */
function readStructFields(reader: TypeNameReader): StructField[] {
  reader.expectSymbol('(');
  const unnamed = reader.lookAhead(() => startsUnnamedField(reader));
  const fields: StructField[] = [];
  do {
    // DuckDB quotes a field name only when it must; a bare one runs to the next space.
    const name = unnamed ? '' : reader.peekChar() === '"' ? reader.readQuoted('"') : reader.readUntil(' \t\n');
    fields.push({ name, type: readType(reader), nullable: true });
  } while (reader.acceptSymbol(','));
  reader.expectSymbol(')');
  return fields;
}

/**
 * Whether a struct's first field is a type alone: a name is followed by its type, a type by `,`,
 * `)`, its arguments or suffix, or `WITH[OUT] TIME ZONE` (the NULL type is quoted, as names may be).
 */
function startsUnnamedField(reader: TypeNameReader): boolean {
  if (reader.peekChar() === '"') reader.readQuoted('"');
  else if (reader.peekWord() !== undefined) reader.readWord();
  else return false;
  return [',', ')', '(', '['].includes(reader.peekChar()) || ['WITH', 'WITHOUT'].includes(reader.peekWord()?.toUpperCase() ?? '');
}

function readMap(reader: TypeNameReader): DataType {
  reader.expectSymbol('(');
  const key = readType(reader);
  reader.expectSymbol(',');
  const value = readType(reader);
  reader.expectSymbol(')');
  return { kind: 'map', key, value, valueNullable: true };
}

function readEnum(reader: TypeNameReader): DataType {
  reader.expectSymbol('(');
  do {
    reader.readQuoted("'");
  } while (reader.acceptSymbol(','));
  reader.expectSymbol(')');
  // An ENUM is a dictionary-encoded string: the model's low-cardinality string.
  return { kind: 'string', lowCardinality: true };
}

function readUnion(reader: TypeNameReader): DataType {
  readStructFields(reader);
  // A UNION value is any one of several typed members; JSON (Feldera's VARIANT) is the one kind
  // that can hold each of them.
  return { kind: 'json' };
}

const DECIMAL_DEFAULT: DataType = { kind: 'decimal', precision: 18, scale: 3 };
const readDecimal: ReadType = (reader) =>
  reader.peekChar() === '(' ? reader.readDecimalArguments(MAX_DECIMAL_PRECISION) : DECIMAL_DEFAULT;

const int = (bits: 8 | 16 | 32 | 64 | 128, signed: boolean): ReadType => always({ kind: 'int', bits, signed });
const STRING: DataType = { kind: 'string' };
const BINARY: DataType = { kind: 'binary' };

/**
 * Upper-case name (with DuckDB's aliases) → reader of the rest. Some DuckDB types have no kind of
 * their own and map to the closest one, so that any query result can be named in every dialect:
 * INTERVAL, BIT and BIGNUM (VARINT) → string (their values are passed on as text); ENUM → string
 * with lowCardinality; UNION → json; TIME WITH TIME ZONE → time.
 */
const DUCKDB_READERS: Record<string, ReadType> = {
  BOOLEAN: always({ kind: 'boolean' }),
  BOOL: always({ kind: 'boolean' }),
  LOGICAL: always({ kind: 'boolean' }),
  TINYINT: int(8, true),
  INT1: int(8, true),
  SMALLINT: int(16, true),
  INT2: int(16, true),
  SHORT: int(16, true),
  INTEGER: int(32, true),
  INT: int(32, true),
  INT4: int(32, true),
  SIGNED: int(32, true),
  BIGINT: int(64, true),
  INT8: int(64, true),
  LONG: int(64, true),
  HUGEINT: int(128, true),
  INT128: int(128, true),
  UTINYINT: int(8, false),
  UINT8: int(8, false),
  USMALLINT: int(16, false),
  UINT16: int(16, false),
  UINTEGER: int(32, false),
  UINT32: int(32, false),
  UBIGINT: int(64, false),
  UINT64: int(64, false),
  UHUGEINT: int(128, false),
  UINT128: int(128, false),
  FLOAT: always({ kind: 'float', bits: 32 }),
  FLOAT4: always({ kind: 'float', bits: 32 }),
  REAL: always({ kind: 'float', bits: 32 }),
  DOUBLE: always({ kind: 'float', bits: 64 }),
  FLOAT8: always({ kind: 'float', bits: 64 }),
  DECIMAL: readDecimal,
  NUMERIC: readDecimal,
  VARCHAR: withSkippedLength(STRING),
  CHAR: withSkippedLength(STRING),
  BPCHAR: withSkippedLength(STRING),
  TEXT: withSkippedLength(STRING),
  STRING: withSkippedLength(STRING),
  BLOB: withSkippedLength(BINARY),
  BYTEA: withSkippedLength(BINARY),
  BINARY: withSkippedLength(BINARY),
  VARBINARY: withSkippedLength(BINARY),
  UUID: always({ kind: 'uuid' }),
  DATE: always({ kind: 'date', unit: 'day' }),
  TIME: readTime,
  TIMETZ: always({ kind: 'time' }),
  TIME_NS: always({ kind: 'time' }),
  TIMESTAMP: readTimestamp,
  DATETIME: readTimestamp,
  TIMESTAMP_US: always({ kind: 'timestamp', unit: 'us' }),
  TIMESTAMP_S: always({ kind: 'timestamp', unit: 's' }),
  TIMESTAMP_MS: always({ kind: 'timestamp', unit: 'ms' }),
  TIMESTAMP_NS: always({ kind: 'timestamp', unit: 'ns' }),
  TIMESTAMPTZ: always({ kind: 'timestamp', unit: 'us', timezone: 'UTC' }),
  INTERVAL: always(STRING),
  BIT: always(STRING),
  BITSTRING: always(STRING),
  BIGNUM: always(STRING),
  VARINT: always(STRING),
  ENUM: readEnum,
  UNION: readUnion,
  MAP: readMap,
  STRUCT: (reader) => ({ kind: 'struct', fields: readStructFields(reader) }),
  ROW: (reader) => ({ kind: 'struct', fields: readStructFields(reader) }),
  JSON: always({ kind: 'json' }),
  NULL: always({ kind: 'null' }),
};

function readType(reader: TypeNameReader): DataType {
  // DuckDB writes the NULL type quoted ("NULL"), since NULL alone is a keyword.
  const name = reader.peekChar() === '"' ? reader.readQuoted('"') : reader.readWord();
  const read = DUCKDB_READERS[name.toUpperCase()] ?? reader.failUnknown(name);
  let type = read(reader);
  // Suffixes wrap left to right: INTEGER[3][] is a list of 3-element arrays.
  while (reader.acceptSymbol('[')) {
    const size = reader.peekChar() === ']' ? undefined : reader.readInteger();
    reader.expectSymbol(']');
    type = { kind: 'list', element: type, elementNullable: true, ...(size === undefined ? {} : { size }) };
  }
  return type;
}

/**
 * Names a type as DuckDB prints it (information_schema.columns.data_type, DESCRIBE, typeof(), a
 * result column type's toString()). Throws TypeNameError for a type it does not know.
 */
export function fromDuckDBTypeName(text: string): DataType {
  const reader = new TypeNameReader(text);
  const type = readType(reader);
  reader.expectEnd();
  return type;
}

/** A type as DuckDB names it (see `fromDuckDBTypeName`); undefined for one the model has no name for (INTERVAL's kin, GEOMETRY …). */
export function describeDuckDBType(text: string): DataType | undefined {
  try {
    return fromDuckDBTypeName(text);
  } catch {
    return undefined;
  }
}
