import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  Bool, DateDay, Float32, Float64, Int16, Int32, Int64, Int8, makeData, makeVector, Table, tableFromIPC, tableToIPC,
  TimestampMicrosecond, TimestampMillisecond, TimestampNanosecond, TimestampSecond, Uint16, Uint32, Uint64, Uint8, Utf8,
  vectorFromArray, type DataType as ArrowDataType, type Vector,
} from 'apache-arrow';
import { JsonNumber, parseJsonLosslessly, stringifyJsonLosslessly, type JsonValue } from '../../src/core/query/lossless-json.ts';
import { CatalyzedClient } from '../helpers/catalyzed-client.ts';
import { TestServer } from '../helpers/test-server.ts';
import { TinybirdClient } from '../helpers/tinybird-client.ts';
import { FelderaClient } from '../dialects/feldera/feldera-fixture.ts';

// Edge values of every column type, written through every ingest format of each dialect and read
// back through every output format of its query endpoint: the value read must be the value written,
// in the form the dialect gives it; a value outside the type must be refused (quarantined, reported
// or rejected) with its column, its text and the reason, never wrapped or clamped.

// ---------------------------------------------------------------------------------------------
// What a value must read back as, in any output format.

/** A nested value as each output family shows it (the JSON as the dialect prints it, compact). */
interface NestedWant {
  json: string;
  /** ClickHouse's text syntax (Tinybird CSV and TSV). */
  text?: string;
  /** DuckDB's VARCHAR cast of the value read from a Parquet result. */
  duck?: string;
  /** The Arrow value made plain (bigints as digit strings, bytes as arrays), as JSON. */
  arrow?: string;
}

type Want =
  | { int: string }
  | { dec: string }
  | { float: number; bits?: 32 }
  | { text: string }
  | { bytes: number[] }
  | { bool: boolean }
  | { nul: true }
  | { nested: NestedWant };

/** A value to write, and what it must read back as. */
interface Edge {
  /** The value as text: a CSV field, a JSON string, a Parquet or Arrow text column's value. */
  text: string;
  /** The value as a bare JSON literal too (a number, a boolean, an array or object). */
  json?: string;
  /** Only the bare JSON literal stands for the value in JSON (nested values, byte arrays): no JSON string form. */
  jsonOnly?: boolean;
  /** The JSON string's content, when it is not `text` (base64 for bytes). */
  jsonString?: string;
  /** SQL for the value in a typed Parquet column (the case's `parquetType`). */
  sql?: string;
  /** The value for a typed Arrow column (the case's `arrowType`). */
  arrow?: unknown;
  /** Ingest routes this value is not sent through (each such gap has a test of its own below). */
  skip?: string[];
  want: Want;
}

/** A value that must be refused; `json` is its bare JSON literal, sent too. */
interface Bad {
  text: string;
  json?: string;
  jsonOnly?: boolean;
  /** Why the value is refused, after it in the message, where it is not that it is no valid value of the type. */
  reason?: string;
  /** Routes this value is not sent by (see Edge). */
  skip?: string[];
}

interface Case {
  /** The test's name: what the values are and what must happen to them. */
  name: string;
  /** The column type in the dialect's own names. */
  type: string;
  /** The type name errors give for the column (defaults to `type`). */
  errorType?: string;
  /** DuckDB type of the typed Parquet column the values are also written in; without one, a text column. */
  parquetType?: string;
  /** Arrow type of the typed Arrow column (Catalyzed). */
  arrowType?: () => ArrowDataType;
  edges: Edge[];
  bad: Bad[];
}

const int = (digits: string | bigint): Want => ({ int: String(digits) });
const dec = (digits: string): Want => ({ dec: digits });
const float = (value: number, bits?: 32): Want => (bits === undefined ? { float: value } : { float: value, bits });
const text = (value: string): Want => ({ text: value });
const NUL: Want = { nul: true };
/** Values outside a type's range, quarantined saying so. */
const outside = (typeAndRange: string, ...texts: string[]): Bad[] => texts.map((value) => ({ text: value, reason: `is outside the range of ${typeAndRange}` }));

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const isSafe = (digits: string): boolean => BigInt(digits) <= SAFE && BigInt(digits) >= -SAFE;

/** An integer edge, written as text and as a bare JSON number. */
const intEdge = (value: bigint, sqlType?: string): Edge => ({
  text: String(value), json: String(value), want: int(value),
  ...(sqlType && { sql: `CAST('${value}' AS ${sqlType})` }),
});

/** Min, max, and (for 64 bits and up) ±(2^53 + 1), valid; one past either end refused. */
function integerEdges(bits: number, signed: boolean, sqlType: string, arrowValue?: (value: bigint) => unknown): { edges: Edge[]; bad: Bad[] } {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const values = [min, max, ...(bits >= 64 ? [(1n << 53n) + 1n, ...(signed ? [-((1n << 53n) + 1n)] : [])] : [])];
  return {
    edges: values.map((value) => ({ ...intEdge(value, sqlType), ...(arrowValue && { arrow: arrowValue(value) }) })),
    bad: [min - 1n, max + 1n].map((value) => ({ text: String(value), json: String(value) })),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading results.

/** A value as one output format gave it. */
type Seen =
  | { kind: 'json'; value: JsonValue }
  | { kind: 'text'; value: string | null; quoted: boolean; table?: boolean }
  | { kind: 'duck'; text: string | null; number: number | null }
  | { kind: 'arrow'; value: unknown; type: string };

/** How a dialect's JSON writes wide integers and decimals that a double does not hold. */
interface JsonStyle {
  /** `string`: as strings (Tinybird, Catalyzed); `number`: as numbers with every digit (Feldera). */
  wide: 'string' | 'number';
  /** Bytes as arrays of byte values (Feldera) or standard base64 (Catalyzed). */
  binary?: 'bytes' | 'base64';
  /** NaN and ±infinity as the strings nan, inf, -inf (the default), or as null (Tinybird, as ClickHouse's JSON writes them). */
  nonFinite?: 'text' | 'null';
}

/** Fields of CSV records, with whether each was quoted. */
function parseCsv(body: string): Array<Array<{ value: string; quoted: boolean }>> {
  const records: Array<Array<{ value: string; quoted: boolean }>> = [];
  let record: Array<{ value: string; quoted: boolean }> = [];
  let index = 0;
  while (index < body.length) {
    let value = '';
    let quoted = false;
    if (body[index] === '"') {
      quoted = true;
      index += 1;
      for (;;) {
        const close = body.indexOf('"', index);
        assert.ok(close >= 0, `unterminated quote in ${JSON.stringify(body)}`);
        value += body.slice(index, close);
        index = close + 1;
        if (body[index] === '"') {
          value += '"';
          index += 1;
        } else break;
      }
    } else {
      while (index < body.length && body[index] !== ',' && body[index] !== '\n') value += body[index++];
    }
    record.push({ value, quoted });
    if (body[index] === ',') index += 1;
    else {
      records.push(record);
      record = [];
      index += 1;
    }
  }
  return records;
}

const TSV_ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', '\\': '\\', 0: '\0', b: '\b', f: '\f', "'": "'" };

function unescapeTsv(field: string): string | null {
  if (field === '\\N') return null;
  return field.replace(/\\(.)/g, (_, char: string) => TSV_ESCAPES[char] ?? `\\${char}`);
}

/** Canonical decimal text: no trailing fractional zeros, no lone point, `-0` as `0`. */
function canonicalDecimal(value: string): string {
  let result = value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
  if (/^-0(\.0*)?$/.test(result)) result = '0';
  return result;
}

/** A timestamp text in any dialect's form (`T`, `Z`, trailing zeros) as `YYYY-MM-DD HH:MM:SS[.f]` without trailing zeros. */
function canonicalTime(value: string): string {
  const match = /^(?:(\d{4}-\d{2}-\d{2})[T ])?(\d{2}:\d{2}:\d{2})(\.\d+)?Z?$/.exec(value);
  if (!match) return value;
  const fraction = (match[3] ?? '').replace(/0+$/, '').replace(/^\.$/, '');
  return `${match[1] === undefined ? '' : `${match[1]} `}${match[2]}${fraction}`;
}

/** Bytes as DuckDB prints a BLOB: printable ASCII as is, other bytes as `\xNN`. */
function blobText(bytes: number[]): string {
  return bytes.map((byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** A float's text in any output (`nan`, `inf`, `-inf` included) as a number. */
function floatOf(textValue: string): number {
  const lower = textValue.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === 'inf' || lower === 'infinity' || lower === '+inf') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  assert.match(textValue, /^-?(\d+(\.\d+)?([eE][+-]?\d+)?)$/, `not a float: ${textValue}`);
  return Number(textValue);
}

function sameFloat(actual: number, want: { float: number; bits?: 32 }, label: string): void {
  const expected = want.bits === 32 ? Math.fround(want.float) : want.float;
  const got = want.bits === 32 ? Math.fround(actual) : actual;
  assert.ok(Object.is(got, expected), `${label}: read ${Object.is(actual, -0) ? '-0' : actual}, wrote ${Object.is(want.float, -0) ? '-0' : want.float}`);
}

/** Days since the epoch as `YYYY-MM-DD` (years 1–9999). */
function civilDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** An instant in `unit`s since the epoch as `YYYY-MM-DD HH:MM:SS[.f]`, exact to the nanosecond. */
function civilTime(value: bigint, unit: 's' | 'ms' | 'us' | 'ns'): string {
  const perSecond = { s: 1n, ms: 1_000n, us: 1_000_000n, ns: 1_000_000_000n }[unit];
  let seconds = value / perSecond;
  let rest = value % perSecond;
  if (rest < 0n) {
    seconds -= 1n;
    rest += perSecond;
  }
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const digits = String(perSecond).length - 1;
  return canonicalTime(digits === 0 ? whole : `${whole}.${String(rest).padStart(digits, '0')}`);
}

/** A Decimal128 Arrow value (four little-endian 32-bit words, two's complement) as canonical text. */
function arrowDecimal(words: Uint32Array, scale: number): string {
  let unscaled = 0n;
  for (let index = 3; index >= 0; index -= 1) unscaled = (unscaled << 32n) | BigInt(words[index]!);
  if (unscaled >= 1n << 127n) unscaled -= 1n << 128n;
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  return canonicalDecimal(`${negative ? '-' : ''}${whole}${scale > 0 ? `.${digits.slice(digits.length - scale)}` : ''}`);
}

/** An Arrow value as plain JSON-able data: bigints as digit strings, bytes as arrays, lists and structs unwrapped. */
function plainArrow(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return [...value];
  if (typeof value === 'object' && 'toArray' in (value as object) && typeof (value as Vector).get === 'function' && 'length' in (value as object)) {
    const vector = value as Vector;
    return Array.from({ length: vector.length }, (_, index) => plainArrow(vector.get(index)));
  }
  if (typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return Object.fromEntries(Object.entries((value as { toJSON(): Record<string, unknown> }).toJSON()).map(([key, item]) => [key, plainArrow(item)]));
  }
  return value;
}

/** The Arrow value of a column at a row, with what a check needs: raw words for decimals, raw integers for times. */
function arrowCell(table: Table, name: string, row: number): { value: unknown; type: string } {
  const vector = table.getChild(name)!;
  const type = String(vector.type);
  if (!vector.isValid(row)) return { value: null, type };
  if (type.startsWith('Decimal')) {
    const data = vector.data[0]!;
    const words = (data.values as Uint32Array).slice((data.offset + row) * 4, (data.offset + row) * 4 + 4);
    return { value: arrowDecimal(words, (vector.type as unknown as { scale: number }).scale), type };
  }
  if (type.startsWith('Timestamp')) {
    const unit = /NANOSECOND/.test(type) ? 'ns' : /MICROSECOND/.test(type) ? 'us' : /MILLISECOND/.test(type) ? 'ms' : 's';
    const data = vector.data[0]!;
    return { value: civilTime((data.values as BigInt64Array)[data.offset + row]!, unit), type };
  }
  if (type.startsWith('Time')) {
    const unit = /NANOSECOND/.test(type) ? 1_000_000_000n : /MICROSECOND/.test(type) ? 1_000_000n : /MILLISECOND/.test(type) ? 1_000n : 1n;
    const data = vector.data[0]!;
    const raw = BigInt((data.values as BigInt64Array | Int32Array)[data.offset + row]!);
    const seconds = Number(raw / unit);
    const clock = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60].map((part) => String(part).padStart(2, '0')).join(':');
    return { value: canonicalTime(unit === 1n ? clock : `${clock}.${String(raw % unit).padStart(String(unit).length - 1, '0')}`), type };
  }
  if (type.startsWith('Date32') || type === 'Date32<DAY>') {
    const data = vector.data[0]!;
    return { value: civilDate((data.values as Int32Array)[data.offset + row]!), type };
  }
  if (type.startsWith('Date64')) return { value: civilDate(Math.floor(Number(vector.get(row)) / 86_400_000)), type };
  return { value: vector.get(row), type };
}

/** Asserts that one output's value is the wanted one, in the form the dialect gives it. */
function checkSeen(seen: Seen | undefined, want: Want, style: JsonStyle, label: string): void {
  assert.ok(seen, `${label}: the row is missing`);
  if (seen.kind === 'json') return checkJson(seen.value, want, style, label);
  if (seen.kind === 'text') return checkText(seen, want, label);
  if (seen.kind === 'duck') return checkDuck(seen, want, label);
  return checkArrow(seen, want, label);
}

function checkJson(value: JsonValue, want: Want, style: JsonStyle, label: string): void {
  const shown = value instanceof JsonNumber ? `number ${value.text}` : JSON.stringify(value);
  if ('nul' in want) return assert.equal(value, null, `${label}: ${shown}`);
  if ('bool' in want) return assert.equal(value, want.bool, `${label}: ${shown}`);
  if ('text' in want) return assert.equal(value, want.text, `${label}: ${shown}`);
  if ('bytes' in want && style.binary === 'base64') return assert.equal(value, Buffer.from(want.bytes).toString('base64'), `${label}: ${shown}`);
  if ('bytes' in want) {
    assert.ok(Array.isArray(value), `${label}: ${shown}`);
    return assert.deepEqual(value.map((item) => (item instanceof JsonNumber ? Number(item.text) : item)), want.bytes, label);
  }
  if ('nested' in want) return assert.equal(stringifyJsonLosslessly(value), want.nested.json, label);
  if ('float' in want) {
    if (Number.isFinite(want.float)) {
      assert.ok(value instanceof JsonNumber, `${label}: a finite float must be a JSON number, got ${shown}`);
      return sameFloat(Number(value.text), want, label);
    }
    if (style.nonFinite === 'null') return assert.equal(value, null, `${label}: NaN and infinities are null in JSON, got ${shown}`);
    assert.equal(typeof value, 'string', `${label}: NaN and infinities are strings in JSON, got ${shown}`);
    return sameFloat(floatOf(value as string), want, label);
  }
  const digits = 'int' in want ? want.int : want.dec;
  const exactAsNumber = 'int' in want ? isSafe(digits) : canonicalDecimal(String(Number(digits))) === digits || expandedNumber(digits);
  if (style.wide === 'number' || exactAsNumber) {
    assert.ok(value instanceof JsonNumber, `${label}: ${digits} must be a JSON number, got ${shown}`);
    return assert.equal('int' in want ? value.text : canonicalDecimal(expandExponent(value.text)), digits, `${label}: every digit kept`);
  }
  assert.equal(value, digits, `${label}: ${digits} must be a string with every digit, got ${shown}`);
}

/** Whether a decimal's text is what a double prints for it once its exponent is expanded (`1e-10` for `0.0000000001`). */
function expandedNumber(digits: string): boolean {
  return canonicalDecimal(expandExponent(String(Number(digits)))) === digits;
}

function expandExponent(value: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(value);
  if (!match) return value;
  const [, sign, whole, fraction = '', exponent] = match;
  const digits = `${whole}${fraction}`;
  const point = whole!.length + Number(exponent);
  const expanded = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${sign}${expanded.replace(/^0+(?=\d)/, '')}`;
}

function checkText(seen: { value: string | null; quoted: boolean; table?: boolean }, want: Want, label: string): void {
  const shown = `${seen.quoted ? 'quoted ' : ''}${JSON.stringify(seen.value)}`;
  // A text table shows NULL as an empty cell, and every value on one line.
  if (seen.table) {
    if ('nul' in want) return assert.equal(seen.value, '', `${label}: ${shown}`);
    if ('text' in want) return assert.equal(seen.value, want.text.replace(/\n/g, '\\n').replace(/\t/g, '\\t'), `${label}: ${shown}`);
    if ('bytes' in want) return assert.equal(seen.value, blobText(want.bytes), `${label}: ${shown}`);
  }
  if ('nul' in want) return assert.equal(seen.value, null, `${label}: ${shown}`);
  assert.notEqual(seen.value, null, `${label}: read NULL`);
  const value = seen.value!;
  if ('bool' in want) return assert.equal(value, String(want.bool), `${label}: ${shown}`);
  if ('text' in want) return assert.equal(value, want.text, `${label}: ${shown}`);
  if ('nested' in want) return assert.equal(value, want.nested.text ?? want.nested.json, `${label}: ${shown}`);
  if ('bytes' in want) return assert.equal(value, JSON.stringify(want.bytes), `${label}: ${shown}`);
  if ('float' in want) return sameFloat(floatOf(value), want, `${label}: ${shown}`);
  if ('int' in want) return assert.equal(value, want.int, `${label}: ${shown}`);
  return assert.equal(value, want.dec, `${label}: ${shown}`);
}

function checkDuck(seen: { text: string | null; number: number | null }, want: Want, label: string): void {
  if ('nul' in want) return assert.equal(seen.text, null, `${label}: ${seen.text}`);
  assert.notEqual(seen.text, null, `${label}: read NULL`);
  const value = seen.text!;
  if ('float' in want) return sameFloat(seen.number!, want, label);
  if ('int' in want) return assert.equal(value, want.int, label);
  if ('dec' in want) return assert.equal(canonicalDecimal(value), want.dec, label);
  if ('bool' in want) return assert.equal(value, String(want.bool), label);
  if ('text' in want) return assert.equal(canonicalTime(value), canonicalTime(want.text), label);
  if ('bytes' in want) return assert.equal(value, blobText(want.bytes), label);
  return assert.equal(value, want.nested.duck, label);
}

function checkArrow(seen: { value: unknown; type: string }, want: Want, label: string): void {
  const { value } = seen;
  const shown = `${seen.type} ${typeof value === 'bigint' ? `${value}n` : JSON.stringify(plainArrow(value))}`;
  if ('nul' in want) return assert.equal(value, null, `${label}: ${shown}`);
  if ('bool' in want) return assert.equal(value, want.bool, `${label}: ${shown}`);
  if ('float' in want) return sameFloat(value as number, want, `${label}: ${shown}`);
  if ('int' in want) return assert.equal(String(value), want.int, `${label}: ${shown}`);
  if ('dec' in want) return assert.equal(value, want.dec, `${label}: ${shown}`);
  if ('text' in want) return assert.equal(canonicalTime(String(value)), canonicalTime(want.text), `${label}: ${shown}`);
  if ('bytes' in want) return assert.deepEqual(plainArrow(value), want.bytes, `${label}: ${shown}`);
  return assert.equal(JSON.stringify(plainArrow(value)), want.nested.arrow ?? want.nested.json, `${label}: ${shown}`);
}

// ---------------------------------------------------------------------------------------------
// A DuckDB of the test's own, apart from the server's: it writes the Parquet inputs and reads the Parquet results.

class Scratch {
  private count = 0;
  private constructor(
    readonly dir: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(): Promise<Scratch> {
    const dir = await mkdtemp(join(tmpdir(), 'value-edges-'));
    const instance = await DuckDBInstance.create(':memory:');
    return new Scratch(dir, instance, await instance.connect());
  }

  /** A Parquet file of rows `(id, v)`, each `v` SQL of the value (typed as `type`). */
  async parquet(rows: Array<[number, string]>, type: string): Promise<Buffer> {
    const path = join(this.dir, `in-${(this.count += 1)}.parquet`);
    const values = rows.map(([id, sql]) => `(${id}, CAST(${sql} AS ${type}))`).join(', ');
    await this.connection.run(`COPY (SELECT * FROM (VALUES ${values}) t(id, v)) TO '${path}' (FORMAT parquet)`);
    return readFile(path);
  }

  /** The rows of a Parquet result: each `v` as DuckDB's text, and as a double where it is a number. */
  async readParquet(bytes: ArrayBuffer, float: boolean): Promise<Map<number, Seen>> {
    const path = join(this.dir, `out-${(this.count += 1)}.parquet`);
    await writeFile(path, Buffer.from(bytes));
    const reader = await this.connection.runAndReadAll(`SELECT CAST(id AS INTEGER) AS id, CAST(v AS VARCHAR) AS text, ${float ? 'CAST(v AS DOUBLE)' : 'NULL::DOUBLE'} AS number FROM read_parquet('${path}')`);
    return new Map(reader.getRowObjectsJS().map((row) => [Number(row['id']), { kind: 'duck', text: row['text'] as string | null, number: row['number'] as number | null }]));
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** SQL for a text value (a NUL byte, which DuckDB's parser refuses in a literal, as chr(0)). */
const sqlText = (value: string): string => `'${value.replaceAll("'", "''").replaceAll('\u0000', "' || chr(0) || '")}'`;

/** A CSV field: quoted when it must be (and always for the empty string, which unquoted is a missing value). */
function csvField(value: string | null): string {
  if (value === null) return '';
  return value === '' || /[",\n\r]/.test(value) || value.trim() !== value ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The ids each ingest route writes its values at: route base + index. */
const ROUTE_IDS: Record<string, number> = {
  'JSON string': 1000, 'JSON literal': 2000, events: 3000, CSV: 4000, Parquet: 5000, Arrow: 6000,
};

function jsonOf(edge: Edge | Bad, form: 'string' | 'literal'): string | undefined {
  if (form === 'literal') return edge.json;
  return edge.jsonOnly ? undefined : JSON.stringify('jsonString' in edge && edge.jsonString !== undefined ? edge.jsonString : edge.text);
}

/** The ids and edges a route writes: those not skipped (and, for JSON, those with that form). */
function routeRows<T extends Edge | Bad>(route: string, values: T[], offset = 0): Array<{ id: number; value: T }> {
  return values.flatMap((value, index) => {
    if ('skip' in value && value.skip?.includes(route)) return [];
    if (route === 'JSON literal' && value.json === undefined) return [];
    if (route === 'JSON string' && value.jsonOnly) return [];
    return [{ id: ROUTE_IDS[route]! + offset + index, value }];
  });
}

// =============================================================================================
// Tinybird

const TB_INTEGERS: Case[] = ([8, 16, 32, 64, 128, 256] as const).flatMap((bits) => ([true, false] as const).flatMap((signed) => {
  const type = `${signed ? '' : 'U'}Int${bits}`;
  const stored = Math.min(bits, 128);
  const duck = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT', 128: 'HUGEINT' }[stored]!;
  const { edges, bad } = integerEdges(stored, signed, signed ? duck : `U${duck}`);
  // DuckDB writes a 128-bit integer to Parquet as a double, so those values go in a text column.
  const parquetType = stored === 128 ? undefined : signed ? duck : `U${duck}`;
  if (bits === 256) {
    // Int256/UInt256 are stored in 128 bits: the 128-bit extremes are kept, one past them refused (the true 256-bit extremes have a test of their own).
    return [{
      name: `${type} keeps the 128-bit extremes it stores exactly, and quarantines one past them with the column, the value and the type`,
      type, edges, bad,
    }];
  }
  return [{
    name: `${type} keeps its min and max${bits >= 64 ? ' and ±(2^53 + 1)' : ''} exactly, and quarantines one past either end with the column, the value and the type`,
    type, ...(parquetType && { parquetType }), edges, bad,
  }];
}));

const TB_CASES: Case[] = [
  ...TB_INTEGERS,
  {
    name: 'Float64 keeps -0.0, NaN, ±Infinity, the smallest subnormal, 1e308 and the largest double; 1e309 (past the largest) is quarantined, not infinity',
    type: 'Float64', parquetType: 'DOUBLE',
    edges: [
      { text: '-0.0', json: '-0.0', sql: "'-0.0'", want: float(-0) },
      { text: 'nan', sql: "'nan'", want: float(NaN) },
      { text: 'inf', sql: "'inf'", want: float(Infinity) },
      { text: '-inf', sql: "'-inf'", want: float(-Infinity) },
      { text: '5e-324', json: '5e-324', sql: "'5e-324'", want: float(5e-324) },
      { text: '1e308', json: '1e308', sql: "'1e308'", want: float(1e308) },
      { text: '1.7976931348623157e308', json: '1.7976931348623157e308', sql: "'1.7976931348623157e308'", want: float(Number.MAX_VALUE) },
      { text: '-1.7976931348623157e308', json: '-1.7976931348623157e308', sql: "'-1.7976931348623157e308'", want: float(-Number.MAX_VALUE) },
    ],
    bad: [{ text: '1e309', json: '1e309' }, { text: '-1e309', json: '-1e309' }, { text: 'abc' }],
  },
  {
    name: 'Float32 keeps -0.0, NaN, ±Infinity, its largest and smallest values and 0.1 as written; 3.5e38 (past its largest) is quarantined',
    type: 'Float32', parquetType: 'FLOAT',
    edges: [
      { text: '-0.0', json: '-0.0', sql: "'-0.0'", want: float(-0, 32) },
      { text: 'nan', sql: "'nan'", want: float(NaN, 32) },
      { text: '-inf', sql: "'-inf'", want: float(-Infinity, 32) },
      { text: '3.4028235e38', json: '3.4028235e38', sql: "'3.4028235e38'", want: float(3.4028235e38, 32) },
      { text: '1e-45', json: '1e-45', sql: "'1e-45'", want: float(1e-45, 32) },
      { text: '0.1', json: '0.1', sql: "'0.1'", want: float(0.1, 32) },
    ],
    bad: [{ text: '3.5e38', json: '3.5e38' }, { text: '-1e39', json: '-1e39' }],
  },
  {
    name: 'Decimal(9, 2) keeps ±9999999.99 and cuts fraction digits past the scale, as ClickHouse reads them (1.239 → 1.23, -1.235 → -1.23, 9999999.995 → 9999999.99), in every format; 10000000 is quarantined',
    type: 'Decimal(9, 2)', parquetType: 'DECIMAL(9,2)',
    edges: [
      { text: '9999999.99', json: '9999999.99', sql: "'9999999.99'", want: dec('9999999.99') },
      { text: '-9999999.99', json: '-9999999.99', sql: "'-9999999.99'", want: dec('-9999999.99') },
      { text: '0.01', json: '0.01', sql: "'0.01'", want: dec('0.01') },
      // Written as text in a Parquet text column too: a typed DECIMAL(9,2) cannot hold the extra digit.
      { text: '1.239', json: '1.239', want: dec('1.23') },
      { text: '-1.235', json: '-1.235', want: dec('-1.23') },
      { text: '1.2349', json: '1.2349', want: dec('1.23') },
      { text: '0.009', json: '0.009', want: dec('0') },
      { text: '9999999.995', json: '9999999.995', want: dec('9999999.99') },
    ],
    bad: [{ text: '10000000', json: '10000000' }, { text: 'abc' }],
  },
  {
    name: 'Decimal(18, 6) keeps ±999999999999.999999 (18 digits) exactly, as strings in JSON where a double would round it',
    type: 'Decimal(18, 6)', parquetType: 'DECIMAL(18,6)',
    edges: [
      { text: '999999999999.999999', sql: "'999999999999.999999'", want: dec('999999999999.999999') },
      { text: '-999999999999.999999', sql: "'-999999999999.999999'", want: dec('-999999999999.999999') },
      { text: '0.000001', json: '0.000001', sql: "'0.000001'", want: dec('0.000001') },
    ],
    bad: [{ text: '1000000000000', json: '1000000000000' }],
  },
  {
    name: 'Decimal(38, 10) keeps ±(10^28 - 10^-10) (38 digits) and 10^-10 exactly; 10^28 is quarantined',
    type: 'Decimal(38, 10)', parquetType: 'DECIMAL(38,10)',
    edges: [
      { text: '9999999999999999999999999999.9999999999', sql: "'9999999999999999999999999999.9999999999'", want: dec('9999999999999999999999999999.9999999999') },
      { text: '-9999999999999999999999999999.9999999999', sql: "'-9999999999999999999999999999.9999999999'", want: dec('-9999999999999999999999999999.9999999999') },
      { text: '0.0000000001', json: '0.0000000001', sql: "'0.0000000001'", want: dec('0.0000000001') },
    ],
    bad: [{ text: '10000000000000000000000000000', json: '10000000000000000000000000000' }],
  },
  {
    name: 'Date keeps its range, 1970-01-01 to 2149-06-06, and 2000-02-29; a day outside it, 2023-02-29, 2024-02-30, a bare number and a short year (15-02-24, not the year 15) are quarantined',
    type: 'Date', parquetType: 'DATE',
    edges: ['1970-01-01', '2000-02-29', '2149-06-06'].map((day) => ({ text: day, sql: sqlText(day), want: text(day) })),
    bad: [...outside('Date (1970-01-01 to 2149-06-06)', '1969-12-31', '2149-06-07', '0001-01-01'), { text: '2023-02-29' }, { text: '2024-02-30' }, { text: '20240501', json: '20240501' }, { text: '15-02-24' }, { text: '03/02/24' }],
  },
  {
    name: 'Date32 keeps its range, 1900-01-01 to 2299-12-31, and 1969-12-31; a day outside it, 2023-02-29, a bare number and a short year are quarantined',
    type: 'Date32', parquetType: 'DATE',
    edges: ['1900-01-01', '1969-12-31', '2000-02-29', '2299-12-31'].map((day) => ({ text: day, sql: sqlText(day), want: text(day) })),
    bad: [...outside('Date32 (1900-01-01 to 2299-12-31)', '1899-12-31', '2300-01-01', '9999-12-31'), { text: '2023-02-29' }, { text: '20240501', json: '20240501' }, { text: '15-02-24' }],
  },
  {
    name: 'DateTime keeps the epoch and its last second (2106-02-07 06:28:15); applies offsets, reads epoch seconds and drops a fraction; the second before the epoch or after the last, 2023-02-29, a +24:00 offset and a short year (03-02-24) are quarantined',
    type: 'DateTime', parquetType: 'TIMESTAMP',
    edges: [
      { text: '1970-01-01 00:00:00', sql: sqlText('1970-01-01 00:00:00'), want: text('1970-01-01 00:00:00') },
      { text: '2106-02-07 06:28:15', sql: sqlText('2106-02-07 06:28:15'), want: text('2106-02-07 06:28:15') },
      { text: '2000-02-29T23:59:59Z', sql: sqlText('2000-02-29 23:59:59'), want: text('2000-02-29 23:59:59') },
      { text: '2024-05-01T10:00:00+02:00', sql: sqlText('2024-05-01 08:00:00'), want: text('2024-05-01 08:00:00') },
      { text: '2024-05-01T00:30:00-05:30', sql: sqlText('2024-05-01 06:00:00'), want: text('2024-05-01 06:00:00') },
      { text: '1714557600', json: '1714557600', sql: sqlText('2024-05-01 10:00:00'), want: text('2024-05-01 10:00:00') },
      { text: '1714557600123', json: '1714557600123', sql: sqlText('2024-05-01 10:00:00'), want: text('2024-05-01 10:00:00') },
      { text: '2024-05-01 10:00:00.999', sql: sqlText('2024-05-01 10:00:00.999'), want: text('2024-05-01 10:00:00') },
    ],
    bad: [
      ...outside('DateTime (1970-01-01 00:00:00 to 2106-02-07 06:28:15)', '1969-12-31 23:59:59', '2106-02-07 06:28:16'),
      { text: '-1', json: '-1', reason: 'is outside the range of DateTime (1970-01-01 00:00:00 to 2106-02-07 06:28:15)' },
      { text: '2023-02-29 00:00:00' }, { text: '2024-05-01T10:00:00+24:00' }, { text: '2024-05-01 24:00:01' }, { text: '03-02-24 10:00:05' }],
  },
  {
    name: 'DateTime64(3) keeps milliseconds, written with all three digits; drops a fourth digit; applies offsets; keeps its range, 1900-01-01 to 2299-12-31 23:59:59.999, and quarantines a time outside it',
    type: 'DateTime64(3)', parquetType: 'TIMESTAMP_MS',
    edges: [
      { text: '2024-05-01 10:00:00.123', sql: sqlText('2024-05-01 10:00:00.123'), want: text('2024-05-01 10:00:00.123') },
      { text: '2024-05-01 10:00:00.5', sql: sqlText('2024-05-01 10:00:00.5'), want: text('2024-05-01 10:00:00.500') },
      { text: '2024-05-01 10:00:00.1239', want: text('2024-05-01 10:00:00.123') },
      { text: '2024-05-01T10:00:00.123-05:30', sql: sqlText('2024-05-01 15:30:00.123'), want: text('2024-05-01 15:30:00.123') },
      { text: '1969-12-31 23:59:59.999', sql: sqlText('1969-12-31 23:59:59.999'), want: text('1969-12-31 23:59:59.999') },
      { text: '1900-01-01 00:00:00', sql: sqlText('1900-01-01 00:00:00'), want: text('1900-01-01 00:00:00.000') },
      { text: '2299-12-31 23:59:59.999', sql: sqlText('2299-12-31 23:59:59.999'), want: text('2299-12-31 23:59:59.999') },
    ],
    bad: [...outside('DateTime64(3) (1900-01-01 00:00:00 to 2299-12-31 23:59:59)', '1899-12-31 23:59:59.999', '2300-01-01 00:00:00', '9999-12-31 23:59:59.999'), { text: '2023-02-29 00:00:00.000' }, { text: '2024-05-01 10:00:60.000' }],
  },
  {
    name: 'DateTime64(6) keeps microseconds, drops a seventh digit and applies offsets',
    type: 'DateTime64(6)', parquetType: 'TIMESTAMP',
    edges: [
      { text: '2024-05-01 10:00:00.123456', sql: sqlText('2024-05-01 10:00:00.123456'), want: text('2024-05-01 10:00:00.123456') },
      { text: '2024-05-01 10:00:00.1234567', want: text('2024-05-01 10:00:00.123456') },
      { text: '1969-12-31 23:59:59.999999', sql: sqlText('1969-12-31 23:59:59.999999'), want: text('1969-12-31 23:59:59.999999') },
      { text: '2024-05-01T10:00:00.000001+05:45', sql: sqlText('2024-05-01 04:15:00.000001'), want: text('2024-05-01 04:15:00.000001') },
    ],
    bad: [{ text: '2023-02-29 00:00:00.000000' }],
  },
  {
    name: 'DateTime64(9) keeps nanoseconds, drops a tenth digit, and keeps the nanosecond before the epoch',
    type: 'DateTime64(9)', parquetType: 'TIMESTAMP_NS',
    edges: [
      { text: '2024-05-01 10:00:00.123456789', sql: sqlText('2024-05-01 10:00:00.123456789'), want: text('2024-05-01 10:00:00.123456789') },
      { text: '2024-05-01 10:00:00.1234567891', want: text('2024-05-01 10:00:00.123456789') },
      { text: '1969-12-31 23:59:59.999999999', sql: sqlText('1969-12-31 23:59:59.999999999'), want: text('1969-12-31 23:59:59.999999999') },
      { text: '2024-05-01T10:00:00.000001Z', sql: sqlText('2024-05-01 10:00:00.000001'), want: text('2024-05-01 10:00:00.000001000') },
    ],
    bad: [{ text: '2023-02-29 00:00:00.000000000' }],
  },
  {
    name: 'String keeps the empty string, quotes, commas, tabs, newlines, backslashes and non-ASCII text; a missing value is quarantined',
    type: 'String', parquetType: 'VARCHAR',
    edges: ['', ' padded ', 'a,b"c', 'tab\there', 'two\nlines', 'back\\slash', "it's", 'null', 'nul\u0000byte', '€ 😀'].map((value) => ({ text: value, sql: sqlText(value), want: text(value) })),
    bad: [{ text: 'null', json: 'null', jsonOnly: true }],
  },
  ...(['Nullable(String)', 'LowCardinality(Nullable(String))'] as const).map((type): Case => ({
    name: `${type} tells the empty string from NULL in every format`,
    type, parquetType: 'VARCHAR',
    edges: [
      { text: '', sql: "''", want: text('') },
      { text: '', json: 'null', jsonOnly: true, sql: 'NULL', want: NUL },
      { text: 'x', sql: "'x'", want: text('x') },
    ],
    bad: [],
  })),
  {
    name: 'Nullable(Int64) tells NULL from its minimum',
    type: 'Nullable(Int64)', parquetType: 'BIGINT',
    edges: [
      { text: '', json: 'null', jsonOnly: true, sql: 'NULL', want: NUL },
      intEdge(-(1n << 63n), 'BIGINT'),
    ],
    bad: [{ text: '-9223372036854775809', json: '-9223372036854775809' }],
  },
  {
    name: 'UUID keeps the nil and the all-ones UUID, reads upper case as the same UUID, and quarantines a malformed one',
    type: 'UUID', parquetType: 'UUID',
    edges: [
      { text: '00000000-0000-0000-0000-000000000000', sql: sqlText('00000000-0000-0000-0000-000000000000'), want: text('00000000-0000-0000-0000-000000000000') },
      { text: 'ffffffff-ffff-ffff-ffff-ffffffffffff', sql: sqlText('ffffffff-ffff-ffff-ffff-ffffffffffff'), want: text('ffffffff-ffff-ffff-ffff-ffffffffffff') },
      { text: 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFE', sql: sqlText('ffffffff-ffff-ffff-ffff-fffffffffffe'), want: text('ffffffff-ffff-ffff-ffff-fffffffffffe') },
    ],
    bad: [{ text: 'not-a-uuid' }, { text: '00000000-0000-0000-0000-00000000000' }],
  },
  {
    name: 'Bool reads true, false, 1, 0 and ClickHouse\'s other words in any case (yes, off, Enable …) and writes true and false; 2 is quarantined',
    type: 'Bool', parquetType: 'BOOLEAN',
    edges: [
      { text: 'true', json: 'true', sql: 'true', want: { bool: true } },
      { text: 'false', json: 'false', sql: 'false', want: { bool: false } },
      { text: '1', json: '1', sql: 'true', want: { bool: true } },
      { text: '0', json: '0', sql: 'false', want: { bool: false } },
      { text: 'on', want: { bool: true } },
      { text: 'Enable', want: { bool: true } },
      { text: 'YES', want: { bool: true } },
      { text: 'off', want: { bool: false } },
      { text: 'disabled', want: { bool: false } },
      { text: 'N', want: { bool: false } },
    ],
    bad: [{ text: '2', json: '2' }, { text: 'maybe' }],
  },
  {
    name: 'Array(Int64) keeps the empty array and the int64 extremes inside one; an element past them or a null element is quarantined',
    type: 'Array(Int64)', parquetType: 'BIGINT[]',
    edges: [
      { text: '[]', json: '[]', jsonOnly: true, sql: "'[]'", want: { nested: { json: '[]', text: '[]', duck: '[]' } } },
      {
        text: '[-9223372036854775808,9223372036854775807]', json: '[-9223372036854775808, 9223372036854775807]', jsonOnly: true,
        sql: "'[-9223372036854775808, 9223372036854775807]'",
        want: { nested: { json: '["-9223372036854775808","9223372036854775807"]', text: '[-9223372036854775808,9223372036854775807]', duck: '[-9223372036854775808, 9223372036854775807]' } },
      },
    ],
    bad: [{ text: '[9223372036854775808]', json: '[9223372036854775808]', jsonOnly: true }, { text: '[null]', json: '[null]', jsonOnly: true }],
  },
  {
    name: 'Array(Nullable(String)) keeps the empty array apart from an array of a NULL and an empty string',
    type: 'Array(Nullable(String))', parquetType: 'VARCHAR[]',
    edges: [
      { text: '[]', json: '[]', jsonOnly: true, sql: "'[]'", want: { nested: { json: '[]', text: '[]', duck: '[]' } } },
      { text: '[null,""]', json: '[null, ""]', jsonOnly: true, sql: "[NULL, '']", want: { nested: { json: '[null,""]', text: "[NULL,'']", duck: "[NULL, '']" } } },
    ],
    bad: [],
  },
  {
    name: 'Map(String, UInt64) keeps the empty map, an empty key and the uint64 maximum; a negative value is quarantined',
    type: 'Map(String, UInt64)', parquetType: 'MAP(VARCHAR, UBIGINT)',
    edges: [
      { text: '{}', json: '{}', jsonOnly: true, sql: 'MAP {}', want: { nested: { json: '{}', text: '{}', duck: '{}' } } },
      {
        text: '{"a":18446744073709551615,"":0}', json: '{"a": 18446744073709551615, "": 0}', jsonOnly: true, sql: "MAP {'a': 18446744073709551615, '': 0}",
        want: { nested: { json: '{"a":"18446744073709551615","":0}', text: "{'a':18446744073709551615,'':0}", duck: "{a=18446744073709551615, ''=0}" } },
      },
    ],
    bad: [{ text: '{"a":-1}', json: '{"a": -1}', jsonOnly: true }],
  },
  {
    name: 'Tuple(a Int8, b String) keeps -128 beside an empty string; 128 in it is quarantined',
    type: 'Tuple(a Int8, b String)', parquetType: 'STRUCT(a TINYINT, b VARCHAR)',
    edges: [
      { text: '{"a":-128,"b":""}', json: '{"a": -128, "b": ""}', jsonOnly: true, sql: "{'a': -128, 'b': ''}", want: { nested: { json: '{"a":-128,"b":""}', text: "(-128,'')", duck: "{'a': -128, 'b': ''}" } } },
    ],
    bad: [{ text: '{"a":128,"b":"x"}', json: '{"a": 128, "b": "x"}', jsonOnly: true }],
  },
  {
    name: 'Array(Float64) keeps -0.0, NaN, infinity and the smallest subnormal as elements',
    type: 'Array(Float64)', parquetType: 'DOUBLE[]',
    edges: [
      {
        text: '[-0.0,"nan","inf",5e-324]', json: '[-0.0, "nan", "inf", 5e-324]', jsonOnly: true, sql: "['-0.0'::DOUBLE, 'nan'::DOUBLE, 'inf'::DOUBLE, 5e-324]",
        // JSON writes NaN and infinity as null, as ClickHouse's JSON does.
        want: { nested: { json: '[-0,null,null,5e-324]', text: '[-0,nan,inf,5e-324]', duck: '[-0.0, nan, inf, 5e-324]' } },
      },
    ],
    bad: [],
  },
  {
    name: 'Array(Date) keeps 1970-01-01 and 2149-06-06 as elements; an element 2023-02-29 or outside the range of Date is quarantined',
    type: 'Array(Date)', parquetType: 'DATE[]',
    edges: [
      { text: '["1970-01-01","2149-06-06"]', json: '["1970-01-01", "2149-06-06"]', jsonOnly: true, sql: "['1970-01-01'::DATE, '2149-06-06'::DATE]", want: { nested: { json: '["1970-01-01","2149-06-06"]', text: "['1970-01-01','2149-06-06']", duck: '[1970-01-01, 2149-06-06]' } } },
    ],
    bad: [{ text: '["2023-02-29"]', json: '["2023-02-29"]', jsonOnly: true }, { text: '["0001-01-01"]', json: '["0001-01-01"]', jsonOnly: true }],
  },
];

describe('Tinybird: edge values written through NDJSON, the Events API, CSV and Parquet read back the same through FORMAT JSON, JSONEachRow, CSV, TSV and Parquet', () => {
  let server: TestServer;
  let tb: TinybirdClient;
  let scratch: Scratch;
  before(async () => {
    server = await TestServer.start();
    tb = new TinybirdClient(server);
    scratch = await Scratch.open();
  });
  after(async () => {
    await scratch.close();
    await server.stop();
  });

  const json = async (response: Response): Promise<any> => {
    const body = await response.text();
    assert.equal(response.status, 200, body);
    return JSON.parse(body);
  };
  const query = async (sql: string): Promise<Response> => {
    const response = await server.fetch(`/v0/sql?q=${encodeURIComponent(sql)}`);
    if (response.status !== 200) assert.fail(`${sql}: ${response.status} ${await response.text()}`);
    return response;
  };

  /** Every row's `v` as each output format gives it. */
  async function readAll(name: string, isFloat: boolean): Promise<Record<string, Map<number, Seen>>> {
    const sql = `SELECT id, v FROM ${name} ORDER BY id`;
    const outputs: Record<string, Map<number, Seen>> = {};
    const jsonBody = parseJsonLosslessly(await (await query(`${sql} FORMAT JSON`)).text()) as { data: Array<{ id: JsonNumber; v: JsonValue }> };
    outputs['FORMAT JSON'] = new Map(jsonBody.data.map((row) => [Number(row.id.text), { kind: 'json', value: row.v }]));
    const lines = (await (await query(`${sql} FORMAT JSONEachRow`)).text()).split('\n').filter((line) => line !== '');
    outputs['JSONEachRow'] = new Map(lines.map((line) => {
      const row = parseJsonLosslessly(line) as { id: JsonNumber; v: JsonValue };
      return [Number(row.id.text), { kind: 'json', value: row.v }];
    }));
    const csv = parseCsv(await (await query(`${sql} FORMAT CSV`)).text());
    outputs['CSV'] = new Map(csv.map(([id, v]) => [Number(id!.value), { kind: 'text', value: !v!.quoted && v!.value === '\\N' ? null : v!.value, quoted: v!.quoted }]));
    const tsv = (await (await query(`${sql} FORMAT TSV`)).text()).split('\n').filter((line) => line !== '');
    outputs['TSV'] = new Map(tsv.map((line) => {
      const [id, v] = line.split('\t');
      return [Number(id), { kind: 'text', value: unescapeTsv(v!), quoted: false }];
    }));
    outputs['Parquet'] = await scratch.readParquet(await (await query(`${sql} FORMAT Parquet`)).arrayBuffer(), isFloat);
    return outputs;
  }

  for (const testCase of TB_CASES) {
    test(testCase.name, async () => {
      const name = `edge_${testCase.type.replace(/[^A-Za-z0-9]+/g, '_').toLowerCase()}`;
      await json(await tb.form(`/v0/datasources?name=${name}&format=ndjson`, { schema: `id Int32 \`json:$.id\`, v ${testCase.type} \`json:$.v\`` }));
      const bad = testCase.bad;
      const expectedBad: Array<{ id: number; text: string; reason?: string | undefined }> = [];
      const append = async (route: string, query: string, part: string, file: string, body: string | Buffer, valid: number, invalid: number) => {
        const result = await json(await tb.upload(query, part, file, body));
        assert.deepEqual([result.successful_rows, result.quarantine_rows], [valid, invalid], `${route}: ${JSON.stringify(result)}`);
      };

      // NDJSON, each value as a JSON string and as a bare literal; bad values after the good ones, at +500.
      for (const form of ['string', 'literal'] as const) {
        const route = form === 'string' ? 'JSON string' : 'JSON literal';
        const good = routeRows(route, testCase.edges);
        const wrong = routeRows(route, bad, 500);
        const lines = [...good, ...wrong].map(({ id, value }) => `{"id": ${id}, "v": ${jsonOf(value, form)}}`);
        wrong.forEach(({ id, value }) => expectedBad.push({ id, text: form === 'string' || value.jsonOnly ? (value.jsonOnly && value.json === 'null' ? '' : value.text) : value.json!, reason: value.reason }));
        if (lines.length > 0) await append(route, `name=${name}&mode=append&format=ndjson`, 'ndjson', 'edges.ndjson', lines.join('\n') + '\n', good.length, wrong.length);
      }
      // The Events API: literals where the value has one, else strings.
      const events = routeRows('events', testCase.edges).map(({ id, value }) => `{"id": ${id}, "v": ${value.json ?? JSON.stringify(value.text)}}`);
      const answer = await json(await server.fetch(`/v0/events?name=${name}&wait=true`, { method: 'POST', body: events.join('\n') + '\n' }));
      assert.deepEqual(answer, { successful_rows: events.length, quarantined_rows: 0 });
      // CSV with a header; a NULL is an empty unquoted field.
      const csvGood = routeRows('CSV', testCase.edges).filter(({ value }) => !value.jsonOnly || value.json !== 'null');
      const csvNull = routeRows('CSV', testCase.edges).filter(({ value }) => value.jsonOnly && value.json === 'null');
      const csvBad = routeRows('CSV', bad.filter((value) => value.json !== 'null'), 500);
      csvBad.forEach(({ id, value }) => expectedBad.push({ id, text: value.text, reason: value.reason }));
      const csvRows = [...csvGood.map(({ id, value }) => `${id},${csvField(value.text)}`), ...csvNull.map(({ id }) => `${id},`), ...csvBad.map(({ id, value }) => `${id},${csvField(value.text)}`)];
      await append('CSV', `name=${name}&mode=append`, 'csv', 'edges.csv', `id,v\n${csvRows.join('\n')}\n`, csvGood.length + csvNull.length, csvBad.length);
      // Parquet: typed values where the case has a type and the value its SQL, else text.
      const parquetGood = routeRows('Parquet', testCase.edges);
      const typed = parquetGood.filter(({ value }) => testCase.parquetType && value.sql !== undefined);
      const untyped = parquetGood.filter(({ value }) => !(testCase.parquetType && value.sql !== undefined) && !(value.jsonOnly && value.json === 'null'));
      if (typed.length > 0) {
        await append('Parquet (typed)', `name=${name}&mode=append&format=parquet`, 'parquet', 'typed.parquet', await scratch.parquet(typed.map(({ id, value }) => [id, value.sql!]), testCase.parquetType!), typed.length, 0);
      }
      const parquetBad = routeRows('Parquet', bad.filter((value) => value.json !== 'null'), 500);
      parquetBad.forEach(({ id, value }) => expectedBad.push({ id, text: value.text, reason: value.reason }));
      if (untyped.length + parquetBad.length > 0) {
        const rows: Array<[number, string]> = [...untyped, ...parquetBad].map(({ id, value }) => [id, sqlText(value.text)]);
        await append('Parquet (text)', `name=${name}&mode=append&format=parquet`, 'parquet', 'text.parquet', await scratch.parquet(rows, 'VARCHAR'), untyped.length, parquetBad.length);
      }

      const isFloat = testCase.edges.some(({ want }) => 'float' in want);
      const outputs = await readAll(name, isFloat);
      const written = new Set([...routeRows('JSON string', testCase.edges), ...routeRows('JSON literal', testCase.edges), ...routeRows('events', testCase.edges), ...csvGood, ...csvNull, ...typed, ...untyped].map(({ id }) => id));
      for (const [format, rows] of Object.entries(outputs)) {
        assert.deepEqual([...rows.keys()].sort((a, b) => a - b), [...written].sort((a, b) => a - b), `${format}: the rows written, no more, no fewer`);
        for (const route of Object.keys(ROUTE_IDS)) {
          for (const { id, value } of routeRows(route, testCase.edges)) {
            if (!written.has(id)) continue;
            checkSeen(rows.get(id), value.want, { wide: 'string', nonFinite: 'null' }, `${testCase.type} ${JSON.stringify(value.text)} via ${route}, read as ${format}`);
          }
        }
      }

      // Each bad value is in the quarantine once, with its text, the column and the reason.
      const quarantined = await tb.sql<{ id: string; v: string | null; c__error_column: string[]; c__error: string[] }>(`SELECT id, v, c__error_column, c__error FROM ${name}_quarantine ORDER BY CAST(id AS INTEGER) FORMAT JSON`);
      const typeName = testCase.errorType ?? testCase.type.replace(/^LowCardinality\((.*)\)$/, '$1');
      assert.deepEqual(quarantined, expectedBad.sort((a, b) => a.id - b.id).map(({ id, text: value, reason }) => ({
        id: String(id), v: value === '' ? null : value, c__error_column: ['v'],
        c__error: [value === '' ? 'column "v": value is missing and the column is not nullable' : `column "v": value "${value}" ${reason ?? `is not a valid ${typeName}`}`],
      })));
    });
  }

  test('a Decimal of more than 38 digits (Decimal(76, 10)) is refused when the data source is created, with a 400 naming the bound', async () => {
    const response = await tb.form('/v0/datasources?name=dec76&format=ndjson', { schema: 'id Int32 `json:$.id`, v Decimal(76, 10) `json:$.v`' });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: string }).error, /38 digits/);
    assert.equal((await server.fetch('/v0/datasources/dec76')).status, 404);
  });

  test('a Decimal(38, 19) written as a bare JSON number keeps all 38 digits', async () => {
    await json(await tb.form('/v0/datasources?name=dec_literal&format=ndjson', { schema: 'id Int32 `json:$.id`, v Decimal(38, 19) `json:$.v`' }));
    const result = await json(await tb.upload('name=dec_literal&mode=append&format=ndjson', 'ndjson', 'd.ndjson', '{"id": 1, "v": 9999999999999999999.9999999999999999999}\n{"id": 2, "v": 0.1234567890123456789}\n'));
    assert.deepEqual([result.successful_rows, result.quarantine_rows], [2, 0], JSON.stringify(result));
    assert.deepEqual(await tb.sql('SELECT id, v FROM dec_literal ORDER BY id'), [{ id: 1, v: '9999999999999999999.9999999999999999999' }, { id: 2, v: '0.1234567890123456789' }]);
  });

  test('long decimals as bare JSON numbers keep their digits in arrays too, through the Events API, a body and a spooled file, while strings that look like numbers stay as written', async () => {
    await json(await tb.form('/v0/datasources?name=dec_paths&format=ndjson', {
      schema: 'id Int32 `json:$.id`, s String `json:$.s`, d Decimal(38, 19) `json:$.d`, a Array(Decimal(38, 19)) `json:$.a`, f Float64 `json:$.f`, n Int64 `json:$.n`',
    }));
    const record = (id: number) =>
      `{"id": ${id}, "s": "a \\"0.1234567890123456789\\" b", "d": 0.1234567890123456789, "a": [1.5, -2.0000000000000000001e1, 0.1234567890123456789], "f": 1.2345678901234567e5, "n": 1234567890123456789}`;
    const expected = (id: number) => ({ id, s: 'a "0.1234567890123456789" b', d: '0.1234567890123456789', a: '1.5000000000000000000,-20.0000000000000000010,0.1234567890123456789', f: 123456.78901234567, n: '1234567890123456789' });
    assert.equal((await json(await server.fetch('/v0/events?name=dec_paths&wait=true', { method: 'POST', body: `${record(1)}\n` }))).successful_rows, 1);
    assert.equal((await json(await tb.upload('name=dec_paths&mode=append&format=ndjson', 'ndjson', 'd.ndjson', `${record(2)}\n`))).successful_rows, 1);
    // Past the size held in memory, the body is spooled to a file and read from there.
    const filler = Array.from({ length: 40_000 }, (_, index) => `{"id": ${100 + index}, "s": "${'x'.repeat(200)}", "d": 1, "a": [], "f": 0, "n": 0}`).join('\n');
    assert.equal((await json(await tb.upload('name=dec_paths&mode=append&format=ndjson', 'ndjson', 'big.ndjson', `${record(3)}\n${filler}\n`))).successful_rows, 40_001);
    const read = await tb.sql('SELECT id, s, CAST(d AS VARCHAR) AS d, array_to_string(a, \',\') AS a, f, toString(n) AS n FROM dec_paths WHERE id < 100 ORDER BY id');
    assert.deepEqual(read, [expected(1), expected(2), expected(3)]);
  });

  test('beside a Decimal column, a record with long numbers keeps the numbers of its JSON text and Float64 array columns as numbers', async () => {
    await json(await tb.form('/v0/datasources?name=dec_beside&format=ndjson', {
      schema: 'id Int64 `json:$.id`, d Decimal(10, 2) `json:$.d`, p String `json:$.p`, xs Array(Float64) `json:$.xs`',
    }));
    const body = '{"id": 1234567890123456789, "d": 1.5, "p": {"x": 1.5, "y": [2.25, -0.5]}, "xs": [1.5, 2.25]}\n{"id": 1, "d": 1.5, "p": {"x": 1.5, "y": [2.25, -0.5]}, "xs": [1.5, 2.25]}\n';
    assert.equal((await json(await server.fetch('/v0/events?name=dec_beside&wait=true', { method: 'POST', body }))).successful_rows, 2);
    const rows = await tb.sql('SELECT toString(id) AS id, d, p, xs FROM dec_beside ORDER BY id');
    const stored = { d: 1.5, p: '{"x":1.5,"y":[2.25,-0.5]}', xs: [1.5, 2.25] };
    assert.deepEqual(rows, [{ id: '1', ...stored }, { id: '1234567890123456789', ...stored }]);
  });

  test('DateTime64(9) applies an offset without losing the nanoseconds', async () => {
    await json(await tb.form('/v0/datasources?name=ns_offset&format=ndjson', { schema: 'id Int32 `json:$.id`, v DateTime64(9) `json:$.v`' }));
    await json(await tb.upload('name=ns_offset&mode=append&format=ndjson', 'ndjson', 'n.ndjson', '{"id": 1, "v": "2024-05-01T10:00:00.123456789+05:45"}\n{"id": 2, "v": "2024-05-01T10:00:00.123456789Z"}\n'));
    assert.deepEqual(await tb.sql('SELECT id, v FROM ns_offset ORDER BY id'), [{ id: 1, v: '2024-05-01 04:15:00.123456789' }, { id: 2, v: '2024-05-01 10:00:00.123456789' }]);
  });

  test('CSV written by FORMAT CSV loads back unchanged: "" is the empty string and \\N is NULL in a Nullable(String) and a Nullable(Int32)', async () => {
    await json(await tb.form('/v0/datasources?name=csv_nulls', { schema: 'id Int32, s Nullable(String), n Nullable(Int32)' }));
    await json(await server.fetch('/v0/events?name=csv_nulls&wait=true', { method: 'POST', body: '{"id": 1, "s": "", "n": 0}\n{"id": 2, "s": null, "n": null}\n' }));
    const exported = await (await query('SELECT id, s, n FROM csv_nulls ORDER BY id FORMAT CSV')).text();
    assert.equal(exported, '1,"",0\n2,\\N,\\N\n');
    await json(await tb.form('/v0/datasources?name=csv_nulls_back', { schema: 'id Int32, s Nullable(String), n Nullable(Int32)' }));
    const result = await json(await tb.upload('name=csv_nulls_back&mode=append', 'csv', 'back.csv', exported));
    assert.deepEqual([result.successful_rows, result.quarantine_rows], [2, 0], JSON.stringify(result));
    assert.deepEqual(await tb.sql('SELECT id, s, n FROM csv_nulls_back ORDER BY id'), [{ id: 1, s: '', n: 0 }, { id: 2, s: null, n: null }]);
  });

  test("CSV written by FORMAT CSV loads back unchanged: arrays with an escaped quote and maps in ClickHouse's syntax", async () => {
    await json(await tb.form('/v0/datasources?name=csv_nested', { schema: 'id Int32, a Array(String), m Map(String, UInt64)' }));
    await json(await server.fetch('/v0/events?name=csv_nested&wait=true', { method: 'POST', body: '{"id": 1, "a": ["it\'s", "back\\\\slash"], "m": {"a": 18446744073709551615}}\n' }));
    const exported = await (await query('SELECT id, a, m FROM csv_nested ORDER BY id FORMAT CSV')).text();
    assert.equal(exported, `1,"['it\\'s','back\\\\slash']","{'a':18446744073709551615}"\n`);
    await json(await tb.form('/v0/datasources?name=csv_nested_back', { schema: 'id Int32, a Array(String), m Map(String, UInt64)' }));
    const result = await json(await tb.upload('name=csv_nested_back&mode=append', 'csv', 'back.csv', exported));
    assert.deepEqual([result.successful_rows, result.quarantine_rows], [1, 0], JSON.stringify(result));
    assert.deepEqual(await tb.sql('SELECT a, m FROM csv_nested_back'), [{ a: ["it's", 'back\\slash'], m: { a: '18446744073709551615' } }]);
  });
});

// =============================================================================================
// Feldera

const FD_INTEGERS: Case[] = (['TINYINT', 'SMALLINT', 'INT', 'BIGINT'] as const).flatMap((name, index) => ([true, false] as const).map((signed): Case => {
  const bits = [8, 16, 32, 64][index]!;
  const type = signed ? name : `${name} UNSIGNED`;
  const { edges, bad } = integerEdges(bits, signed, '');
  return {
    name: `${type} keeps its min and max${bits === 64 ? ' and ±(2^53 + 1)' : ''}, written in JSON as numbers with every digit; one past either end is a parse error naming the column, the value and the type`,
    type, errorType: type.replace(/^INT\b/, 'INTEGER'), edges: edges.map(({ sql, ...edge }) => edge), bad,
  };
}));

const FD_CASES: Case[] = [
  ...FD_INTEGERS,
  {
    name: 'DECIMAL(38, 10) keeps ±(10^28 - 10^-10) and 10^-10 as JSON numbers with every digit; 10^28 is a parse error',
    type: 'DECIMAL(38, 10)',
    edges: [
      { text: '9999999999999999999999999999.9999999999', want: dec('9999999999999999999999999999.9999999999') },
      { text: '-9999999999999999999999999999.9999999999', want: dec('-9999999999999999999999999999.9999999999') },
      { text: '0.0000000001', json: '0.0000000001', want: dec('0.0000000001') },
    ],
    bad: [{ text: '10000000000000000000000000000', json: '10000000000000000000000000000' }],
  },
  {
    name: 'DECIMAL(5, 2) rounds a third fraction digit half away from zero (1.235 → 1.24, -1.235 → -1.24, 1.2349 → 1.23); 999.995, which rounds past the precision, is a parse error',
    type: 'DECIMAL(5, 2)',
    edges: [
      { text: '999.99', json: '999.99', want: dec('999.99') },
      { text: '1.235', json: '1.235', want: dec('1.24') },
      { text: '-1.235', json: '-1.235', want: dec('-1.24') },
      { text: '1.2349', json: '1.2349', want: dec('1.23') },
    ],
    bad: [{ text: '999.995', json: '999.995' }, { text: '1000', json: '1000' }],
  },
  {
    name: 'DOUBLE keeps -0.0, NaN, ±Infinity, the smallest subnormal and 1e308; 1e309 is a parse error, not infinity',
    type: 'DOUBLE',
    edges: [
      { text: '-0.0', json: '-0.0', want: float(-0) },
      { text: 'NaN', want: float(NaN) },
      { text: 'Infinity', want: float(Infinity) },
      { text: '-Infinity', want: float(-Infinity) },
      { text: '5e-324', json: '5e-324', want: float(5e-324) },
      { text: '1e308', json: '1e308', want: float(1e308) },
    ],
    bad: [{ text: '1e309', json: '1e309' }, { text: 'abc' }],
  },
  {
    name: 'REAL keeps -0.0, its largest value, its smallest subnormal and 0.1 as written; 3.5e38 is a parse error',
    type: 'REAL',
    edges: [
      { text: '-0.0', json: '-0.0', want: float(-0, 32) },
      { text: '3.4028235e38', json: '3.4028235e38', want: float(3.4028235e38, 32) },
      { text: '1e-45', json: '1e-45', want: float(1e-45, 32) },
      { text: '0.1', json: '0.1', want: float(0.1, 32) },
    ],
    bad: [{ text: '3.5e38', json: '3.5e38' }],
  },
  {
    name: 'DATE keeps 0001-01-01, 1969-12-31, 1970-01-01, 2000-02-29 and 9999-12-31; 2023-02-29 and a short year (024-02-03) are parse errors',
    type: 'DATE',
    edges: ['0001-01-01', '1969-12-31', '1970-01-01', '2000-02-29', '9999-12-31'].map((day) => ({ text: day, want: text(day) })),
    bad: [{ text: '2023-02-29' }, { text: '2024-02-30' }, { text: '024-02-03' }],
  },
  {
    name: 'TIME keeps midnight, the last microsecond of the day and a half second; 25:00:00 is a parse error',
    type: 'TIME',
    edges: [
      { text: '00:00:00', want: text('00:00:00') },
      { text: '23:59:59.999999', want: text('23:59:59.999999') },
      { text: '12:34:56.5', want: text('12:34:56.5') },
    ],
    bad: [{ text: '25:00:00' }, { text: '12:60:00' }],
  },
  {
    name: 'TIMESTAMP keeps the epoch, the microsecond before it, 0001-01-01 and 9999-12-31 23:59:59.999999, and converts RFC 3339 offsets to UTC; 2023-02-29 and a short year (24-05-01) are parse errors',
    type: 'TIMESTAMP',
    edges: [
      { text: '1970-01-01 00:00:00', want: text('1970-01-01 00:00:00') },
      { text: '1969-12-31 23:59:59.999999', want: text('1969-12-31 23:59:59.999999') },
      { text: '0001-01-01 00:00:00', want: text('0001-01-01 00:00:00') },
      { text: '9999-12-31 23:59:59.999999', want: text('9999-12-31 23:59:59.999999') },
      { text: '2000-02-29T23:30:00.5+02:00', want: text('2000-02-29 21:30:00.5') },
      { text: '2024-05-01T10:00:00.000001Z', want: text('2024-05-01 10:00:00.000001') },
    ],
    bad: [{ text: '2023-02-29 00:00:00' }, { text: '2024-05-01T10:00:00+24:00' }, { text: '24-05-01 10:00:00' }],
  },
  {
    name: 'VARCHAR tells the empty string from NULL, and keeps quotes, commas, tabs, newlines, backslashes and non-ASCII text',
    type: 'VARCHAR',
    edges: [
      // In CSV an empty field, quoted or not, is NULL in a nullable column, as Feldera's CSV reader reads it.
      { text: '', skip: ['CSV'], want: text('') },
      ...['a,b"c', 'tab\there', 'two\nlines', 'back\\slash', 'null', '€ 😀'].map((value) => ({ text: value, want: text(value) })),
      { text: '', json: 'null', jsonOnly: true, want: NUL },
      { text: '', skip: ['JSON string', 'JSON literal'], want: NUL },
    ],
    bad: [],
  },
  {
    name: 'VARBINARY keeps the empty value and the bytes 0 and 255, written as arrays of bytes; 256 in one is a parse error',
    type: 'VARBINARY',
    edges: [
      { text: '[]', json: '[]', jsonOnly: true, want: { bytes: [] } },
      { text: '[0,255]', json: '[0, 255]', jsonOnly: true, want: { bytes: [0, 255] } },
    ],
    bad: [{ text: '[256]', json: '[256]', jsonOnly: true }],
  },
  {
    name: 'BOOLEAN keeps true, false and NULL apart',
    type: 'BOOLEAN',
    // In JSON a boolean is true or false, never a string (see the ingress tests).
    edges: [
      { text: 'true', json: 'true', skip: ['JSON string'], want: { bool: true } },
      { text: 'false', json: 'false', skip: ['JSON string'], want: { bool: false } },
      { text: '', json: 'null', jsonOnly: true, want: NUL },
    ],
    bad: [{ text: 'maybe', skip: ['JSON string'] }],
  },
  {
    name: 'INT ARRAY keeps the empty array, the int extremes and a NULL element; an element past the extremes is a parse error',
    type: 'INT ARRAY', errorType: 'INTEGER ARRAY',
    edges: [
      { text: '[]', json: '[]', jsonOnly: true, want: { nested: { json: '[]', text: '[]', duck: '[]', arrow: '[]' } } },
      {
        text: '[-2147483648,2147483647,null]', json: '[-2147483648, 2147483647, null]', jsonOnly: true,
        want: { nested: { json: '[-2147483648,2147483647,null]', text: '[-2147483648,2147483647,null]', duck: '[-2147483648, 2147483647, NULL]', arrow: '[-2147483648,2147483647,null]' } },
      },
    ],
    bad: [{ text: '[2147483648]', json: '[2147483648]', jsonOnly: true }],
  },
  {
    name: 'MAP<VARCHAR, BIGINT> keeps the empty map, an empty key and the bigint extremes as numbers with every digit, in key order; a value past them is a parse error',
    type: 'MAP<VARCHAR, BIGINT>',
    edges: [
      { text: '{}', json: '{}', jsonOnly: true, want: { nested: { json: '{}', text: '{}', duck: '{}', arrow: '{}' } } },
      {
        text: '{"a":9223372036854775807,"":-9223372036854775808}', json: '{"a": 9223372036854775807, "": -9223372036854775808}', jsonOnly: true,
        // In key order, as Feldera keeps a map: the empty key first.
        want: { nested: { json: '{"":-9223372036854775808,"a":9223372036854775807}', text: '{"":"-9223372036854775808","a":"9223372036854775807"}', duck: "{''=-9223372036854775808, a=9223372036854775807}", arrow: '{"":"-9223372036854775808","a":"9223372036854775807"}' } },
      },
    ],
    bad: [{ text: '{"a":9223372036854775808}', json: '{"a": 9223372036854775808}', jsonOnly: true }],
  },
  {
    name: 'ROW(a TINYINT, b VARCHAR) keeps -128 beside an empty string; 128 in it is a parse error',
    type: 'ROW(a TINYINT, b VARCHAR)', errorType: 'ROW(a TINYINT NOT NULL, b VARCHAR NOT NULL)',
    edges: [
      { text: '{"a":-128,"b":""}', json: '{"a": -128, "b": ""}', jsonOnly: true, want: { nested: { json: '{"a":-128,"b":""}', text: '{"a":-128,"b":""}', duck: "{'a': -128, 'b': ''}", arrow: '{"a":-128,"b":""}' } } },
    ],
    bad: [{ text: '{"a":128,"b":"x"}', json: '{"a": 128, "b": "x"}', jsonOnly: true }],
  },
];

describe('Feldera: edge values pushed as JSON and CSV read back the same through format=json, text, parquet and arrow_ipc', () => {
  let server: TestServer;
  let client: FelderaClient;
  let scratch: Scratch;
  const PIPELINE = 'edges';
  before(async () => {
    server = await TestServer.start();
    client = new FelderaClient(server);
    scratch = await Scratch.open();
    await client.pipeline(PIPELINE, FD_CASES.map((testCase, index) => `CREATE TABLE c${index} (id INT NOT NULL, v ${testCase.type});`).join('\n'));
  });
  after(async () => {
    await scratch.close();
    await server.stop();
  });

  async function readAll(table: string, isFloat: boolean): Promise<Record<string, Map<number, Seen>>> {
    const sql = `SELECT id, v FROM ${table} ORDER BY id`;
    const body = async (format: string) => {
      const response = await client.query(PIPELINE, sql, format);
      if (response.status !== 200) assert.fail(`${format}: ${response.status} ${await response.text()}`);
      return response;
    };
    const outputs: Record<string, Map<number, Seen>> = {};
    const lines = (await (await body('json')).text()).split('\n').filter((line) => line !== '');
    outputs['json'] = new Map(lines.map((line) => {
      const row = parseJsonLosslessly(line) as { id: JsonNumber; v: JsonValue };
      return [Number(row.id.text), { kind: 'json', value: row.v }];
    }));
    const tableLines = (await (await body('text')).text()).split('\n').filter((line) => line.startsWith('| '));
    outputs['text'] = new Map(tableLines.slice(1).map((line) => {
      const inner = line.slice(2, -2);
      const split = inner.indexOf(' | ');
      return [Number(inner.slice(0, split).trim()), { kind: 'text', value: inner.slice(split + 3).trimEnd(), quoted: false, table: true }];
    }));
    outputs['parquet'] = await scratch.readParquet(await (await body('parquet')).arrayBuffer(), isFloat);
    const arrow = tableFromIPC(new Uint8Array(await (await body('arrow_ipc')).arrayBuffer()));
    outputs['arrow_ipc'] = new Map(Array.from({ length: arrow.numRows }, (_, row) => [Number(arrow.getChild('id')!.get(row)), { kind: 'arrow', ...arrowCell(arrow, 'v', row) }]));
    return outputs;
  }

  /** Pushes bad records; each must be listed with its event number, the column and its text, and none kept. */
  async function pushBad(table: string, body: string, query: string, expected: string[], typeName: string): Promise<void> {
    if (expected.length === 0) return;
    const response = await client.push(PIPELINE, table, body, query);
    const answer = (await response.json()) as { error_code: string; details: { num_errors: number; errors: Array<{ event_number: number; field: string; invalid_text: string; description: string }> } };
    assert.equal(response.status, 400, `${query}: ${JSON.stringify(answer)}`);
    assert.equal(answer.error_code, 'ParseErrors');
    assert.equal(answer.details.num_errors, expected.length, JSON.stringify(answer.details));
    assert.deepEqual(answer.details.errors.map(({ event_number, field, invalid_text }) => [event_number, field, invalid_text]), expected.map((value, index) => [index + 1, 'v', value]), query);
    for (const error of answer.details.errors) assert.equal(error.description, `column "v": value "${error.invalid_text}" is not a valid ${typeName}`);
  }

  FD_CASES.forEach((testCase, index) => {
    test(testCase.name, async () => {
      const table = `c${index}`;
      for (const form of ['string', 'literal'] as const) {
        const route = form === 'string' ? 'JSON string' : 'JSON literal';
        const good = routeRows(route, testCase.edges).map(({ id, value }) => `{"insert": {"id": ${id}, "v": ${jsonOf(value, form)}}}`);
        if (good.length > 0) await client.pushOk(PIPELINE, table, good.join('\n'));
        const bad = routeRows(route, testCase.bad, 500);
        await pushBad(table, bad.map(({ id, value }) => `{"insert": {"id": ${id}, "v": ${jsonOf(value, form)}}}`).join('\n'), 'format=json', bad.map(({ value }) => (form === 'string' ? value.text : value.json!.replace(/\s/g, ''))), testCase.errorType ?? testCase.type);
      }
      // CSV: no header, fields in column order; arrays, maps, rows and bytes as JSON text; NULL an empty unquoted field.
      const csv = routeRows('CSV', testCase.edges).map(({ id, value }) => `${id},${'nul' in value.want ? '' : csvField(value.text)}`);
      await client.pushOk(PIPELINE, table, `${csv.join('\n')}\n`, 'format=csv');
      const csvBad = routeRows('CSV', testCase.bad, 500);
      await pushBad(table, `${csvBad.map(({ id, value }) => `${id},${csvField(value.text)}`).join('\n')}\n`, 'format=csv', csvBad.map(({ value }) => value.text), testCase.errorType ?? testCase.type);

      const written = [...routeRows('JSON string', testCase.edges), ...routeRows('JSON literal', testCase.edges), ...routeRows('CSV', testCase.edges)];
      const outputs = await readAll(table, testCase.edges.some(({ want }) => 'float' in want));
      for (const [format, rows] of Object.entries(outputs)) {
        assert.deepEqual([...rows.keys()].sort((a, b) => a - b), written.map(({ id }) => id).sort((a, b) => a - b), `${format}: the rows written, no more, no fewer`);
        for (const { id, value } of written) {
          const route = Object.entries(ROUTE_IDS).find(([, base]) => id >= base && id < base + 1000)![0];
          checkSeen(rows.get(id), value.want, { wide: 'number' }, `${testCase.type} ${JSON.stringify(value.text)} via ${route}, read as ${format}`);
        }
      }
    });
  });

  test('a DECIMAL(38, 10) pushed as a bare JSON number keeps all 38 digits', async () => {
    const index = FD_CASES.findIndex((testCase) => testCase.type === 'DECIMAL(38, 10)');
    await client.pushOk(PIPELINE, `c${index}`, '{"insert": {"id": 9001, "v": 9999999999999999999999999999.9999999999}}\n{"insert": {"id": 9002, "v": 0.1234567891}}');
    assert.deepEqual(await client.rows(PIPELINE, `SELECT id, CAST(v AS VARCHAR) AS v FROM c${index} WHERE id > 9000 ORDER BY id`), [
      { id: 9001, v: '9999999999999999999999999999.9999999999' }, { id: 9002, v: '0.1234567891' },
    ]);
  });
});

// =============================================================================================
// Catalyzed

/** An Arrow vector of `values` of a fixed-width type, from the typed array that holds them. */
function fixedVector(type: ArrowDataType, values: ArrayLike<unknown>, make: (values: ArrayLike<unknown>) => ArrayBufferView): Vector {
  return makeVector(makeData({ type, length: values.length, data: make(values) } as never) as never);
}

const ARROW_INTEGERS: Record<string, { type: () => ArrowDataType; array: (values: ArrayLike<unknown>) => ArrayBufferView; big: boolean }> = {
  int8: { type: () => new Int8(), array: (values) => Int8Array.from(values as number[]), big: false },
  int16: { type: () => new Int16(), array: (values) => Int16Array.from(values as number[]), big: false },
  int32: { type: () => new Int32(), array: (values) => Int32Array.from(values as number[]), big: false },
  int64: { type: () => new Int64(), array: (values) => BigInt64Array.from(values as bigint[]), big: true },
  uint8: { type: () => new Uint8(), array: (values) => Uint8Array.from(values as number[]), big: false },
  uint16: { type: () => new Uint16(), array: (values) => Uint16Array.from(values as number[]), big: false },
  uint32: { type: () => new Uint32(), array: (values) => Uint32Array.from(values as number[]), big: false },
  uint64: { type: () => new Uint64(), array: (values) => BigUint64Array.from(values as bigint[]), big: true },
};

/** Typed Arrow columns: how each case's type is built from the edges' `arrow` values. */
const ARROW_COLUMNS: Record<string, (values: unknown[]) => Vector> = {
  ...Object.fromEntries(Object.entries(ARROW_INTEGERS).map(([name, { type, array }]) => [name, (values: unknown[]) => fixedVector(type(), values, array)])),
  float64: (values) => fixedVector(new Float64(), values, (items) => Float64Array.from(items as number[])),
  float32: (values) => fixedVector(new Float32(), values, (items) => Float32Array.from(items as number[])),
  bool: (values) => vectorFromArray(values as boolean[], new Bool()),
  date32: (values) => fixedVector(new DateDay(), values, (items) => Int32Array.from(items as number[])),
  'timestamp[s]': (values) => fixedVector(new TimestampSecond(), values, (items) => BigInt64Array.from(items as bigint[])),
  'timestamp[ms]': (values) => fixedVector(new TimestampMillisecond(), values, (items) => BigInt64Array.from(items as bigint[])),
  'timestamp[us]': (values) => fixedVector(new TimestampMicrosecond(), values, (items) => BigInt64Array.from(items as bigint[])),
  'timestamp[ns]': (values) => fixedVector(new TimestampNanosecond(), values, (items) => BigInt64Array.from(items as bigint[])),
};

/** An Arrow IPC stream of rows `(id int32, v)`. */
function arrowStream(ids: number[], column: Vector): Uint8Array {
  return tableToIPC(new Table({ id: vectorFromArray(ids, new Int32()), v: column }), 'stream');
}

/** Days since the epoch of `YYYY-MM-DD`. */
const epochDays = (day: string): number => Date.parse(`${day}T00:00:00Z`) / 86_400_000;

/** `unit`s since the epoch of a UTC `YYYY-MM-DDTHH:MM:SS[.f]Z`. */
function epochUnits(time: string, unit: 's' | 'ms' | 'us' | 'ns'): bigint {
  const match = /^(.{19})(?:\.(\d+))?Z$/.exec(time)!;
  const seconds = BigInt(Date.parse(`${match[1]}Z`) / 1000);
  const digits = { s: 0, ms: 3, us: 6, ns: 9 }[unit];
  const fraction = BigInt((match[2] ?? '').padEnd(digits, '0').slice(0, digits) || '0');
  return seconds * 10n ** BigInt(digits) + fraction;
}

const CZ_INTEGERS: Case[] = Object.entries(ARROW_INTEGERS).map(([type, { big }]): Case => {
  const bits = Number(/\d+/.exec(type)![0]);
  const signed = !type.startsWith('u');
  const duck = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' }[bits]!;
  const { edges, bad } = integerEdges(bits, signed, signed ? duck : `U${duck}`, (value) => (big ? value : Number(value)));
  const truncated: Edge[] = bits === 64 && signed
    ? [
      { text: '123.45', json: '123.45', want: int(123n) },
      { text: '-123.45', json: '-123.45', want: int(-123n) },
      { text: '1e2', json: '1e2', want: int(100n) },
      { text: '9223372036854775807.9', want: int((1n << 63n) - 1n) },
      { text: '-9223372036854775808.9', want: int(-(1n << 63n)) },
    ]
    : [];
  return {
    name: `${type} keeps its min and max${bits === 64 ? ' and ±(2^53 + 1), as JSON strings where a double would round them' : ''}${truncated.length > 0 ? ', truncates fractions toward zero (9223372036854775807.9 → its max)' : ''}; one past either end rejects the request with the row, the column, the value and the reason`,
    type, parquetType: signed ? duck : `U${duck}`, arrowType: ARROW_INTEGERS[type]!.type, edges: [...edges, ...truncated], bad,
  };
});

const timeEdge = (input: string, output: string, unit: 's' | 'ms' | 'us' | 'ns', typed = true): Edge => ({
  text: input, want: text(output),
  ...(typed && { sql: sqlText(output.replace('T', ' ').replace('Z', '')), arrow: epochUnits(output, unit) }),
});

const CZ_CASES: Case[] = [
  ...CZ_INTEGERS,
  {
    name: 'float64 keeps -0.0, NaN, ±Infinity, the smallest subnormal and 1e308; 1e309 (past the largest double) is rejected, not stored as infinity',
    type: 'float64', parquetType: 'DOUBLE',
    edges: [
      { text: '-0.0', json: '-0.0', sql: "'-0.0'", arrow: -0, want: float(-0) },
      { text: 'NaN', sql: "'nan'", arrow: NaN, want: float(NaN) },
      { text: 'Infinity', sql: "'inf'", arrow: Infinity, want: float(Infinity) },
      { text: '-Infinity', sql: "'-inf'", arrow: -Infinity, want: float(-Infinity) },
      { text: '5e-324', json: '5e-324', sql: '5e-324', arrow: 5e-324, want: float(5e-324) },
      { text: '1e308', json: '1e308', sql: '1e308', arrow: 1e308, want: float(1e308) },
    ],
    bad: [{ text: '1e309', json: '1e309' }, { text: 'abc' }],
  },
  {
    name: 'float32 keeps -0.0, its largest value and 0.1 as written; 3.5e38 is rejected',
    type: 'float32', parquetType: 'FLOAT',
    edges: [
      { text: '-0.0', json: '-0.0', sql: "'-0.0'", arrow: -0, want: float(-0, 32) },
      { text: '3.4028235e38', json: '3.4028235e38', sql: "'3.4028235e38'", arrow: 3.4028235e38, want: float(3.4028235e38, 32) },
      { text: '0.1', json: '0.1', sql: "'0.1'", arrow: 0.1, want: float(0.1, 32) },
    ],
    bad: [{ text: '3.5e38', json: '3.5e38' }],
  },
  {
    name: 'float16 keeps ±65504 (its largest) and -0.0; 65520 and 1e5 (past it) are rejected',
    type: 'float16',
    edges: [
      { text: '65504', json: '65504', want: float(65504, 32) },
      { text: '-65504', json: '-65504', want: float(-65504, 32) },
      { text: '-0.0', json: '-0.0', want: float(-0, 32) },
    ],
    // A bare 1e5 is refused too, but reported as 100000.0: see the test below.
    bad: [{ text: '65520', json: '65520' }, { text: '1e5' }],
  },
  {
    name: 'decimal128(38, 10) keeps ±(10^28 - 10^-10) and 10^-10 exactly and rounds an eleventh fraction digit half away from zero; 10^28 is rejected',
    type: 'decimal128(38, 10)', parquetType: 'DECIMAL(38,10)',
    edges: [
      { text: '9999999999999999999999999999.9999999999', sql: "'9999999999999999999999999999.9999999999'", want: dec('9999999999999999999999999999.9999999999') },
      { text: '-9999999999999999999999999999.9999999999', sql: "'-9999999999999999999999999999.9999999999'", want: dec('-9999999999999999999999999999.9999999999') },
      { text: '0.0000000001', json: '0.0000000001', sql: "'0.0000000001'", want: dec('0.0000000001') },
      { text: '1.00000000005', want: dec('1.0000000001') },
      { text: '-0.00000000005', want: dec('-0.0000000001') },
    ],
    bad: [{ text: '10000000000000000000000000000', json: '10000000000000000000000000000' }],
  },
  {
    name: 'date32 keeps 0001-01-01, 1969-12-31, 1970-01-01, 2000-02-29 and 9999-12-31; 2023-02-29 and a short year (1-2-3) are rejected',
    type: 'date32', parquetType: 'DATE',
    edges: ['0001-01-01', '1969-12-31', '1970-01-01', '2000-02-29', '9999-12-31'].map((day) => ({ text: day, sql: sqlText(day), arrow: epochDays(day), want: text(day) })),
    bad: [{ text: '2023-02-29' }, { text: '2024-02-30' }, { text: '1-2-3' }],
  },
  {
    name: 'date64 keeps 0001-01-01, 1969-12-31 and 9999-12-31; 2023-02-29 is rejected',
    type: 'date64', parquetType: 'DATE',
    edges: ['0001-01-01', '1969-12-31', '9999-12-31'].map((day) => ({ text: day, sql: sqlText(day), want: text(day) })),
    bad: [{ text: '2023-02-29' }],
  },
  {
    name: 'timestamp[s] keeps 0001-01-01, the second before the epoch and 9999-12-31 23:59:59, applies offsets and drops a fraction; 2023-02-29 and a short year (99-05-01) are rejected',
    type: 'timestamp[s]', parquetType: 'TIMESTAMP_S',
    edges: [
      timeEdge('1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z', 's'),
      timeEdge('1969-12-31T23:59:59Z', '1969-12-31T23:59:59Z', 's'),
      timeEdge('0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z', 's'),
      timeEdge('9999-12-31T23:59:59Z', '9999-12-31T23:59:59Z', 's'),
      timeEdge('2024-05-01T10:00:00+02:00', '2024-05-01T08:00:00Z', 's'),
      timeEdge('2024-05-01T10:00:00.9Z', '2024-05-01T10:00:00Z', 's', false),
    ],
    bad: [{ text: '2023-02-29T00:00:00Z' }, { text: '2024-05-01T10:00:00+24:00' }, { text: '99-05-01T10:00:00Z' }],
  },
  {
    name: 'timestamp[ms] keeps milliseconds either side of the epoch and at 9999-12-31, drops a fourth digit and applies offsets',
    type: 'timestamp[ms]', parquetType: 'TIMESTAMP_MS',
    edges: [
      timeEdge('1969-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z', 'ms'),
      timeEdge('9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z', 'ms'),
      timeEdge('2024-05-01T10:00:00.1239Z', '2024-05-01T10:00:00.123Z', 'ms', false),
      timeEdge('2024-05-01T10:00:00.123-05:30', '2024-05-01T15:30:00.123Z', 'ms'),
    ],
    bad: [{ text: '2023-02-29T00:00:00.000Z' }],
  },
  {
    name: 'timestamp[us] keeps microseconds either side of the epoch and at 0001-01-01 and 9999-12-31, and applies offsets',
    type: 'timestamp[us]', parquetType: 'TIMESTAMP',
    edges: [
      timeEdge('1969-12-31T23:59:59.999999Z', '1969-12-31T23:59:59.999999Z', 'us'),
      timeEdge('0001-01-01T00:00:00.000001Z', '0001-01-01T00:00:00.000001Z', 'us'),
      timeEdge('9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z', 'us'),
      timeEdge('2024-05-01T10:00:00.000001+05:45', '2024-05-01T04:15:00.000001Z', 'us'),
    ],
    bad: [{ text: '2023-02-29T00:00:00Z' }],
  },
  {
    name: 'timestamp[ns] keeps nanoseconds either side of the epoch and drops a tenth digit; a time past the nanosecond range (2262-04-12) is rejected, not wrapped',
    type: 'timestamp[ns]', parquetType: 'TIMESTAMP_NS',
    edges: [
      timeEdge('1969-12-31T23:59:59.999999999Z', '1969-12-31T23:59:59.999999999Z', 'ns'),
      timeEdge('2024-05-01T10:00:00.123456789Z', '2024-05-01T10:00:00.123456789Z', 'ns'),
      timeEdge('2024-05-01T10:00:00.1234567891Z', '2024-05-01T10:00:00.123456789Z', 'ns', false),
    ],
    bad: [{ text: '2262-04-12T00:00:00Z' }, { text: '1677-09-21T00:00:00Z' }, { text: '2023-02-29T00:00:00Z' }],
  },
  {
    name: 'utf8 tells the empty string and the text "null" from NULL, and keeps quotes, commas, tabs, newlines, backslashes and non-ASCII text',
    type: 'utf8', parquetType: 'VARCHAR',
    edges: [
      ...['', ' padded ', 'null', 'a,b"c', 'tab\there', 'two\nlines', 'back\\slash', 'nul\u0000byte', '€ 😀'].map((value) => ({ text: value, sql: sqlText(value), want: text(value) })),
      { text: '', json: 'null', jsonOnly: true, sql: 'NULL', want: NUL },
    ],
    bad: [],
  },
  {
    name: 'binary keeps the empty value and the bytes 0 and 255, given as base64 in JSON and read back as base64',
    type: 'binary', parquetType: 'BLOB',
    edges: [
      { text: '', jsonString: '', sql: "''", want: { bytes: [] } },
      { text: '\\x00\\xFF', jsonString: 'AP8=', sql: "'\\x00\\xFF'", want: { bytes: [0, 255] } },
    ],
    bad: [],
  },
  {
    name: 'bool reads true/false, 1/0, yes/no and y/n in any case; maybe is rejected',
    type: 'bool', parquetType: 'BOOLEAN',
    edges: [
      { text: 'true', json: 'true', sql: 'true', arrow: true, want: { bool: true } },
      { text: 'false', json: 'false', sql: 'false', arrow: false, want: { bool: false } },
      { text: '1', json: '1', want: { bool: true } },
      { text: '0', json: '0', want: { bool: false } },
      { text: 'YES', want: { bool: true } },
      { text: 'n', want: { bool: false } },
    ],
    bad: [{ text: 'maybe' }, { text: '2', json: '2' }],
  },
  {
    name: 'list<int64> keeps the empty list, the int64 extremes and a null element; an element past the extremes is rejected',
    type: 'list<int64>', parquetType: 'BIGINT[]',
    edges: [
      { text: '[]', json: '[]', jsonOnly: true, sql: "'[]'", want: { nested: { json: '[]', arrow: '[]' } } },
      {
        text: '[-9223372036854775808,9223372036854775807,null]', json: '[-9223372036854775808, 9223372036854775807, null]', jsonOnly: true, sql: "[-9223372036854775808, 9223372036854775807, NULL]",
        want: { nested: { json: '["-9223372036854775808","9223372036854775807",null]', arrow: '["-9223372036854775808","9223372036854775807",null]' } },
      },
    ],
    bad: [{ text: '[9223372036854775808]', json: '[9223372036854775808]', jsonOnly: true }],
  },
  {
    name: 'struct<a: int8, b: utf8> keeps -128 beside an empty string; 128 in it is rejected',
    type: 'struct<a: int8, b: utf8>', parquetType: 'STRUCT(a TINYINT, b VARCHAR)',
    edges: [
      { text: '{"a":-128,"b":""}', json: '{"a": -128, "b": ""}', jsonOnly: true, sql: "{'a': -128, 'b': ''}", want: { nested: { json: '{"a":-128,"b":""}', arrow: '{"a":-128,"b":""}' } } },
    ],
    bad: [{ text: '{"a":128,"b":"x"}', json: '{"a": 128, "b": "x"}', jsonOnly: true }],
  },
];

describe('Catalyzed: edge values written as JSON, CSV, Parquet and Arrow read back the same through JSON and Arrow query results', () => {
  let server: TestServer;
  let client: CatalyzedClient;
  let scratch: Scratch;
  let datasetId: string;
  before(async () => {
    server = await TestServer.start();
    client = new CatalyzedClient(server);
    scratch = await Scratch.open();
    datasetId = await client.createDataset('edges');
  });
  after(async () => {
    await scratch.close();
    await server.stop();
  });

  const CONTENT_TYPES = { json: 'application/json', csv: 'text/csv', parquet: 'application/parquet', arrow: 'application/vnd.apache.arrow.stream' } as const;

  async function writeOk(tableId: string, body: string | Uint8Array, format: keyof typeof CONTENT_TYPES, rows: number, route: string): Promise<void> {
    const { status, body: answer } = await client.write(tableId, 'mode=append', body, CONTENT_TYPES[format]);
    assert.equal(status, 200, `${route}: ${JSON.stringify(answer)}`);
    assert.equal(answer.rows_inserted, rows, route);
  }

  /** A request of bad values is refused as a whole, each row listed with its column, its value and the reason. */
  async function writeBad(tableId: string, body: string | Uint8Array, format: keyof typeof CONTENT_TYPES, values: string[], typeName: string, route: string): Promise<void> {
    if (values.length === 0) return;
    const { status, body: answer } = await client.write(tableId, 'mode=append', body, CONTENT_TYPES[format]);
    assert.equal(status, 400, `${route}: ${JSON.stringify(answer)}`);
    assert.equal(answer.code, 'VALIDATION_ERROR', route);
    assert.deepEqual(answer.details.errors, values.map((value, index) => ({
      row: index + 1, columns: ['v'], values: [value], messages: [`column "v": value "${value}" is not a valid ${typeName}`],
    })), route);
  }

  async function readAll(tableId: string): Promise<Record<string, Map<number, Seen>>> {
    const request = { sql: 'SELECT id, v FROM t ORDER BY id', tables: { t: tableId }, maxRows: 10_000 };
    const response = await server.fetch('/queries', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    const textBody = await response.text();
    assert.equal(response.status, 200, textBody);
    const result = parseJsonLosslessly(textBody) as { rows: Array<{ id: JsonNumber; v: JsonValue }> };
    const arrowResponse = await server.fetch('/queries', { method: 'POST', headers: { 'content-type': 'application/json', accept: CONTENT_TYPES.arrow }, body: JSON.stringify(request) });
    assert.equal(arrowResponse.status, 200);
    const arrow = tableFromIPC(new Uint8Array(await arrowResponse.arrayBuffer()));
    return {
      JSON: new Map(result.rows.map((row) => [Number(row.id.text), { kind: 'json', value: row.v }])),
      Arrow: new Map(Array.from({ length: arrow.numRows }, (_, row) => [Number(arrow.getChild('id')!.get(row)), { kind: 'arrow', ...arrowCell(arrow, 'v', row) }])),
    };
  }

  CZ_CASES.forEach((testCase, index) => {
    test(testCase.name, async () => {
      const tableId = await client.createTable(datasetId, `c${index}`, [{ name: 'id', arrowType: 'int32' }, { name: 'v', arrowType: testCase.type, nullable: true }]);
      const typeName = testCase.errorType ?? testCase.type;
      const written: Array<{ id: number; value: Edge; route: string }> = [];
      const track = (route: string, rows: Array<{ id: number; value: Edge }>) => written.push(...rows.map((row) => ({ ...row, route })));

      for (const form of ['string', 'literal'] as const) {
        const route = form === 'string' ? 'JSON string' : 'JSON literal';
        const good = routeRows(route, testCase.edges);
        track(route, good);
        if (good.length > 0) await writeOk(tableId, `[${good.map(({ id, value }) => `{"id": ${id}, "v": ${jsonOf(value, form)}}`).join(', ')}]`, 'json', good.length, route);
        const bad = routeRows(route, testCase.bad, 500);
        await writeBad(tableId, `[${bad.map(({ id, value }) => `{"id": ${id}, "v": ${jsonOf(value, form)}}`).join(', ')}]`, 'json', bad.map(({ value }) => (form === 'string' ? value.text : value.json!.replace(/\s/g, ''))), typeName, route);
      }
      // CSV with a header; NULL is an empty unquoted field, the empty string a quoted "".
      const csv = routeRows('CSV', testCase.edges);
      track('CSV', csv);
      await writeOk(tableId, `id,v\n${csv.map(({ id, value }) => `${id},${'nul' in value.want ? '' : csvField(value.text)}`).join('\n')}\n`, 'csv', csv.length, 'CSV');
      const csvBad = routeRows('CSV', testCase.bad, 500);
      await writeBad(tableId, `id,v\n${csvBad.map(({ id, value }) => `${id},${csvField(value.text)}`).join('\n')}\n`, 'csv', csvBad.map(({ value }) => value.text), typeName, 'CSV');
      // Parquet and Arrow: typed values where the case and the value allow, the others as text.
      for (const route of ['Parquet', 'Arrow'] as const) {
        const rows = routeRows(route, testCase.edges);
        const isTyped = (value: Edge) => (route === 'Parquet' ? testCase.parquetType !== undefined && value.sql !== undefined : ARROW_COLUMNS[testCase.type] !== undefined && value.arrow !== undefined);
        const typed = rows.filter(({ value }) => isTyped(value));
        const untyped = rows.filter(({ value }) => !isTyped(value) && !(route === 'Arrow' && value.jsonOnly));
        track(route, [...typed, ...untyped]);
        const encode = async (part: Array<{ id: number; value: Edge | Bad }>, asTyped: boolean): Promise<Uint8Array> => {
          if (route === 'Parquet') {
            return scratch.parquet(part.map(({ id, value }) => [id, asTyped ? (value as Edge).sql! : 'want' in value && 'nul' in value.want ? 'NULL' : sqlText(value.text)]), asTyped ? testCase.parquetType! : 'VARCHAR');
          }
          const ids = part.map(({ id }) => id);
          if (asTyped) return arrowStream(ids, ARROW_COLUMNS[testCase.type]!(part.map(({ value }) => (value as Edge).arrow)));
          return arrowStream(ids, vectorFromArray(part.map(({ value }) => ('want' in value && 'nul' in value.want ? null : value.text)), new Utf8()));
        };
        if (typed.length > 0) await writeOk(tableId, await encode(typed, true), route === 'Parquet' ? 'parquet' : 'arrow', typed.length, `${route} (typed)`);
        if (untyped.length > 0) await writeOk(tableId, await encode(untyped, false), route === 'Parquet' ? 'parquet' : 'arrow', untyped.length, `${route} (text)`);
        const bad = routeRows(route, testCase.bad, 500);
        if (bad.length > 0) await writeBad(tableId, await encode(bad, false), route === 'Parquet' ? 'parquet' : 'arrow', bad.map(({ value }) => value.text), typeName, route);
      }

      const outputs = await readAll(tableId);
      for (const [format, rows] of Object.entries(outputs)) {
        assert.deepEqual([...rows.keys()].sort((a, b) => a - b), written.map(({ id }) => id).sort((a, b) => a - b), `${format}: the rows written, no more, no fewer`);
        for (const { id, value, route } of written) {
          checkSeen(rows.get(id), value.want, { wide: 'string', binary: 'base64' }, `${testCase.type} ${JSON.stringify(value.text)} via ${route}, read as ${format}`);
        }
      }
    });
  });

  test('a JSON number that is refused is reported as it was written (1e5, not 100000.0)', { todo: 'JSON values are extracted with json_extract_string, which prints a number with an exponent or a fraction as DuckDB prints the double: the error quotes "100000.0" for 1e5' }, async () => {
    const tableId = await client.createTable(datasetId, 'reported', [{ name: 'id', arrowType: 'int32' }, { name: 'v', arrowType: 'float16' }]);
    const { status, body } = await client.write(tableId, 'mode=append', '[{"id": 1, "v": 1e5}]', 'application/json');
    assert.equal(status, 400);
    assert.deepEqual(body.details.errors, [{ row: 1, columns: ['v'], values: ['1e5'], messages: ['column "v": value "1e5" is not a valid float16'] }]);
  });

  test('timestamp[ns] applies an offset without losing the nanoseconds', async () => {
    const tableId = await client.createTable(datasetId, 'ns_offset', [{ name: 'id', arrowType: 'int32' }, { name: 'v', arrowType: 'timestamp[ns]' }]);
    await client.writeRows(tableId, 'mode=append', 'json', [{ id: 1, v: '2024-05-01T10:00:00.123456789+05:45' }]);
    assert.deepEqual(await client.rows(tableId), [{ id: 1, v: '2024-05-01T04:15:00.123456789Z' }]);
  });

  test('a decimal128(38, 10) written as a bare JSON number keeps all 38 digits', async () => {
    const tableId = await client.createTable(datasetId, 'dec_literal', [{ name: 'id', arrowType: 'int32' }, { name: 'v', arrowType: 'decimal128(38, 10)' }]);
    const { status, body } = await client.write(tableId, 'mode=append', '[{"id": 1, "v": 9999999999999999999999999999.9999999999}, {"id": 2, "v": 0.1234567891}]', 'application/json');
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(await client.rows(tableId), [{ id: 1, v: '9999999999999999999999999999.9999999999' }, { id: 2, v: 0.1234567891 }]);
  });
});
