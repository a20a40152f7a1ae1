import {
  createDuckDBValueConverter,
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBGeometryValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBListVector,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBStructVector,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeNSValue,
  DuckDBTimeTZValue,
  DuckDBTimeValue,
  DuckDBTypeId,
  DuckDBUnionValue,
  type DuckDBArrayType,
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  type DuckDBUnionType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type DuckDBVector,
} from '@duckdb/node-api';

/**
 * The values a query result holds, exact for every DuckDB type. The driver's own JS conversion
 * rounds DECIMALs to doubles and timestamps to milliseconds; these keep every digit, so that each
 * encoder can render a value exactly:
 *
 * - null, boolean; number for 8- to 32-bit integers and floats; bigint for 64- and 128-bit integers;
 * - string for VARCHAR, ENUM, UUID, and the kinds the model keeps as text (BIT, BIGNUM);
 * - Uint8Array for BLOB (and GEOMETRY, as WKB);
 * - SqlDecimal, SqlDate, SqlTime, SqlTimestamp, SqlInterval (typed as text), SqlJson, SqlMap;
 * - arrays for LIST and ARRAY, plain objects for STRUCT — but arrays for a STRUCT whose fields have
 *   no names (`(1, 'x')`, `row(…)`), as ClickHouse gives an unnamed tuple in JSON.
 */
export type SqlValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | SqlDecimal
  | SqlDate
  | SqlTime
  | SqlTimestamp
  | SqlInterval
  | SqlJson
  | SqlMap
  | SqlValue[]
  | { [field: string]: SqlValue };

export class SqlDecimal {
  /** The value is `unscaled / 10^scale`. */
  constructor(
    readonly unscaled: bigint,
    readonly scale: number,
  ) {}

  /** Exact decimal text without trailing fractional zeros: `1.50` → `1.5`, `2.00` → `2`. */
  toString(): string {
    const negative = this.unscaled < 0n;
    const digits = (negative ? -this.unscaled : this.unscaled).toString().padStart(this.scale + 1, '0');
    const whole = digits.slice(0, digits.length - this.scale);
    const fraction = digits.slice(digits.length - this.scale).replace(/0+$/, '');
    return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
  }
}

export class SqlDate {
  /** Days since 1970-01-01; DuckDB's ±infinity dates have `finite` false. */
  constructor(
    readonly days: number,
    readonly finite = true,
  ) {}
}

export class SqlTime {
  /** Nanoseconds since midnight; `offsetSeconds` only for TIME WITH TIME ZONE. */
  constructor(
    readonly nanos: bigint,
    readonly offsetSeconds: number | null = null,
  ) {}
}

export class SqlTimestamp {
  /**
   * Nanoseconds since 1970-01-01 00:00:00 UTC; DuckDB's ±infinity have `finite` false. `digits`
   * is the precision its type declares, where one does: 0, 3 or 9 fractional digits for DuckDB's
   * TIMESTAMP_S, _MS and _NS. Its plain TIMESTAMP (microseconds) is the type its time functions give
   * whatever they were given, so it declares none.
   */
  constructor(
    readonly epochNanos: bigint,
    readonly finite = true,
    readonly digits?: 0 | 3 | 9,
  ) {}
}

/**
 * An INTERVAL (the difference of two times, say): the model types it as text, DuckDB's (`00:01:00`,
 * `1 day 02:00:00`), and a dialect may write it as its seconds instead.
 */
export class SqlInterval {
  constructor(
    readonly months: number,
    readonly days: number,
    readonly micros: bigint,
    readonly text: string,
  ) {}

  /** Its length in seconds, a month counted as 30 days (as DuckDB's epoch() counts it). */
  get seconds(): number {
    return (this.months * 30 + this.days) * 86_400 + Number(this.micros) / 1_000_000;
  }
}

/** A JSON column's value: its JSON text, embedded as is by the JSON encoders. */
export class SqlJson {
  constructor(readonly text: string) {}
}

/** A MAP; its keys may be of any type, so it is not a plain object. */
export class SqlMap {
  constructor(readonly entries: ReadonlyArray<readonly [key: SqlValue, value: SqlValue]>) {}
}

type Converter = DuckDBValueConverter<Exclude<SqlValue, null>>;

const NANOS_PER_MICRO = 1000n;

function expect<T>(value: DuckDBValue, type: abstract new (...args: never[]) => T): T {
  if (value instanceof type) return value;
  throw new TypeError(`Expected a ${type.name}, got ${String(value)}`);
}

const asNumber: Converter = (value) => Number(value);
const asBigInt: Converter = (value) => BigInt(value as bigint);
const asString: Converter = (value) => String(value);
const asTimestamp = (nanos: bigint, finite: boolean, digits?: 0 | 3 | 9): SqlTimestamp => new SqlTimestamp(nanos, finite, digits);

/** FLOAT values arrive widened to doubles; the shortest decimal that reads back as the same float is what a user typed. */
const asFloat32: Converter = (value) => {
  const widened = Number(value);
  // Zero too: its shortest decimal would lose the sign of -0 (0 === -0).
  if (!Number.isFinite(widened) || widened === 0) return widened;
  for (let digits = 1; digits <= 9; digits += 1) {
    const candidate = Number(widened.toPrecision(digits));
    if (Math.fround(candidate) === widened) return candidate;
  }
  return widened;
};

const CONVERTERS: Record<DuckDBTypeId, Converter | undefined> = {
  [DuckDBTypeId.INVALID]: undefined,
  [DuckDBTypeId.ANY]: undefined,
  [DuckDBTypeId.STRING_LITERAL]: undefined,
  [DuckDBTypeId.INTEGER_LITERAL]: undefined,
  [DuckDBTypeId.SQLNULL]: () => null,
  [DuckDBTypeId.BOOLEAN]: (value) => Boolean(value),
  [DuckDBTypeId.TINYINT]: asNumber,
  [DuckDBTypeId.SMALLINT]: asNumber,
  [DuckDBTypeId.INTEGER]: asNumber,
  [DuckDBTypeId.UTINYINT]: asNumber,
  [DuckDBTypeId.USMALLINT]: asNumber,
  [DuckDBTypeId.UINTEGER]: asNumber,
  [DuckDBTypeId.BIGINT]: asBigInt,
  [DuckDBTypeId.UBIGINT]: asBigInt,
  [DuckDBTypeId.HUGEINT]: asBigInt,
  [DuckDBTypeId.UHUGEINT]: asBigInt,
  // The model has no arbitrary-precision integer; BIGNUM travels as its decimal text.
  [DuckDBTypeId.BIGNUM]: asString,
  [DuckDBTypeId.FLOAT]: asFloat32,
  [DuckDBTypeId.DOUBLE]: asNumber,
  [DuckDBTypeId.DECIMAL]: (value) => {
    const decimal = expect(value, DuckDBDecimalValue);
    return new SqlDecimal(decimal.value, decimal.scale);
  },
  [DuckDBTypeId.VARCHAR]: (value, type) => (type.alias === 'JSON' ? new SqlJson(String(value)) : String(value)),
  [DuckDBTypeId.ENUM]: asString,
  [DuckDBTypeId.UUID]: asString,
  [DuckDBTypeId.INTERVAL]: (value) => {
    const interval = expect(value, DuckDBIntervalValue);
    return new SqlInterval(interval.months, interval.days, interval.micros, interval.toString());
  },
  [DuckDBTypeId.BIT]: asString,
  [DuckDBTypeId.BLOB]: (value) => expect(value, DuckDBBlobValue).bytes,
  [DuckDBTypeId.GEOMETRY]: (value) => expect(value, DuckDBGeometryValue).bytes,
  [DuckDBTypeId.DATE]: (value) => {
    const date = expect(value, DuckDBDateValue);
    return new SqlDate(date.days, date.isFinite);
  },
  [DuckDBTypeId.TIME]: (value) => new SqlTime(expect(value, DuckDBTimeValue).micros * NANOS_PER_MICRO),
  [DuckDBTypeId.TIME_NS]: (value) => new SqlTime(expect(value, DuckDBTimeNSValue).nanos),
  [DuckDBTypeId.TIME_TZ]: (value) => {
    const time = expect(value, DuckDBTimeTZValue);
    return new SqlTime(time.micros * NANOS_PER_MICRO, time.offset);
  },
  [DuckDBTypeId.TIMESTAMP]: (value) => {
    const timestamp = expect(value, DuckDBTimestampValue);
    return asTimestamp(timestamp.micros * NANOS_PER_MICRO, timestamp.isFinite);
  },
  [DuckDBTypeId.TIMESTAMP_TZ]: (value) => {
    const timestamp = expect(value, DuckDBTimestampTZValue);
    return asTimestamp(timestamp.micros * NANOS_PER_MICRO, timestamp.isFinite);
  },
  [DuckDBTypeId.TIMESTAMP_S]: (value) => {
    const timestamp = expect(value, DuckDBTimestampSecondsValue);
    return asTimestamp(timestamp.seconds * 1_000_000_000n, timestamp.isFinite, 0);
  },
  [DuckDBTypeId.TIMESTAMP_MS]: (value) => {
    const timestamp = expect(value, DuckDBTimestampMillisecondsValue);
    return asTimestamp(timestamp.millis * 1_000_000n, timestamp.isFinite, 3);
  },
  [DuckDBTypeId.TIMESTAMP_NS]: (value) => {
    const timestamp = expect(value, DuckDBTimestampNanosecondsValue);
    return asTimestamp(timestamp.nanos, timestamp.isFinite, 9);
  },
  [DuckDBTypeId.LIST]: (value, type, convert) =>
    expect(value, DuckDBListValue).items.map((item) => convert(item, (type as DuckDBListType).valueType, convert)),
  [DuckDBTypeId.ARRAY]: (value, type, convert) =>
    expect(value, DuckDBArrayValue).items.map((item) => convert(item, (type as DuckDBArrayType).valueType, convert)),
  [DuckDBTypeId.STRUCT]: (value, type, convert) => {
    const { entries } = expect(value, DuckDBStructValue);
    const structType = type as DuckDBStructType;
    // fromEntries defines own properties, so a field named "__proto__" stays a field.
    return Object.fromEntries(
      structType.entryNames.map((name, index) => [name, convert(entries[name] ?? null, structType.entryTypes[index]!, convert)]),
    );
  },
  [DuckDBTypeId.MAP]: (value, type, convert) => {
    const mapType = type as DuckDBMapType;
    return new SqlMap(
      expect(value, DuckDBMapValue).entries.map(
        (entry) => [convert(entry.key, mapType.keyType, convert), convert(entry.value, mapType.valueType, convert)] as const,
      ),
    );
  },
  // The model types a UNION as JSON: the member's own value, whatever its tag.
  [DuckDBTypeId.UNION]: (value, type, convert) => {
    const union = expect(value, DuckDBUnionValue);
    return convert(union.value, (type as DuckDBUnionType).memberTypeForTag(union.tag), convert);
  },
  [DuckDBTypeId.VARIANT]: asString,
};

/** Converts one DuckDB value of the given type; used for every cell of a result. */
const toSqlValue: Converter = createDuckDBValueConverter(CONVERTERS);

export function isSqlStruct(value: SqlValue): value is { [field: string]: SqlValue } {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

export function convertDuckDBValue(value: DuckDBValue, type: DuckDBType): SqlValue {
  return toSqlValue(value, type, toSqlValue);
}

/**
 * The value of row `row` of a vector. The driver's values key a STRUCT's fields by name, so the
 * fields of an unnamed one (all named "") collapse into its last: such a struct, at the top or in
 * lists, is read from the vectors instead, its fields by position.
 */
export function convertVectorItem(vector: DuckDBVector, row: number, type: DuckDBType): SqlValue {
  if (!hasUnnamedStruct(type)) return convertDuckDBValue(vector.getItem(row), type);
  if (vector instanceof DuckDBStructVector) {
    if (!vector.isItemValid(row)) return null;
    const structType = type as DuckDBStructType;
    const values = structType.entryTypes.map((entryType, index) => convertVectorItem(vector.entryVectorAt(index), row, entryType));
    return isUnnamed(structType) ? values : Object.fromEntries(structType.entryNames.map((name, index) => [name, values[index]!]));
  }
  if (vector instanceof DuckDBListVector) {
    const items = vector.getItemVector(row);
    const itemType = (type as DuckDBListType).valueType;
    return items === null ? null : Array.from({ length: items.itemCount }, (_, index) => convertVectorItem(items, index, itemType));
  }
  // Deeper (in an ARRAY, a MAP or a UNION), the driver's value is all there is.
  return convertDuckDBValue(vector.getItem(row), type);
}

/** Whether a type is, or holds, a STRUCT whose fields have no names. */
function hasUnnamedStruct(type: DuckDBType): boolean {
  switch (type.typeId) {
    case DuckDBTypeId.STRUCT:
      return isUnnamed(type as DuckDBStructType) || (type as DuckDBStructType).entryTypes.some(hasUnnamedStruct);
    case DuckDBTypeId.LIST:
      return hasUnnamedStruct((type as DuckDBListType).valueType);
    default:
      return false;
  }
}

function isUnnamed(type: DuckDBStructType): boolean {
  return type.entryNames.length > 0 && type.entryNames.every((name) => name === '');
}
