import { isUtf8 } from 'node:buffer';
import { formatEpochDays } from '../../types/civil-date.ts';
import { DateUnit, IntervalUnit, Precision, TimeUnit, Type, UnionMode, util } from 'apache-arrow';
import type {
  Binary,
  BinaryView,
  Bool,
  Data,
  DataType as ArrowType,
  Date_,
  Decimal,
  Dictionary,
  Duration,
  FixedSizeBinary,
  FixedSizeList,
  Float,
  Int,
  Interval,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  Null,
  Struct,
  Time,
  Timestamp,
  Union,
  Utf8,
  Utf8View,
} from 'apache-arrow';
import { SluiceError } from '../../errors.ts';

/**
 * The value at a row of one column chunk, as the text a RecordBatch carries (null for a null) or as
 * a JSON value, for values nested in a list, struct or map (which travel as JSON text).
 */
export interface ValueReader {
  text(index: number): string | null;
  json(index: number): string;
}

/** Built once per Arrow type (so nested types build their children once), then bound to each chunk. */
export type BindReader = (data: Data) => ValueReader;

/** Ids that name subtypes (Int8, TimestampSecond, …); an Arrow type object reports its base id instead. */
type SubtypeId =
  | Type.Int8 | Type.Int16 | Type.Int32 | Type.Int64 | Type.Uint8 | Type.Uint16 | Type.Uint32 | Type.Uint64
  | Type.Float16 | Type.Float32 | Type.Float64 | Type.DateDay | Type.DateMillisecond
  | Type.TimestampSecond | Type.TimestampMillisecond | Type.TimestampMicrosecond | Type.TimestampNanosecond
  | Type.TimeSecond | Type.TimeMillisecond | Type.TimeMicrosecond | Type.TimeNanosecond
  | Type.DenseUnion | Type.SparseUnion | Type.IntervalDayTime | Type.IntervalYearMonth | Type.IntervalMonthDayNano
  | Type.DurationSecond | Type.DurationMillisecond | Type.DurationMicrosecond | Type.DurationNanosecond;

type TypeId = Exclude<Type, SubtypeId>;

interface ArrowTypeById extends Record<TypeId, ArrowType> {
  [Type.Null]: Null;
  [Type.Int]: Int;
  [Type.Float]: Float;
  [Type.Binary]: Binary;
  [Type.Utf8]: Utf8;
  [Type.Bool]: Bool;
  [Type.Decimal]: Decimal;
  [Type.Date]: Date_;
  [Type.Time]: Time;
  [Type.Timestamp]: Timestamp;
  [Type.Interval]: Interval;
  [Type.List]: List;
  [Type.Struct]: Struct;
  [Type.Union]: Union;
  [Type.FixedSizeBinary]: FixedSizeBinary;
  [Type.FixedSizeList]: FixedSizeList;
  [Type.Map]: Map_;
  [Type.Duration]: Duration;
  [Type.LargeBinary]: LargeBinary;
  [Type.LargeUtf8]: LargeUtf8;
  [Type.LargeList]: LargeList;
  [Type.BinaryView]: BinaryView;
  [Type.Utf8View]: Utf8View;
  [Type.Dictionary]: Dictionary;
}

type ReaderTable = { [K in TypeId]: (type: ArrowTypeById[K]) => BindReader };

// ---------------------------------------------------------------------------------------------
// Text of scalars

const quote = (text: string): string => JSON.stringify(text);
const pad2 = (value: number): string => (value < 10 ? `0${value}` : String(value));

/** `YYYY-MM-DD` of days since 1970-01-01. */
function formatDays(days: number): string {
  // Values in a column tend to share their day.
  if (days === lastDays) return lastDate;
  lastDays = days;
  lastDate = formatEpochDays(days);
  return lastDate;
}

let lastDays = Number.NaN;
let lastDate = '';

const formatSecondOfDay = (seconds: number): string =>
  `${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}`;

interface UnitScale {
  perSecond: bigint;
  digits: number;
}

const UNIT_SCALES: Record<TimeUnit, UnitScale> = {
  [TimeUnit.SECOND]: { perSecond: 1n, digits: 0 },
  [TimeUnit.MILLISECOND]: { perSecond: 1_000n, digits: 3 },
  [TimeUnit.MICROSECOND]: { perSecond: 1_000_000n, digits: 6 },
  [TimeUnit.NANOSECOND]: { perSecond: 1_000_000_000n, digits: 9 },
};

const formatFraction = (fraction: bigint | number, digits: number): string =>
  digits === 0 ? '' : `.${String(fraction).padStart(digits, '0')}`;

/** UTC ISO-8601 with every digit of the unit, whatever the column's timezone: Arrow stores instants as UTC. */
function formatInstant(value: bigint, { perSecond, digits }: UnitScale): string {
  let days: number;
  let secondOfDay: number;
  let fraction: number | bigint;
  const number = Number(value);
  if (Number.isSafeInteger(number)) {
    // Most values (all but nanoseconds) fit a double; BigInt arithmetic is several times slower.
    const scale = Number(perSecond);
    let seconds = Math.floor(number / scale);
    fraction = number - seconds * scale;
    if (fraction < 0) {
      // The division rounded up across a second boundary.
      seconds -= 1;
      fraction += scale;
    }
    days = Math.floor(seconds / 86400);
    secondOfDay = seconds - days * 86400;
  } else {
    let seconds = value / perSecond;
    let remainder = value % perSecond;
    if (remainder < 0n) {
      remainder += perSecond;
      seconds -= 1n;
    }
    const wholeDays = (seconds < 0n ? seconds - 86399n : seconds) / 86400n;
    days = Number(wholeDays);
    secondOfDay = Number(seconds - wholeDays * 86400n);
    fraction = remainder;
  }
  return `${formatDays(days)}T${formatSecondOfDay(secondOfDay)}${formatFraction(fraction, digits)}Z`;
}

function formatTimeOfDay(value: number, { perSecond, digits }: UnitScale): string {
  const scale = Number(perSecond);
  const sign = value < 0 ? '-' : '';
  const magnitude = Math.abs(value);
  return `${sign}${formatSecondOfDay(Math.floor(magnitude / scale))}${formatFraction(magnitude % scale, digits)}`;
}

const SPECIAL_FLOATS = new Map<number, string>([
  [Number.POSITIVE_INFINITY, 'Infinity'],
  [Number.NEGATIVE_INFINITY, '-Infinity'],
]);

/** NaN and ±Infinity are spelled as DuckDB casts them; -0 keeps its sign. */
function formatFloat(value: number, digitsOf: (value: number) => string = String): string {
  if (Number.isNaN(value)) return 'NaN';
  const special = SPECIAL_FLOATS.get(value);
  if (special !== undefined) return special;
  if (Object.is(value, -0)) return '-0';
  return digitsOf(value);
}

/**
 * The shortest decimal that reads back to the same float32, as numpy and pyarrow print it: 0.1f is
 * `0.1`, not the double `0.10000000149011612`, and a float32 column stores exactly the sent value.
 */
function shortestFloat32(value: number): string {
  for (let digits = 1; digits < 9; digits += 1) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return String(candidate);
  }
  return String(value);
}

/** The two's-complement integer held in `count` little-endian 32-bit words (decimals, 64-bit interval parts). */
function readWords(words: Uint32Array, start: number, count: number): bigint {
  let value = 0n;
  for (let word = count - 1; word >= 0; word -= 1) value = (value << 32n) | BigInt(words[start + word]!);
  return words[start + count - 1]! >= 0x80000000 ? value - (1n << BigInt(count * 32)) : value;
}

function formatDecimal(unscaled: bigint, scale: number): string {
  const sign = unscaled < 0n ? '-' : '';
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString();
  if (scale <= 0) return digits === '0' ? '0' : `${sign}${digits}${'0'.repeat(-scale)}`;
  const padded = digits.padStart(scale + 1, '0');
  return `${sign}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/** Doubles hold 15 significant digits exactly; DuckDB reads JSON numbers as doubles, so longer decimals go as strings. */
const MAX_EXACT_JSON_DIGITS = 15;

function decimalJson(text: string): string {
  const significant = text.replace(/^-|\./g, '').replace(/^0+/, '');
  return significant.length <= MAX_EXACT_JSON_DIGITS ? text : quote(text);
}

/**
 * Binary as DuckDB's own BLOB text: printable ASCII as itself, every other byte (and `"`, `'`, `\`)
 * as `\xHH`. `CAST(text AS BLOB)` gives the bytes back, and DuckDB prints a BLOB the same way.
 */
const BYTE_TEXT: readonly string[] = Array.from({ length: 256 }, (_, byte) =>
  byte < 0x20 || byte >= 0x7f || byte === 0x22 || byte === 0x27 || byte === 0x5c
    ? `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`
    : String.fromCharCode(byte),
);

function formatBinary(bytes: Uint8Array): string {
  let text = '';
  for (let index = 0; index < bytes.length; index += 1) text += BYTE_TEXT[bytes[index]!];
  return text;
}

// ---------------------------------------------------------------------------------------------
// Readers

/** A test of the chunk's validity bitmap, read directly since it runs per cell; undefined when nothing is null. */
function validityOf(data: Data): ((index: number) => boolean) | undefined {
  if (data.nullCount === 0) return undefined;
  const { nullBitmap, offset } = data;
  return (index) => ((nullBitmap[(offset + index) >> 3]! >> ((offset + index) & 7)) & 1) === 1;
}

function readerOf(data: Data, text: (index: number) => string, json: (index: number) => string = text): ValueReader {
  const isValid = validityOf(data);
  if (isValid === undefined) return { text, json };
  return {
    text: (index) => (isValid(index) ? text(index) : null),
    json: (index) => (isValid(index) ? json(index) : 'null'),
  };
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Where value `index` of a Binary, Utf8, List or Map chunk starts; value `index` ends where `index + 1` starts. */
function offsetsOf(data: Data): (index: number) => number {
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  return offsets instanceof Int32Array ? (index) => offsets[index]! : (index) => Number(offsets[index]);
}

/** Bytes of value `index` of a view chunk: 16-byte views, inline up to 12 bytes, else in a variadic buffer. */
function viewBytes(data: Data): (index: number) => Uint8Array {
  const views = data.values as Uint8Array;
  const words = new DataView(views.buffer, views.byteOffset, views.byteLength);
  return (index) => {
    const at = index * 16;
    const length = words.getInt32(at, true);
    if (length <= 12) return views.subarray(at + 4, at + 4 + length);
    const buffer = data.variadicBuffers[words.getInt32(at + 8, true)];
    if (buffer === undefined) throw new Error(`a view refers to a missing data buffer`);
    const start = words.getInt32(at + 12, true);
    return buffer.subarray(start, start + length);
  };
}

/**
 * The text of a utf8 value's bytes. Decoding puts U+FFFD in place of bytes that are not UTF-8
 * without a word, so a value that decodes with one is checked, and refused when its bytes are not UTF-8.
 */
function utf8Text(bytes: Buffer, start: number, end: number): string {
  const text = bytes.toString('utf8', start, end);
  if (text.includes('\uFFFD') && !isUtf8(bytes.subarray(start, end))) throw new Error(`the value ${quote(text)} is not valid UTF-8 (U+FFFD marks the bytes that are not)`);
  return text;
}

const bindUtf8 = (): BindReader => (data) => {
  const bytes = asBuffer(data.values as Uint8Array);
  const at = offsetsOf(data);
  const text = (index: number): string => utf8Text(bytes, at(index), at(index + 1));
  return readerOf(data, text, (index) => quote(text(index)));
};

const bindBinary = (): BindReader => (data) => {
  const bytes = data.values as Uint8Array;
  const at = offsetsOf(data);
  const text = (index: number): string => formatBinary(bytes.subarray(at(index), at(index + 1)));
  return readerOf(data, text, (index) => quote(text(index)));
};

const bindNumbers =
  <T extends number | bigint>(format: (value: T) => string, json: (text: string) => string = (text) => text): BindReader =>
  (data) => {
    const values = data.values as ArrayLike<T>;
    const text = (index: number): string => format(values[index]!);
    return readerOf(data, text, (index) => json(text(index)));
  };

/** NaN and ±Infinity are not JSON numbers; as strings DuckDB still casts them to floats inside lists. */
const floatJson = (text: string): string => (/^-?[IN]/.test(text) ? quote(text) : text);

const FLOAT_FORMATS: Record<Precision, (value: number) => string> = {
  // Exact rather than shortest: no column type stores float16, and the shortest float16 text
  // (65500 for 65504) is another value as a float32 or float64.
  [Precision.HALF]: (bits) => formatFloat(util.uint16ToFloat64(bits)),
  [Precision.SINGLE]: (value) => formatFloat(value, shortestFloat32),
  [Precision.DOUBLE]: (value) => formatFloat(value),
};

/** JSON array of the child values `start` to `end`. */
function jsonArray(child: ValueReader, start: number, end: number): string {
  const items: string[] = [];
  for (let index = start; index < end; index += 1) items.push(child.json(index));
  return `[${items.join(',')}]`;
}

function bindList(type: List | LargeList): BindReader {
  const bindChild = bindReader(type.valueType);
  return (data) => {
    const child = bindChild(data.children[0]!);
    const at = offsetsOf(data);
    return readerOf(data, (index) => jsonArray(child, at(index), at(index + 1)));
  };
}

/** A reader of values held elsewhere: `locate` gives the reader and index of a row's value (a union member, a dictionary entry). */
function readerVia(locate: (index: number) => [ValueReader, number], isValid: (index: number) => boolean = () => true): ValueReader {
  return {
    text: (index) => {
      if (!isValid(index)) return null;
      const [reader, at] = locate(index);
      return reader.text(at);
    },
    json: (index) => {
      if (!isValid(index)) return 'null';
      const [reader, at] = locate(index);
      return reader.json(at);
    },
  };
}

const READERS: ReaderTable = {
  [Type.NONE]: () => {
    throw new SluiceError('MALFORMED_BODY', 'The Arrow IPC stream is malformed: a field has no type');
  },
  [Type.Null]: () => () => ({ text: () => null, json: () => 'null' }),
  [Type.Bool]: () => (data) => {
    const { values, offset } = data as Data<Bool>;
    return readerOf(data, (index) => (((values[(offset + index) >> 3]! >> ((offset + index) & 7)) & 1) === 1 ? 'true' : 'false'));
  },
  [Type.Int]: () => bindNumbers(String),
  [Type.Float]: (type) => bindNumbers(FLOAT_FORMATS[type.precision], floatJson),
  [Type.Decimal]: ({ bitWidth, scale }) => (data) => {
    const words = data.values as Uint32Array;
    const count = bitWidth / 32;
    const text = (index: number): string => formatDecimal(readWords(words, index * count, count), scale);
    return readerOf(data, text, (index) => decimalJson(text(index)));
  },
  [Type.Utf8]: bindUtf8,
  [Type.LargeUtf8]: bindUtf8,
  [Type.Utf8View]: () => (data) => {
    const bytes = viewBytes(data);
    const text = (index: number): string => {
      const value = asBuffer(bytes(index));
      return utf8Text(value, 0, value.length);
    };
    return readerOf(data, text, (index) => quote(text(index)));
  },
  [Type.Binary]: bindBinary,
  [Type.LargeBinary]: bindBinary,
  [Type.BinaryView]: () => (data) => {
    const bytes = viewBytes(data);
    const text = (index: number): string => formatBinary(bytes(index));
    return readerOf(data, text, (index) => quote(text(index)));
  },
  [Type.FixedSizeBinary]: ({ byteWidth }) => (data) => {
    const bytes = data.values as Uint8Array;
    const text = (index: number): string => formatBinary(bytes.subarray(index * byteWidth, (index + 1) * byteWidth));
    return readerOf(data, text, (index) => quote(text(index)));
  },
  // Date64 holds milliseconds of whole days; any time of day is dropped, not rounded.
  [Type.Date]: ({ unit }) =>
    unit === DateUnit.DAY
      ? bindNumbers((days: number) => formatDays(days), quote)
      : bindNumbers((ms: bigint) => formatDays(Math.floor(Number(ms) / 86_400_000)), quote),
  [Type.Timestamp]: ({ unit }) => bindNumbers((value: bigint) => formatInstant(value, UNIT_SCALES[unit]), quote),
  [Type.Time]: ({ unit }) => bindNumbers((value) => formatTimeOfDay(Number(value), UNIT_SCALES[unit]), quote),
  // A count of the duration's unit: exact, and what an integer column takes.
  [Type.Duration]: () => bindNumbers(String),
  // Sluice has no interval type; a JSON object keeps all three parts for a json or text column.
  [Type.Interval]: ({ unit }) => (data) => {
    const words = data.values as Int32Array;
    const unsigned = new Uint32Array(words.buffer, words.byteOffset, words.length);
    const parts: Record<IntervalUnit, (index: number) => [months: number, days: number, nanoseconds: bigint]> = {
      [IntervalUnit.YEAR_MONTH]: (index) => [words[index]!, 0, 0n],
      [IntervalUnit.DAY_TIME]: (index) => [0, words[2 * index]!, BigInt(words[2 * index + 1]!) * 1_000_000n],
      [IntervalUnit.MONTH_DAY_NANO]: (index) => [words[4 * index]!, words[4 * index + 1]!, readWords(unsigned, 4 * index + 2, 2)],
    };
    const read = parts[unit];
    return readerOf(data, (index) => {
      const [months, days, nanoseconds] = read(index);
      return `{"months":${months},"days":${days},"nanoseconds":${nanoseconds}}`;
    });
  },
  [Type.List]: bindList,
  [Type.LargeList]: bindList,
  [Type.FixedSizeList]: ({ valueType, listSize }) => {
    const bindChild = bindReader(valueType);
    return (data) => {
      const child = bindChild(data.children[0]!);
      return readerOf(data, (index) => jsonArray(child, index * listSize, (index + 1) * listSize));
    };
  },
  [Type.Struct]: (type) => {
    const fields = type.children.map((field) => ({ key: `${quote(field.name)}:`, bind: bindReader(field.type) }));
    return (data) => {
      const children = fields.map(({ key, bind }, position) => ({ key, reader: bind(data.children[position]!) }));
      return readerOf(data, (index) => `{${children.map(({ key, reader }) => key + reader.json(index)).join(',')}}`);
    };
  },
  // A JSON object keyed by each key's text: what DuckDB casts to a MAP and what a json column expects.
  [Type.Map]: (type) => {
    const entries = type.children[0]!.type as Struct;
    const bindKey = bindReader(entries.children[0]!.type);
    const bindValue = bindReader(entries.children[1]!.type);
    return (data) => {
      const entryData = data.children[0]!;
      const keys = bindKey(entryData.children[0]!);
      const values = bindValue(entryData.children[1]!);
      const at = offsetsOf(data);
      return readerOf(data, (index) => {
        const members: string[] = [];
        for (let entry = at(index); entry < at(index + 1); entry += 1) members.push(`${quote(keys.text(entry) ?? 'null')}:${values.json(entry)}`);
        return `{${members.join(',')}}`;
      });
    };
  },
  // A union value is the value of the member it holds; unions carry no validity of their own.
  [Type.Union]: (type) => {
    const members = type.children.map((field) => bindReader(field.type));
    return (data) => {
      const readers = members.map((bind, position) => bind(data.children[position]!));
      const typeIds = data.typeIds;
      const offsets = type.mode === UnionMode.Dense ? (data.valueOffsets as Int32Array) : undefined;
      return readerVia((index) => [readers[type.typeIdToChildIndex[typeIds[index]!]!]!, offsets ? offsets[index]! : index]);
    };
  },
  [Type.Dictionary]: (type) => {
    const bindValue = bindReader(type.dictionary);
    return (data) => {
      const chunks = (data.dictionary?.data ?? []).map((chunk) => ({ length: chunk.length, reader: bindValue(chunk) }));
      const keys = data.values as ArrayLike<number | bigint>;
      const locate = (index: number): [ValueReader, number] => {
        let key = Number(keys[index]);
        for (const chunk of chunks) {
          if (key < chunk.length) return [chunk.reader, key];
          key -= chunk.length;
        }
        throw new Error(`dictionary key ${Number(keys[index])} is out of range`);
      };
      return readerVia(locate, validityOf(data));
    };
  },
};

/** A reader for values of an Arrow type, to bind to each chunk of a column of that type. */
export function bindReader(type: ArrowType): BindReader {
  return (READERS[type.typeId as TypeId] as (type: ArrowType) => BindReader)(type);
}
