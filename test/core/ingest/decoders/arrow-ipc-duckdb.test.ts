import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  Binary,
  Bool,
  DateDay,
  Decimal,
  Field,
  Float16,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  Map_,
  Struct,
  Table,
  TimeMicrosecond,
  TimeUnit,
  Timestamp,
  TimestampNanosecond,
  Uint64,
  Utf8,
  makeData,
  makeVector,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import type { Vector } from 'apache-arrow';
import type { Column } from '../../../../src/core/catalog/model.ts';
import { coerceColumn } from '../../../../src/core/ingest/coercion.ts';
import { decodeArrowIpc } from '../../../../src/core/ingest/decoders/arrow-ipc.ts';
import type { DataType } from '../../../../src/core/types/data-type.ts';
import { quoteLiteral } from '../../../../src/storage/duckdb/sql.ts';

// The decoder's text is only right if the write path's coercion turns it back into the value the
// Arrow stream held; these cases run it through coerceColumn's SQL in a real DuckDB.

const vector64 = (type: Int64 | Uint64 | TimestampNanosecond | Timestamp | TimeMicrosecond, values: bigint[]): Vector =>
  makeVector(makeData({ type, length: values.length, data: BigInt64Array.from(values) } as never));

function decimals(precision: number, scale: number, values: bigint[]): Vector {
  const words = new Uint32Array(values.length * 4);
  values.forEach((value, index) => {
    let rest = BigInt.asUintN(128, value);
    for (let word = 0; word < 4; word += 1, rest >>= 32n) words[index * 4 + word] = Number(rest & 0xffffffffn);
  });
  return makeVector(makeData({ type: new Decimal(scale, precision, 128), length: values.length, data: words }));
}

const item = (type: ConstructorParameters<typeof Field>[1]): Field => new Field('item', type, true);
const int = (bits: 32 | 64, signed = true): DataType => ({ kind: 'int', bits, signed });
const decimal: DataType = { kind: 'decimal', precision: 38, scale: 2 };

/** [Arrow type, the column it loads into, the Arrow values, DuckDB's rendering of the stored values]. */
const CASES: Array<[name: string, type: DataType, vector: Vector, stored: string[]]> = [
  ['int64 extremes', int(64), vector64(new Int64(), [9223372036854775807n, -9223372036854775808n]), ['9223372036854775807', '-9223372036854775808']],
  ['uint64 maximum', int(64, false), makeVector(makeData({ type: new Uint64(), length: 1, data: BigUint64Array.of(18446744073709551615n) })), ['18446744073709551615']],
  ['decimal128(38, 2)', decimal, decimals(38, 2, [12345678901234567890123456789012345678n, -1n]), ['123456789012345678901234567890123456.78', '-0.01']],
  [
    'float64 specials',
    { kind: 'float', bits: 64 },
    vectorFromArray([Number.NaN, Number.NEGATIVE_INFINITY, -0, 0.1], new Float64()),
    ['nan', '-inf', '-0.0', '0.1'],
  ],
  ['float32', { kind: 'float', bits: 32 }, vectorFromArray([0.1, 3.4028234663852886e38], new Float32()), ['0.1', '3.4028235e+38']],
  ['float16', { kind: 'float', bits: 16 }, vectorFromArray([65504, 0.1], new Float16()), ['65504.0', '0.099975586']],
  ['bool', { kind: 'boolean' }, vectorFromArray([true, false], new Bool()), ['true', 'false']],
  ['utf8', { kind: 'string' }, vectorFromArray(['🎉 "é" \\ \n'], new Utf8()), ['🎉 "é" \\ \n']],
  ['date32 before year 1', { kind: 'date', unit: 'day' }, makeVector(makeData({ type: new DateDay(), length: 2, data: Int32Array.of(-719529, 2932896) })), ['0002-12-31 (BC)', '9999-12-31']],
  [
    'timestamp[ns]',
    { kind: 'timestamp', unit: 'ns' },
    vector64(new TimestampNanosecond(), [1704164645123456789n, -1n]),
    ['2024-01-02 03:04:05.123456789', '1969-12-31 23:59:59.999999999'],
  ],
  [
    'timestamp[us, tz=Asia/Tokyo]',
    { kind: 'timestamp', unit: 'us' },
    vector64(new Timestamp(TimeUnit.MICROSECOND, 'Asia/Tokyo'), [1704164645123456n]),
    ['2024-01-02 03:04:05.123456'],
  ],
  ['time64[us]', { kind: 'time' }, vector64(new TimeMicrosecond(), [86399999999n]), ['23:59:59.999999']],
  [
    'list<decimal128(38, 2)>',
    { kind: 'list', element: decimal, elementNullable: true },
    makeVector(makeData({ type: new List(item(new Decimal(2, 38, 128))), length: 1, valueOffsets: Int32Array.of(0, 2), child: decimals(38, 2, [12345n, 12345678901234567890123456789012345678n]).data[0]! })),
    ['[123.45, 123456789012345678901234567890123456.78]'],
  ],
  [
    'list<float64> with NaN',
    { kind: 'list', element: { kind: 'float', bits: 64 }, elementNullable: true },
    vectorFromArray([[1.5, Number.NaN, null]], new List(item(new Float64()))),
    ['[1.5, nan, NULL]'],
  ],
  [
    'struct<a: int32, b: utf8>',
    { kind: 'struct', fields: [{ name: 'a', type: int(32), nullable: true }, { name: 'b', type: { kind: 'string' }, nullable: true }] },
    vectorFromArray([{ a: 1, b: 'x' }], new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true)])),
    ["{'a': 1, 'b': x}"],
  ],
  [
    'map<utf8, int32>',
    { kind: 'map', key: { kind: 'string' }, value: int(32), valueNullable: true },
    vectorFromArray([new Map([['k', 1], ['j', null]])], new Map_(new Field('entries', new Struct<{ key: Utf8; value: Int32 }>([new Field('key', new Utf8(), false), new Field('value', new Int32(), true)]), false))),
    ['{k=1, j=NULL}'],
  ],
];

async function decodeTexts(vector: Vector): Promise<Array<string | null>> {
  const column: Column = { name: 'value', type: { kind: 'string' }, nullable: true };
  const texts: Array<string | null> = [];
  const body = Readable.from([Buffer.from(tableToIPC(new Table({ value: vector }), 'stream'))]);
  for await (const batch of decodeArrowIpc(body, [column], { caseInsensitive: false })) texts.push(...batch.rows.map(([text]) => text!));
  return texts;
}

describe('decodeArrowIpc text through the write path coercion in DuckDB', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  after(() => {
    connection.closeSync();
    instance.closeSync();
  });

  for (const [name, type, vector, stored] of CASES) {
    test(`${name} is stored as the value Arrow held`, async () => {
      const column: Column = { name: 'value', type, nullable: true };
      const { value, error } = coerceColumn(column, 't', () => 'the column type');
      const texts = await decodeTexts(vector);
      const values = texts.map((text) => `(${text === null ? 'NULL' : quoteLiteral(text)})`).join(', ');
      const reader = await connection.runAndReadAll(`SELECT CAST(${value} AS VARCHAR) AS stored, ${error} AS error FROM (VALUES ${values}) AS input(t)`);
      const rows = reader.getRowObjects();
      assert.deepEqual(
        rows.map((row) => row['error']),
        stored.map(() => null),
      );
      assert.deepEqual(
        rows.map((row) => row['stored']),
        stored,
      );
    });
  }

  test("binary text is DuckDB's BLOB text: CAST(text AS BLOB) gives every byte back", async () => {
    const all = Uint8Array.from({ length: 256 }, (_, byte) => byte);
    const [text] = await decodeTexts(vectorFromArray([all], new Binary()));
    const reader = await connection.runAndReadAll(`SELECT hex(CAST(${quoteLiteral(text!)} AS BLOB)) AS bytes`);
    assert.equal(reader.getRowObjects()[0]!['bytes'], Buffer.from(all).toString('hex').toUpperCase());
  });
});
