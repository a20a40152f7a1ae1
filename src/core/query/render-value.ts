import { formatEpochDays } from '../types/civil-date.ts';
import { isSqlStruct, SqlDate, SqlDecimal, SqlInterval, SqlJson, SqlMap, SqlTime, SqlTimestamp, type SqlValue } from './sql-values.ts';

/**
 * How result values are written as text, shared by every encoder:
 * - 64/128-bit integers and decimals are JSON numbers only when a double reads them back exactly,
 *   otherwise JSON strings — never a rounded number (or, with `wideNumbers: 'number'`, always
 *   numbers with all their digits);
 * - NaN and ±infinity are the strings `nan`, `inf`, `-inf` (JSON has no such numbers; with
 *   `nonFinite: 'null'`, null in JSON); -0 is `-0`; an exponent has no plus sign (`1e308`);
 * - timestamps `YYYY-MM-DD HH:MM:SS[.fffffffff]` in UTC with trailing fractional zeros trimmed
 *   (or ISO-8601 `…T…Z`), or with `timestampDigits: 'declared'` with as many as their type
 *   declares (`.500` for milliseconds, as ClickHouse writes a DateTime64(3)), dates `YYYY-MM-DD`, times `HH:MM:SS[.f][+HH[:MM]]`, ±infinity as
 *   `infinity` / `-infinity`; years outside 0–9999 are written with a sign or extra digits;
 * - lists, structs and maps as JSON arrays and objects (map keys as their text), or in text formats
 *   with `nested: 'clickhouse'` as ClickHouse writes them: `['a','b']`, `(1,'x')`, `{'k':1}`;
 * - BLOBs in JSON as arrays of byte values or base64, in text formats as DuckDB prints them
 *   (printable ASCII as is, other bytes as `\xNN`).
 */
export interface RenderOptions {
  timestamps?: 'sql' | 'iso';
  /** A timestamp's fraction of a second: its digits up to the last that is not zero, or all its type declares (see SqlTimestamp). */
  timestampDigits?: 'trimmed' | 'declared';
  binary?: 'bytes' | 'base64';
  /** How text formats write lists, structs and maps: as JSON (the default) or in ClickHouse's text syntax. */
  nested?: 'json' | 'clickhouse';
  /**
   * How JSON writes a 64/128-bit integer or a decimal that a double does not hold exactly: as a
   * string (the default, so that JavaScript readers do not round it) or as a number with all its
   * digits (for readers that parse numbers exactly).
   */
  wideNumbers?: 'string' | 'number';
  /** How an interval is written: as DuckDB's text (the default, `00:01:00`) or as its seconds (`60`), as ClickHouse gives a time difference. */
  intervals?: 'text' | 'seconds';
  /**
   * How JSON writes NaN and ±infinity: as the strings `nan`, `inf`, `-inf` (the default) or as
   * null, as ClickHouse's JSON formats do unless told to quote them (output_format_json_quote_denormals).
   */
  nonFinite?: 'text' | 'null';
}

type ValueKind =
  | 'null' | 'boolean' | 'number' | 'bigint' | 'string' | 'binary' | 'decimal' | 'date' | 'time' | 'timestamp' | 'interval'
  | 'json' | 'map' | 'list' | 'struct';

type Renderers = { [K in ValueKind]: (value: never, options: RenderOptions) => string };

function kindOf(value: SqlValue): ValueKind {
  if (value === null) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') return typeof value as ValueKind;
  if (value instanceof Uint8Array) return 'binary';
  if (value instanceof SqlDecimal) return 'decimal';
  if (value instanceof SqlDate) return 'date';
  if (value instanceof SqlTime) return 'time';
  if (value instanceof SqlTimestamp) return 'timestamp';
  if (value instanceof SqlInterval) return 'interval';
  if (value instanceof SqlJson) return 'json';
  if (value instanceof SqlMap) return 'map';
  if (Array.isArray(value)) return 'list';
  if (isSqlStruct(value)) return 'struct';
  throw new TypeError(`Not a result value: ${String(value)}`);
}

const MAX_EXACT_INTEGER = BigInt(Number.MAX_SAFE_INTEGER);

const TEXT_RENDERERS: Renderers = {
  null: () => '',
  boolean: (value: boolean) => String(value),
  // -0 keeps its sign (String(-0) is "0"), as ClickHouse and Feldera write it.
  // An exponent without its plus sign (1e308, 3.4028235e38), as ClickHouse and Feldera write one.
  number: (value: number) => (Number.isFinite(value) ? (Object.is(value, -0) ? '-0' : String(value).replace('e+', 'e')) : Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf'),
  bigint: (value: bigint) => String(value),
  string: (value: string) => value,
  binary: (value: Uint8Array) => renderBlobText(value),
  decimal: (value: SqlDecimal) => value.toString(),
  date: (value: SqlDate) => renderDate(value),
  time: (value: SqlTime) => renderTime(value),
  timestamp: (value: SqlTimestamp, options) => renderTimestamp(value, options.timestamps ?? 'sql', options.timestampDigits === 'declared' ? value.digits : undefined),
  interval: (value: SqlInterval, options) => (options.intervals === 'seconds' ? String(value.seconds) : value.text),
  json: (value: SqlJson) => value.text,
  map: (value: SqlMap, options) => renderNestedText(value, options),
  list: (value: SqlValue[], options) => renderNestedText(value, options),
  struct: (value: SqlValue, options) => renderNestedText(value, options),
};

function renderNestedText(value: SqlValue, options: RenderOptions): string {
  return options.nested === 'clickhouse' ? renderClickHouseElement(value, options) : renderJsonValue(value, options);
}

/**
 * A value inside a nested one, as ClickHouse's text formats write it: numbers and booleans bare,
 * NULL as `NULL`, every other scalar as a single-quoted string with `\` escapes, arrays in
 * brackets, tuples (structs) in parentheses, maps in braces, all without spaces.
 */
function renderClickHouseElement(value: SqlValue, options: RenderOptions): string {
  const kind = kindOf(value);
  if (kind === 'null') return 'NULL';
  if (kind === 'list') return `[${(value as SqlValue[]).map((item) => renderClickHouseElement(item, options)).join(',')}]`;
  if (kind === 'struct') return `(${Object.values(value as { [field: string]: SqlValue }).map((item) => renderClickHouseElement(item, options)).join(',')})`;
  if (kind === 'map') {
    return `{${(value as SqlMap).entries.map(([key, item]) => `${renderClickHouseElement(key, options)}:${renderClickHouseElement(item, options)}`).join(',')}}`;
  }
  const text = renderTextValue(value, options);
  return isNumericValue(value) || kind === 'boolean' ? text : `'${text.replace(/[\\'\n\r\t\0\b\f]/g, (char) => CLICKHOUSE_ESCAPES[char]!)}'`;
}

const CLICKHOUSE_ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0', '\b': '\\b', '\f': '\\f' };

const JSON_RENDERERS: Renderers = {
  null: () => 'null',
  boolean: (value: boolean) => String(value),
  number: (value: number, options) => {
    if (Number.isFinite(value)) return TEXT_RENDERERS.number(value as never, {});
    return options.nonFinite === 'null' ? 'null' : JSON.stringify(TEXT_RENDERERS.number(value as never, {}));
  },
  bigint: (value: bigint, options) =>
    options.wideNumbers === 'number' || (value <= MAX_EXACT_INTEGER && value >= -MAX_EXACT_INTEGER) ? String(value) : `"${value}"`,
  string: (value: string) => JSON.stringify(value),
  binary: (value: Uint8Array, options) =>
    options.binary === 'base64' ? `"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"` : `[${value.join(',')}]`,
  decimal: (value: SqlDecimal, options) => {
    const text = value.toString();
    return options.wideNumbers === 'number' || isExactAsDouble(text) ? text : `"${text}"`;
  },
  date: (value: SqlDate, options) => JSON.stringify(TEXT_RENDERERS.date(value as never, options)),
  time: (value: SqlTime, options) => JSON.stringify(TEXT_RENDERERS.time(value as never, options)),
  timestamp: (value: SqlTimestamp, options) => JSON.stringify(TEXT_RENDERERS.timestamp(value as never, options)),
  interval: (value: SqlInterval, options) => (options.intervals === 'seconds' ? String(value.seconds) : JSON.stringify(value.text)),
  json: (value: SqlJson) => value.text,
  map: (value: SqlMap, options) =>
    `{${value.entries.map(([key, item]) => `${JSON.stringify(renderTextValue(key, options))}:${renderJsonValue(item, options)}`).join(',')}}`,
  list: (value: SqlValue[], options) => `[${value.map((item) => renderJsonValue(item, options)).join(',')}]`,
  struct: (value: { [field: string]: SqlValue }, options) =>
    `{${Object.entries(value).map(([field, item]) => `${JSON.stringify(field)}:${renderJsonValue(item, options)}`).join(',')}}`,
};

/** The value as a JSON value's text. */
export function renderJsonValue(value: SqlValue, options: RenderOptions = {}): string {
  return (JSON_RENDERERS[kindOf(value)] as (value: SqlValue, options: RenderOptions) => string)(value, options);
}

/** A row as a JSON object keyed by column name. */
export function renderJsonRow(names: readonly string[], row: readonly SqlValue[], options: RenderOptions = {}): string {
  return `{${names.map((name, index) => `${JSON.stringify(name)}:${renderJsonValue(row[index] ?? null, options)}`).join(',')}}`;
}

/** The value as a cell of a text format (CSV, TSV, a text table); NULL renders empty, callers mark it. */
export function renderTextValue(value: SqlValue, options: RenderOptions = {}): string {
  return (TEXT_RENDERERS[kindOf(value)] as (value: SqlValue, options: RenderOptions) => string)(value, options);
}

/** Whether a value is a list, struct or map. */
export function isNestedValue(value: SqlValue): boolean {
  const kind = kindOf(value);
  return kind === 'list' || kind === 'struct' || kind === 'map';
}

/** Whether a value renders as a number in text formats (CSV leaves them unquoted, tables right-align them). */
export function isNumericValue(value: SqlValue): boolean {
  const kind = kindOf(value);
  return kind === 'number' || kind === 'bigint' || kind === 'decimal';
}

/** A decimal's text is a safe JSON number when the double nearest to it prints back as the same decimal. */
function isExactAsDouble(text: string): boolean {
  return expandExponent(String(Number(text))) === text;
}

/** `1e-7` → `0.0000001`, `1.5e+21` → `1500000000000000000000`; other text unchanged. */
function expandExponent(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = '', exponentText] = match;
  const digits = `${whole}${fraction}`;
  const point = whole!.length + Number(exponentText);
  const expanded = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${sign}${expanded.replace(/^0+(?=\d)/, '')}`;
}

const NANOS_PER_SECOND = 1_000_000_000n;
const NANOS_PER_DAY = 86_400n * NANOS_PER_SECOND;

function renderDate(date: SqlDate): string {
  if (!date.finite) return date.days > 0 ? 'infinity' : '-infinity';
  return formatEpochDays(date.days);
}

function renderTime(time: SqlTime): string {
  const offset = time.offsetSeconds;
  if (offset === null) return formatTimeOfDay(time.nanos);
  const magnitude = Math.abs(offset);
  const parts = [Math.floor(magnitude / 3600), Math.floor(magnitude / 60) % 60, magnitude % 60];
  while (parts.length > 1 && parts.at(-1) === 0) parts.pop();
  return `${formatTimeOfDay(time.nanos)}${offset < 0 ? '-' : '+'}${parts.map((part) => pad(part, 2)).join(':')}`;
}

function renderTimestamp(timestamp: SqlTimestamp, style: 'sql' | 'iso', digits: number | undefined): string {
  if (!timestamp.finite) return timestamp.epochNanos > 0n ? 'infinity' : '-infinity';
  let days = timestamp.epochNanos / NANOS_PER_DAY;
  let nanos = timestamp.epochNanos % NANOS_PER_DAY;
  if (nanos < 0n) {
    days -= 1n;
    nanos += NANOS_PER_DAY;
  }
  const date = formatEpochDays(Number(days));
  return style === 'iso' ? `${date}T${formatTimeOfDay(nanos, digits)}Z` : `${date} ${formatTimeOfDay(nanos, digits)}`;
}

/** `HH:MM:SS` and the fraction of a second: `digits` of it, or without its trailing zeros. */
function formatTimeOfDay(nanos: bigint, digits?: number): string {
  const seconds = Number(nanos / NANOS_PER_SECOND);
  const nines = String(nanos % NANOS_PER_SECOND).padStart(9, '0');
  const fraction = digits === undefined ? nines.replace(/0+$/, '') : nines.slice(0, digits);
  const clock = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60].map((part) => pad(part, 2)).join(':');
  return fraction ? `${clock}.${fraction}` : clock;
}


function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function renderBlobText(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return text;
}
