import {
  AsyncByteQueue,
  Binary,
  Bool,
  DateDay,
  DateMillisecond,
  Decimal,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  makeData,
  Map_,
  Null,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Time,
  Timestamp,
  TimeUnit,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  type Data,
  type DataType as ArrowType,
} from 'apache-arrow';
import { applyKindTable, type DataType, type KindTable } from '../../types/data-type.ts';
import { renderJsonValue, renderTextValue } from '../render-value.ts';
import { isSqlStruct, SqlDate, SqlDecimal, SqlJson, SqlMap, SqlTime, SqlTimestamp, type SqlValue } from '../sql-values.ts';
import type { EncodedOutput, EncoderInput } from './encoder-input.ts';

/**
 * Arrow IPC stream: the schema, then one record batch per input batch, written as the rows
 * arrive. Types follow the Arrow names the Catalyzed dialect prints: 128/256-bit integers, UUIDs
 * and JSON travel as utf8 text (Arrow has no such types), decimals as decimal128, dates as
 * date32 (date64 for a column declared so), times as time64[us], timestamps in their own unit (with tz=UTC for TIMESTAMPTZ), lists, fixed-size
 * lists, maps and structs as themselves.
 */
export async function* encodeArrow(input: EncoderInput): EncodedOutput {
  const columns = input.columns.map((column) => ({ name: column.name, nullable: column.nullable, arrow: arrowColumn(column.type) }));
  const schema = new Schema(columns.map((column) => new Field(column.name, column.arrow.type, column.nullable)));
  const sink = new ChunkSink();
  const writer = new RecordBatchStreamWriter();
  writer.reset(sink, schema);
  yield* sink.take();
  for await (const rows of input.batches) {
    if (rows.length === 0) continue;
    const children = columns.map((column, index) => column.arrow.build(rows.map((row) => row[index] ?? null)));
    writer.write(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children })));
    yield* sink.take();
  }
  writer.finish();
  yield* sink.take();
}

/** Collects what the writer writes, so that each batch's bytes can be handed on as soon as it is written. */
class ChunkSink extends AsyncByteQueue {
  private chunks: Uint8Array[] = [];

  override write(value: unknown): void {
    if (ArrayBuffer.isView(value) && value.byteLength > 0) this.chunks.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  }

  take(): Uint8Array[] {
    return this.chunks.splice(0);
  }
}

interface ArrowColumn {
  type: ArrowType;
  build(values: readonly SqlValue[]): Data;
}

const MILLIS_PER_DAY = 86_400_000n;
const NANOS_PER_UNIT = { s: 1_000_000_000n, ms: 1_000_000n, us: 1000n, ns: 1n } as const;
const ARROW_TIME_UNITS = { s: TimeUnit.SECOND, ms: TimeUnit.MILLISECOND, us: TimeUnit.MICROSECOND, ns: TimeUnit.NANOSECOND } as const;

type IntegerArray = { from(values: ArrayLike<SqlValue>, map: (value: SqlValue) => number): ArrayBufferView };
const SMALL_INTEGERS: Record<8 | 16 | 32, [signed: [() => ArrowType, IntegerArray], unsigned: [() => ArrowType, IntegerArray]]> = {
  8: [[() => new Int8(), Int8Array], [() => new Uint8(), Uint8Array]],
  16: [[() => new Int16(), Int16Array], [() => new Uint16(), Uint16Array]],
  32: [[() => new Int32(), Int32Array], [() => new Uint32(), Uint32Array]],
};

const ARROW_COLUMNS: KindTable<ArrowColumn> = {
  boolean: () => ({
    type: new Bool(),
    build: (values) => {
      const bits = new Uint8Array(Math.ceil(values.length / 8));
      values.forEach((value, index) => {
        if (value === true) bits[index >> 3]! |= 1 << (index & 7);
      });
      return makeData({ type: new Bool(), length: values.length, ...nulls(values), data: bits });
    },
  }),
  int: ({ bits, signed }) => {
    if (bits === 64) {
      return signed
        ? fixedWidthColumn(new Int64(), (values) => BigInt64Array.from(values, (value) => BigInt((value ?? 0n) as bigint)))
        : fixedWidthColumn(new Uint64(), (values) => BigUint64Array.from(values, (value) => BigInt((value ?? 0n) as bigint)));
    }
    if (bits === 128 || bits === 256) return textColumn((value) => renderTextValue(value));
    const [newType, Values] = SMALL_INTEGERS[bits][signed ? 0 : 1];
    return fixedWidthColumn(newType(), (values) => Values.from(values, (value) => Number(value ?? 0)));
  },
  float: ({ bits }) =>
    bits === 64
      ? fixedWidthColumn(new Float64(), (values) => Float64Array.from(values, (value) => Number(value ?? 0)))
      : fixedWidthColumn(new Float32(), (values) => Float32Array.from(values, (value) => Number(value ?? 0))),
  decimal: ({ precision, scale }) =>
    fixedWidthColumn(new Decimal(scale, precision, 128), (values) => {
      // 128-bit two's complement, as four little-endian 32-bit words per value.
      const words = new Uint32Array(values.length * 4);
      values.forEach((value, index) => {
        let bits = BigInt.asUintN(128, value instanceof SqlDecimal ? rescale(value, scale) : 0n);
        for (let word = 0; word < 4; word += 1, bits >>= 32n) words[index * 4 + word] = Number(bits & 0xffff_ffffn);
      });
      return words;
    }),
  string: () => textColumn((value) => renderTextValue(value)),
  binary: () => variableWidthColumn(new Binary(), (value) => (value instanceof Uint8Array ? value : Buffer.from(renderTextValue(value), 'utf8'))),
  uuid: () => textColumn((value) => renderTextValue(value)),
  // date64 is Arrow's days in milliseconds since the epoch.
  date: ({ unit }) =>
    unit === 'ms'
      ? fixedWidthColumn(new DateMillisecond(), (values) => BigInt64Array.from(values, (value) => (value instanceof SqlDate ? BigInt(value.days) * MILLIS_PER_DAY : 0n)))
      : fixedWidthColumn(new DateDay(), (values) => Int32Array.from(values, (value) => (value instanceof SqlDate ? value.days : 0))),
  time: () =>
    fixedWidthColumn(new Time(TimeUnit.MICROSECOND, 64), (values) =>
      BigInt64Array.from(values, (value) => (value instanceof SqlTime ? value.nanos / NANOS_PER_UNIT.us : 0n)),
    ),
  timestamp: ({ unit, timezone }) =>
    fixedWidthColumn(new Timestamp(ARROW_TIME_UNITS[unit], timezone ?? null), (values) =>
      BigInt64Array.from(values, (value) => (value instanceof SqlTimestamp ? floorDivide(value.epochNanos, NANOS_PER_UNIT[unit]) : 0n)),
    ),
  list: ({ element, elementNullable, size }) => {
    const child = arrowColumn(element);
    const field = new Field('item', child.type, elementNullable);
    if (size !== undefined) {
      const type = new FixedSizeList(size, field);
      return {
        type,
        build: (values) => {
          const items = values.flatMap((value) => (Array.isArray(value) ? value : Array<SqlValue>(size).fill(null)));
          return makeData({ type, length: values.length, ...nulls(values), child: child.build(items) });
        },
      };
    }
    const type = new List(field);
    return {
      type,
      build: (values) => {
        const lists = values.map((value) => (Array.isArray(value) ? value : []));
        return makeData({ type, length: values.length, ...nulls(values), valueOffsets: offsetsOf(lists), child: child.build(lists.flat()) });
      },
    };
  },
  map: ({ key, value, valueNullable }) => {
    const keys = arrowColumn(key);
    const items = arrowColumn(value);
    const entryType = new Struct([new Field('key', keys.type, false), new Field('value', items.type, valueNullable)]);
    const type = new Map_(new Field('entries', entryType, false), false);
    return {
      type,
      build: (values) => {
        const maps = values.map((map) => (map instanceof SqlMap ? map.entries : []));
        const entries = maps.flat();
        const entryData = makeData({
          type: entryType,
          length: entries.length,
          nullCount: 0,
          children: [keys.build(entries.map(([entryKey]) => entryKey)), items.build(entries.map(([, entryValue]) => entryValue))],
        });
        return makeData({ type, length: values.length, ...nulls(values), valueOffsets: offsetsOf(maps), child: entryData });
      },
    };
  },
  struct: ({ fields }) => {
    const children = fields.map((field) => ({ name: field.name, column: arrowColumn(field.type), nullable: field.nullable }));
    const type = new Struct(children.map((child) => new Field(child.name, child.column.type, child.nullable)));
    return {
      type,
      build: (values) =>
        makeData({
          type,
          length: values.length,
          ...nulls(values),
          children: children.map((child, index) => child.column.build(values.map((value) => fieldOf(value, child.name, index)))),
        }),
    };
  },
  json: () => textColumn((value) => (value instanceof SqlJson ? value.text : renderJsonValue(value))),
  null: () => ({ type: new Null(), build: (values) => makeData({ type: new Null(), length: values.length }) }),
};

function arrowColumn(type: DataType): ArrowColumn {
  return applyKindTable(ARROW_COLUMNS, type);
}

function fixedWidthColumn<T extends ArrowType>(type: T, toValues: (values: readonly SqlValue[]) => ArrayBufferView): ArrowColumn {
  return { type, build: (values) => makeData({ type, length: values.length, ...nulls(values), data: toValues(values) } as never) };
}

function textColumn(toText: (value: SqlValue) => string): ArrowColumn {
  return variableWidthColumn(new Utf8(), (value) => Buffer.from(toText(value), 'utf8'));
}

function variableWidthColumn(type: Utf8 | Binary, toBytes: (value: SqlValue) => Uint8Array): ArrowColumn {
  return {
    type,
    build: (values) => {
      const parts = values.map((value) => (value === null ? new Uint8Array(0) : toBytes(value)));
      return makeData({ type, length: values.length, ...nulls(values), valueOffsets: offsetsOf(parts), data: Buffer.concat(parts) } as never);
    },
  };
}

function offsetsOf(parts: ReadonlyArray<{ length: number }>): Int32Array {
  const offsets = new Int32Array(parts.length + 1);
  parts.forEach((part, index) => (offsets[index + 1] = offsets[index]! + part.length));
  return offsets;
}

/** The validity bitmap Arrow expects, or none when every value is present. */
function nulls(values: readonly SqlValue[]): { nullCount: number; nullBitmap?: Uint8Array } {
  const nullCount = values.reduce<number>((count, value) => count + (value === null ? 1 : 0), 0);
  if (nullCount === 0) return { nullCount };
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, index) => {
    if (value !== null) bitmap[index >> 3]! |= 1 << (index & 7);
  });
  return { nullCount, nullBitmap: bitmap };
}

function rescale(value: SqlDecimal, scale: number): bigint {
  return scale >= value.scale ? value.unscaled * 10n ** BigInt(scale - value.scale) : value.unscaled / 10n ** BigInt(value.scale - scale);
}

function floorDivide(dividend: bigint, divisor: bigint): bigint {
  const quotient = dividend / divisor;
  return dividend % divisor < 0n ? quotient - 1n : quotient;
}

/** A struct value's field, by name, or by position for an unnamed struct (an array of its fields, see SqlValue). */
function fieldOf(value: SqlValue, name: string, index: number): SqlValue {
  if (Array.isArray(value)) return value[index] ?? null;
  return isSqlStruct(value) ? (value[name] ?? null) : null;
}
