import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  Binary,
  BinaryView,
  Bool,
  CompressionType,
  DateDay,
  DateMillisecond,
  Decimal,
  DenseUnion,
  Dictionary,
  DurationNanosecond,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalDayTime,
  IntervalMonthDayNano,
  IntervalYearMonth,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  Null,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Table,
  TimeMicrosecond,
  TimeMillisecond,
  TimeNanosecond,
  TimeSecond,
  TimeUnit,
  Timestamp,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  Utf8View,
  Vector,
  compressionRegistry,
  makeData,
  makeVector,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import type { DataType as ArrowType } from 'apache-arrow';
import type { Column } from '../../../../src/core/catalog/model.ts';
import { SluiceError } from '../../../../src/core/errors.ts';
import { decodeArrowIpc } from '../../../../src/core/ingest/decoders/arrow-ipc.ts';
import type { ArrowIpcOptions } from '../../../../src/core/ingest/decoders/arrow-ipc.ts';
import type { RecordBatch as TextBatch } from '../../../../src/core/write/write-command.ts';

// ---------------------------------------------------------------------------------------------
// Building streams

const textColumns = (...names: string[]): Column[] => names.map((name) => ({ name, type: { kind: 'string' }, nullable: true }));

function validityOf(values: ReadonlyArray<unknown>): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, index) => {
    if (value !== null) nullBitmap[index >> 3]! |= 1 << (index & 7);
  });
  return { nullBitmap, nullCount: values.filter((value) => value === null).length };
}

/** A vector built from its raw buffer, for exact 64-bit values and values builders would convert. */
function rawVector(type: ArrowType, values: Array<number | bigint | null>, wordsPerValue = 1): Vector {
  const data = new type.ArrayType(values.length * wordsPerValue);
  values.forEach((value, index) => {
    if (value !== null) data[index * wordsPerValue] = value;
  });
  return makeVector(makeData({ type, length: values.length, ...validityOf(values), data } as never));
}

/** Two's-complement little-endian 32-bit words of each value, as Arrow stores decimals and 128-bit intervals. */
function wordsOf(values: Array<bigint | null>, words: number): Uint32Array {
  const buffer = new Uint32Array(values.length * words);
  values.forEach((value, index) => {
    let rest = BigInt.asUintN(words * 32, value ?? 0n);
    for (let word = 0; word < words; word += 1, rest >>= 32n) buffer[index * words + word] = Number(rest & 0xffffffffn);
  });
  return buffer;
}

function decimalVector(type: Decimal, values: Array<bigint | null>): Vector {
  return makeVector(makeData({ type, length: values.length, ...validityOf(values), data: wordsOf(values, type.bitWidth / 32) } as never));
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const item = (type: ArrowType): Field => new Field('item', type, true);

function streamOf(columns: Record<string, Vector>): Buffer {
  return Buffer.from(tableToIPC(new Table(columns), 'stream'));
}

/** The bytes fed `size` at a time, as a network would. */
function chunked(body: Uint8Array, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < body.length; at += size) yield Buffer.from(body.subarray(at, at + size));
    })(),
  );
}

async function decode(body: Uint8Array | Readable, columns: Column[], options: Partial<ArrowIpcOptions> = {}): Promise<TextBatch[]> {
  const stream = body instanceof Readable ? body : chunked(body, 64 * 1024);
  const batches: TextBatch[] = [];
  for await (const batch of decodeArrowIpc(stream, columns, { caseInsensitive: false, ...options })) batches.push(batch);
  return batches;
}

async function decodeRows(body: Uint8Array | Readable, columns: Column[], options: Partial<ArrowIpcOptions> = {}): Promise<Array<Array<string | null>>> {
  return (await decode(body, columns, options)).flatMap((batch) => batch.rows);
}

function isSluiceError(code: string, message?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof SluiceError, `expected a SluiceError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}

// ---------------------------------------------------------------------------------------------
// Values

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** [type, what happens, values as Arrow holds them, the text each becomes]. */
const SCALAR_CASES: Array<[name: string, behaviour: string, vector: Vector, expected: Array<string | null>]> = [
  ['int8', 'keeps its extremes', rawVector(new Int8(), [-128, 127, null]), ['-128', '127', null]],
  ['int16', 'keeps its extremes', rawVector(new Int16(), [-32768, 32767, null]), ['-32768', '32767', null]],
  ['int32', 'keeps its extremes', rawVector(new Int32(), [-2147483648, 2147483647, null]), ['-2147483648', '2147483647', null]],
  ['int64', 'keeps its extremes exactly', rawVector(new Int64(), [INT64_MAX, INT64_MIN, 0n, null]), ['9223372036854775807', '-9223372036854775808', '0', null]],
  ['uint8', 'keeps its maximum', rawVector(new Uint8(), [0, 255, null]), ['0', '255', null]],
  ['uint16', 'keeps its maximum', rawVector(new Uint16(), [65535, null]), ['65535', null]],
  ['uint32', 'keeps its maximum', rawVector(new Uint32(), [4294967295, null]), ['4294967295', null]],
  ['uint64', 'keeps its maximum exactly', rawVector(new Uint64(), [18446744073709551615n, null]), ['18446744073709551615', null]],
  [
    'float16',
    'is its exact value (no column stores float16), with NaN and Infinity spelled out',
    vectorFromArray([1.5, 65504, -0, 0.1, Number.NaN, Number.POSITIVE_INFINITY, null], new Float16()),
    ['1.5', '65504', '-0', '0.0999755859375', 'NaN', 'Infinity', null],
  ],
  [
    'float32',
    'is the shortest decimal that reads back to the same float32, with NaN and Infinity spelled out',
    vectorFromArray([0.1, 3.4028234663852886e38, 1e-45, 16777217, Number.NEGATIVE_INFINITY, Number.NaN, null], new Float32()),
    ['0.1', '3.4028235e+38', '1e-45', '16777216', '-Infinity', 'NaN', null],
  ],
  [
    'float64',
    'round-trips, keeping -0, NaN and Infinity',
    vectorFromArray([0.1, 1e21, -0, 5e-324, 1.7976931348623157e308, Number.NaN, Number.NEGATIVE_INFINITY, null], new Float64()),
    ['0.1', '1e+21', '-0', '5e-324', '1.7976931348623157e+308', 'NaN', '-Infinity', null],
  ],
  [
    'decimal128(38, 2)',
    'keeps all 38 digits and the scale',
    decimalVector(new Decimal(2, 38, 128), [12345678901234567890123456789012345678n, -(10n ** 38n - 1n), -1n, 0n, null]),
    ['123456789012345678901234567890123456.78', '-999999999999999999999999999999999999.99', '-0.01', '0.00', null],
  ],
  [
    'decimal256(76, 10)',
    'keeps all 76 digits',
    decimalVector(new Decimal(10, 76, 256), [10n ** 75n + 1n, -(10n ** 75n), null]),
    [`1${'0'.repeat(65)}.0000000001`, `-1${'0'.repeat(65)}.0000000000`, null],
  ],
  ['decimal64(18, 2)', 'is read from its two words', decimalVector(new Decimal(2, 18, 64), [-5n, 999999999999999999n]), ['-0.05', '9999999999999999.99']],
  ['decimal with scale 0', 'has no point', decimalVector(new Decimal(0, 5, 128), [-123n]), ['-123']],
  ['decimal with a negative scale', 'is padded with zeros', decimalVector(new Decimal(-2, 5, 128), [123n]), ['12300']],
  [
    'utf8',
    'keeps unicode, quotes, backslashes and newlines',
    vectorFromArray(['', 'héllo wörld', '🎉 日本語', 'quote " backslash \\ newline \n tab \t', null], new Utf8()),
    ['', 'héllo wörld', '🎉 日本語', 'quote " backslash \\ newline \n tab \t', null],
  ],
  ['largeutf8', 'reads its 64-bit offsets', vectorFromArray(['ünï', '', null], new LargeUtf8()), ['ünï', '', null]],
  [
    'utf8view',
    'reads inline and out-of-line views',
    vectorFromArray(['short', 'longer than twelve bytes ✓', null], new Utf8View()),
    ['short', 'longer than twelve bytes ✓', null],
  ],
  [
    'binary',
    "becomes DuckDB's BLOB text: printable ASCII as is, other bytes and quotes and backslash as \\xHH",
    vectorFromArray([bytes(0x00, 0xff, 0x41, 0x5c, 0x22, 0x27, 0x7f, 0x20, 0x7e), bytes(), null], new Binary()),
    ['\\x00\\xFFA\\x5C\\x22\\x27\\x7F ~', '', null],
  ],
  ['largebinary', "becomes DuckDB's BLOB text", vectorFromArray([bytes(0x01, 0x61), null], new LargeBinary()), ['\\x01a', null]],
  ['fixed_size_binary[2]', "becomes DuckDB's BLOB text", vectorFromArray([bytes(0x80, 0x62), null], new FixedSizeBinary(2)), ['\\x80b', null]],
  [
    'binaryview',
    "becomes DuckDB's BLOB text",
    vectorFromArray([bytes(0x0a), bytes(...Array.from({ length: 14 }, () => 0x63)), null], new BinaryView()),
    ['\\x0A', 'c'.repeat(14), null],
  ],
  ['bool', 'is true or false', vectorFromArray([true, false, null], new Bool()), ['true', 'false', null]],
  [
    'date32',
    'is YYYY-MM-DD, with astronomical years before year 1',
    rawVector(new DateDay(), [0, -1, 19723, 2932896, -719528, -719529, null]),
    ['1970-01-01', '1969-12-31', '2024-01-01', '9999-12-31', '0000-01-01', '-0001-12-31', null],
  ],
  [
    'date64',
    'is the date of its milliseconds, dropping any time of day',
    rawVector(new DateMillisecond(), [86400000n, -86400000n, 1704070800000n, -1n, null]),
    ['1970-01-02', '1969-12-31', '2024-01-01', '1969-12-31', null],
  ],
  [
    'timestamp[s]',
    'is UTC ISO-8601 without a fraction',
    rawVector(new TimestampSecond(), [0n, -1n, 253402300799n, -62135596800n, null]),
    ['1970-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '9999-12-31T23:59:59Z', '0001-01-01T00:00:00Z', null],
  ],
  ['timestamp[ms]', 'keeps milliseconds', rawVector(new TimestampMillisecond(), [1704164645123n, -1n]), ['2024-01-02T03:04:05.123Z', '1969-12-31T23:59:59.999Z']],
  [
    'timestamp[us]',
    'keeps microseconds, also beyond 2^53',
    rawVector(new TimestampMicrosecond(), [1704164645123456n, -1n, 1704164645000000n, 9007199254740993n]),
    ['2024-01-02T03:04:05.123456Z', '1969-12-31T23:59:59.999999Z', '2024-01-02T03:04:05.000000Z', '2255-06-05T23:47:34.740993Z'],
  ],
  [
    'timestamp[ns]',
    'keeps nanoseconds to the ends of its range',
    rawVector(new TimestampNanosecond(), [1704164645123456789n, INT64_MAX, INT64_MIN, null]),
    ['2024-01-02T03:04:05.123456789Z', '2262-04-11T23:47:16.854775807Z', '1677-09-21T00:12:43.145224192Z', null],
  ],
  [
    'timestamp[ms, tz=America/New_York]',
    'is the same instant in UTC',
    rawVector(new Timestamp(TimeUnit.MILLISECOND, 'America/New_York'), [1704164645123n]),
    ['2024-01-02T03:04:05.123Z'],
  ],
  ['time32[s]', 'is HH:MM:SS', rawVector(new TimeSecond(), [3723, 0, null]), ['01:02:03', '00:00:00', null]],
  ['time32[ms]', 'keeps milliseconds', rawVector(new TimeMillisecond(), [45296789]), ['12:34:56.789']],
  ['time64[us]', 'keeps microseconds', rawVector(new TimeMicrosecond(), [86399999999n]), ['23:59:59.999999']],
  ['time64[ns]', 'keeps nanoseconds', rawVector(new TimeNanosecond(), [1n]), ['00:00:00.000000001']],
  ['duration[ns]', 'is its count of the unit', rawVector(new DurationNanosecond(), [5n, -3n, INT64_MAX, null]), ['5', '-3', '9223372036854775807', null]],
  ['interval[year_month]', 'is a JSON object of its parts', rawVector(new IntervalYearMonth(), [14, null]), ['{"months":14,"days":0,"nanoseconds":0}', null]],
  [
    'interval[day_time]',
    'is a JSON object of its parts',
    makeVector(makeData({ type: new IntervalDayTime(), length: 1, data: Int32Array.of(4, 5) })),
    ['{"months":0,"days":4,"nanoseconds":5000000}'],
  ],
  [
    'interval[month_day_nano]',
    'is a JSON object of its parts',
    makeVector(makeData({ type: new IntervalMonthDayNano(), length: 1, data: new Int32Array(wordsOf([1n, -2n, -1n, -1n], 1).buffer) })),
    ['{"months":1,"days":-2,"nanoseconds":-1}'],
  ],
  ['null', 'is null', vectorFromArray([null, null], new Null()), [null, null]],
  [
    'dictionary<int32, utf8>',
    'is the dictionary value',
    vectorFromArray(['b', 'a', null, 'b'], new Dictionary(new Utf8(), new Int32())),
    ['b', 'a', null, 'b'],
  ],
  [
    'dictionary<int64, utf8> in two chunks',
    'is the dictionary value, from either chunk',
    makeVector(
      makeData({
        // Arrow allows 64-bit keys; apache-arrow's types do not list them.
        type: new Dictionary(new Utf8(), new Int64() as never),
        length: 4,
        data: BigInt64Array.of(2n, 0n, 1n, 2n),
        dictionary: vectorFromArray(['a', 'b'], new Utf8()).concat(vectorFromArray(['c'], new Utf8())),
      } as never),
    ),
    ['c', 'a', 'b', 'c'],
  ],
];

describe('decodeArrowIpc: scalar values become exact text', () => {
  for (const [name, behaviour, vector, expected] of SCALAR_CASES) {
    test(`${name} ${behaviour}`, async () => {
      const rows = await decodeRows(streamOf({ value: vector }), textColumns('value'));
      assert.deepEqual(
        rows.map(([value]) => value),
        expected,
      );
    });
  }
});

function listVector(type: List, offsets: number[], child: Vector, valid?: boolean[]): Vector {
  const validity = valid ? validityOf(valid.map((flag) => (flag ? 1 : null))) : { nullCount: 0 };
  return makeVector(makeData({ type, length: offsets.length - 1, valueOffsets: Int32Array.from(offsets), child: child.data[0]!, ...validity } as never));
}

const NESTED_CASES: Array<[name: string, behaviour: string, vector: Vector, expected: Array<string | null>]> = [
  [
    'list<int64>',
    'is a JSON array with exact integers',
    vectorFromArray([[1n, INT64_MAX, null], [], null], new List(item(new Int64()))),
    [`[1,${INT64_MAX},null]`, '[]', null],
  ],
  ['large_list<utf8>', 'is a JSON array of strings', vectorFromArray([['a', 'é"\\', null], null], new LargeList(item(new Utf8()))), ['["a","é\\"\\\\",null]', null]],
  [
    'fixed_size_list[2]<float64>',
    'is a JSON array with NaN and Infinity as strings',
    vectorFromArray([[1.5, Number.NaN], [-0, Number.POSITIVE_INFINITY], null], new FixedSizeList(2, item(new Float64()))),
    ['[1.5,"NaN"]', '[-0,"Infinity"]', null],
  ],
  [
    'list<decimal128(38, 2)>',
    'is a JSON array with long decimals as strings, so no digit is lost to a double',
    listVector(new List(item(new Decimal(2, 38, 128))), [0, 3], decimalVector(new Decimal(2, 38, 128), [12345n, 12345678901234567890n, null])),
    ['[123.45,"123456789012345678.90",null]'],
  ],
  [
    'list<timestamp[ns]>',
    'is a JSON array of ISO-8601 strings',
    listVector(new List(item(new TimestampNanosecond())), [0, 1, 1], rawVector(new TimestampNanosecond(), [1704164645123456789n]), [true, false]),
    ['["2024-01-02T03:04:05.123456789Z"]', null],
  ],
  ['list<binary>', "is a JSON array of DuckDB's BLOB text", vectorFromArray([[bytes(0x00, 0x61)]], new List(item(new Binary()))), ['["\\\\x00a"]']],
  [
    'struct<a: int32, b: utf8, c: list<bool>>',
    'is a JSON object, nulls inside kept',
    vectorFromArray(
      [{ a: 1, b: 'x', c: [true, null] }, { a: null, b: null, c: null }, null],
      new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true), new Field('c', new List(item(new Bool())), true)]),
    ),
    ['{"a":1,"b":"x","c":[true,null]}', '{"a":null,"b":null,"c":null}', null],
  ],
  [
    'map<utf8, int32>',
    'is a JSON object keyed by the keys',
    vectorFromArray(
      [new Map([['k', 1], ['j', null]]), new Map(), null],
      new Map_(new Field('entries', new Struct<{ key: Utf8; value: Int32 }>([new Field('key', new Utf8(), false), new Field('value', new Int32(), true)]), false)),
    ),
    ['{"k":1,"j":null}', '{}', null],
  ],
  [
    'dense union<int32, utf8>',
    'is the value of the member it holds',
    makeVector(
      makeData({
        type: new DenseUnion([0, 1], [new Field('i', new Int32(), true), new Field('s', new Utf8(), true)]),
        length: 3,
        typeIds: Int8Array.of(0, 1, 0),
        valueOffsets: Int32Array.of(0, 0, 1),
        children: [rawVector(new Int32(), [7, null]).data[0]!, vectorFromArray(['u'], new Utf8()).data[0]!],
      }),
    ),
    ['7', 'u', null],
  ],
];

describe('decodeArrowIpc: nested values become JSON text', () => {
  for (const [name, behaviour, vector, expected] of NESTED_CASES) {
    test(`${name} ${behaviour}`, async () => {
      const rows = await decodeRows(streamOf({ value: vector }), textColumns('value'));
      assert.deepEqual(
        rows.map(([value]) => value),
        expected,
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Columns

describe('decodeArrowIpc: fields are matched to columns by name', () => {
  const body = streamOf({ ID: vectorFromArray([1, 2], new Int32()), Name: vectorFromArray(['a', 'b'], new Utf8()), extra: vectorFromArray([true, false], new Bool()) });

  test('case-insensitively when asked, every batch carrying all columns in table order', async () => {
    const batches = await decode(body, textColumns('name', 'id', 'missing'), { caseInsensitive: true });
    assert.deepEqual(
      batches.map((batch) => batch.columns),
      [['name', 'id', 'missing']],
    );
    assert.deepEqual(batches[0]!.rows, [
      ['a', '1', null],
      ['b', '2', null],
    ]);
  });

  test('case-sensitively otherwise: a column whose field differs in case gets nulls', async () => {
    assert.deepEqual(await decodeRows(body, textColumns('ID', 'name')), [
      ['1', null],
      ['2', null],
    ]);
  });

  test('an exact match is not taken over one that differs in case: both name the column, which is ambiguous (as a CSV header naming it twice is), where only the exact one counts when case matters', async () => {
    const twoCases = streamOf({ a: vectorFromArray(['lower'], new Utf8()), A: vectorFromArray(['upper'], new Utf8()) });
    await assert.rejects(decode(twoCases, textColumns('A'), { caseInsensitive: true }), isSluiceError('INVALID_ARGUMENT', /"A" matches 2 fields .*"a", "A"/));
    assert.deepEqual(await decodeRows(twoCases, textColumns('A'), { caseInsensitive: false }), [['upper']]);
  });

  test('a column matching two fields is rejected as ambiguous', async () => {
    const twoCases = streamOf({ Id: vectorFromArray([1], new Int32()), ID: vectorFromArray([2], new Int32()) });
    await assert.rejects(decode(twoCases, textColumns('id'), { caseInsensitive: true }), isSluiceError('INVALID_ARGUMENT', /"id" matches 2 fields .*"Id", "ID"/));
  });

  test('a stream none of whose fields match a column is rejected rather than loaded as nulls', async () => {
    await assert.rejects(decode(body, textColumns('other')), isSluiceError('INVALID_ARGUMENT', /None of the Arrow stream's fields \("ID", "Name", "extra"\)/));
  });
});

// ---------------------------------------------------------------------------------------------
// Streaming

const ids = (rows: Array<Array<string | null>>): Array<string | null> => rows.map(([id]) => id!);

function multiBatchStream(): Buffer {
  const names = new Dictionary(new Utf8(), new Int32());
  const batch = (from: number) =>
    new RecordBatch({
      id: vectorFromArray(Array.from({ length: 5 }, (_, index) => from + index), new Int32()).data[0]!,
      name: vectorFromArray(Array.from({ length: 5 }, (_, index) => `n${from + index}`), names).data[0]!,
    });
  return Buffer.from(tableToIPC(new Table([batch(1), batch(6), batch(11)]), 'stream'));
}

/** The length of the schema message at the start of a stream: prefix, length, metadata (no body). */
const schemaLength = (body: Buffer): number => 8 + body.readInt32LE(4);

describe('decodeArrowIpc: streams', () => {
  test('a multi-batch stream fed 7 bytes at a time yields every row in order, in batches of batchRows', async () => {
    const batches = await decode(chunked(multiBatchStream(), 7), textColumns('id', 'name'), { batchRows: 4 });
    assert.deepEqual(
      batches.map((batch) => batch.rows.length),
      [4, 4, 4, 3],
    );
    const rows = batches.flatMap((batch) => batch.rows);
    assert.deepEqual(ids(rows), Array.from({ length: 15 }, (_, index) => String(index + 1)));
    assert.deepEqual(
      rows.map(([, name]) => name),
      Array.from({ length: 15 }, (_, index) => `n${index + 1}`),
    );
    assert.deepEqual(
      batches.flatMap((batch) => batch.lineNumbers),
      Array.from({ length: 15 }, (_, index) => index + 1),
    );
  });

  test('small Arrow batches are joined up to batchRows', async () => {
    const batches = await decode(multiBatchStream(), textColumns('id'), { batchRows: 100 });
    assert.deepEqual(
      batches.map((batch) => batch.rows.length),
      [15],
    );
  });

  test('a stream with a schema and no batches yields no batches', async () => {
    const body = Buffer.from(tableToIPC(new Table(new Schema([new Field('id', new Int32(), true)])), 'stream'));
    assert.deepEqual(await decode(body, textColumns('id')), []);
  });

  test('a stream that ends without the optional end-of-stream marker yields all its rows', async () => {
    const body = multiBatchStream();
    assert.equal(body.readUInt32LE(body.length - 8), 0xffffffff);
    assert.equal((await decodeRows(body.subarray(0, body.length - 8), textColumns('id'))).length, 15);
  });

  test('an Arrow IPC file whose schema precedes its batches (as pyarrow writes it) is read like a stream, up to its footer', async () => {
    const footer = Buffer.concat([Buffer.alloc(40, 0xab), Buffer.from(Int32Array.of(40).buffer), Buffer.from('ARROW1')]);
    const file = Buffer.concat([Buffer.from('ARROW1\0\0'), multiBatchStream(), footer]);
    assert.equal((await decodeRows(chunked(file, 5), textColumns('id'))).length, 15);
  });

  test('an Arrow IPC file with its schema only in the footer (as apache-arrow for JavaScript writes it) asks for the stream format', async () => {
    const file = tableToIPC(new Table({ id: vectorFromArray([1, 2, 3], new Int32()) }), 'file');
    await assert.rejects(decode(file, textColumns('id')), isSluiceError('MALFORMED_BODY', /Arrow IPC file .* send the Arrow IPC stream format/));
  });

  test('a failure of the source stream passes through unchanged', async () => {
    const failure = new Error('socket hang up');
    const body = multiBatchStream();
    const stream = new Readable({
      read() {
        this.push(body.subarray(0, 100));
        this.destroy(failure);
      },
    });
    await assert.rejects(decode(stream, textColumns('id')), (error) => error === failure);
  });

  test('a consumer that stops early leaves the source stream to its owner', async () => {
    const stream = chunked(multiBatchStream(), 16);
    for await (const batch of decodeArrowIpc(stream, textColumns('id'), { caseInsensitive: false, batchRows: 2 })) {
      assert.equal(batch.rows.length, 2);
      break;
    }
    assert.equal(stream.destroyed, false);
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed bodies

describe('decodeArrowIpc: malformed bodies are MALFORMED_BODY', () => {
  test('a stream truncated inside a record batch', async () => {
    const body = multiBatchStream();
    await assert.rejects(decode(chunked(body.subarray(0, body.length - 20), 7), textColumns('id')), isSluiceError('MALFORMED_BODY', /truncated: it ends after \d+ bytes, inside message \d+/));
  });

  test('a stream truncated inside a message prefix, which apache-arrow alone would take for a clean end', async () => {
    const body = multiBatchStream();
    await assert.rejects(decode(body.subarray(0, schemaLength(body) + 2), textColumns('id')), isSluiceError('MALFORMED_BODY', /truncated.*inside message 2/));
  });

  test('a stream truncated inside its schema', async () => {
    await assert.rejects(decode(multiBatchStream().subarray(0, 30), textColumns('id')), isSluiceError('MALFORMED_BODY', /inside its schema message/));
  });

  test('a body that is not Arrow at all', async () => {
    await assert.rejects(decode(Buffer.from('id,name\n1,a\n2,b\n'), textColumns('id')), isSluiceError('MALFORMED_BODY', /not an Arrow IPC stream/));
  });

  test('a large non-Arrow body is rejected from its first bytes, not buffered to its end', async () => {
    let chunksRead = 0;
    const endless = Readable.from(
      (function* () {
        for (;;) {
          chunksRead += 1;
          yield Buffer.from('id,name,value\n'.repeat(1000));
        }
      })(),
    );
    await assert.rejects(decode(endless, textColumns('id')), isSluiceError('MALFORMED_BODY', /first bytes: 69 64 2c 6e/));
    assert.ok(chunksRead < 10, `read ${chunksRead} chunks`);
  });

  test('an empty body', async () => {
    await assert.rejects(decode(Buffer.alloc(0), textColumns('id')), isSluiceError('MALFORMED_BODY', /empty/));
  });

  test('a stream that does not start with its schema', async () => {
    const body = multiBatchStream();
    await assert.rejects(decode(body.subarray(schemaLength(body)), textColumns('id')), isSluiceError('MALFORMED_BODY', /must start with a schema message, not a (RecordBatch|DictionaryBatch)/));
  });

  test('an end-of-stream marker before any schema', async () => {
    await assert.rejects(decode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), textColumns('id')), isSluiceError('MALFORMED_BODY', /ends before its schema/));
  });

  test('bytes after the end-of-stream marker of a stream (a second stream sent after the first), whole or in small chunks, are MALFORMED_BODY', async () => {
    const first = streamOf({ id: vectorFromArray(['1', '2'], new Utf8()) });
    const twice = Buffer.concat([first, streamOf({ id: vectorFromArray(['3'], new Utf8()) })]);
    for (const body of [twice, chunked(twice, 7), Buffer.concat([first, Buffer.from('x')])]) {
      await assert.rejects(decode(body, textColumns('id')), isSluiceError('MALFORMED_BODY', new RegExp(`bytes follow its end-of-stream marker, which ends at byte ${first.length}`)));
    }
  });

  test('a message whose metadata is not a flatbuffer', async () => {
    const body = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 16, 0, 0, 0]), Buffer.alloc(16, 0xee)]);
    await assert.rejects(decode(body, textColumns('id')), isSluiceError('MALFORMED_BODY', /message 1 \(at byte 0\) has unreadable metadata/));
  });

  test('a stream compressed with a codec Sluice cannot decode is UNSUPPORTED_FORMAT', async () => {
    // apache-arrow compresses only with a registered encoder; this one writes ZSTD's magic before the raw bytes.
    const magic = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0, 0);
    compressionRegistry.set(CompressionType.ZSTD, { encode: (data) => Uint8Array.from([...magic, ...data]) });
    let body: Uint8Array;
    try {
      const writer = new RecordBatchStreamWriter({ compressionType: CompressionType.ZSTD });
      body = writer.writeAll(new Table({ id: vectorFromArray([1, 2, 3], new Int32()) })).toUint8Array(true);
    } finally {
      compressionRegistry.set(CompressionType.ZSTD, undefined as never);
    }
    await assert.rejects(decode(body, textColumns('id')), isSluiceError('UNSUPPORTED_FORMAT', /compressed with ZSTD/));
  });
});
