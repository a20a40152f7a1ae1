import { defaultSqlOf, type Column } from '../catalog/model.ts';
import type { DataType, DataTypeKind, FieldType } from '../types/data-type.ts';
import { declaredLength, lengthUnit, sizeSql } from '../types/declared-length.ts';
import { toComputeType, toDuckDBType } from '../types/duckdb-types.ts';
import { quoteLiteral } from '../../storage/duckdb/sql.ts';
import { castNested, type NestedLiterals, type StructMembers } from './nested-coercion.ts';

/**
 * Coercion from text to a column's type, as SQL that DuckDB runs over a whole batch at once.
 * For each kind of type: the expression giving the typed value, or NULL when the text does not
 * convert. A value that was given but converts to NULL is invalid; the message says the column,
 * the value and the expected type.
 */
type CastBuilder = (text: string, type: DataType) => string;

const tryCast = (text: string, type: DataType): string => `TRY_CAST(${text} AS ${toDuckDBType(type)})`;
/**
 * The cast of the text trimmed of spaces, trimming only where it changes something, as the trim
 * costs more than the cast: DuckDB's trim removes only space separators, so an ASCII text (as many
 * bytes as characters) that neither starts nor ends with a space is its own trimmed text. (DuckDB's
 * casts skip ASCII whitespace themselves, but not alike on every text: `'42e '` reads as 42.)
 */
export const tryCastTrimmed = (text: string, type: DataType): string =>
  `CASE WHEN strlen(${text}) = length(${text}) AND NOT prefix(${text}, ' ') AND NOT suffix(${text}, ' ') THEN ${tryCast(text, type)} ELSE ${tryCast(`trim(${text})`, type)} END`;

/**
 * A text whose year has one to three digits (`03-02-24`, `15/02/24`, `024-02-03`): DuckDB's casts read
 * it as the year 3, 15 or 24, where each dialect's clients mean a day or month first or a mistake,
 * so no date or time is read from it (a year before 1000 is written with four digits, `0999-01-01`).
 */
export const shortYear = (text: string): string => `regexp_matches(${text}, '^\\s*[+-]?[0-9]{1,3}[^0-9]')`;

/** A text the timestamp rule reads as epoch seconds or milliseconds: a bare number. */
const EPOCH_TEXT = "'-?[0-9]+(\\.[0-9]+)?'";

/**
 * Epoch seconds (or milliseconds, when too large to be seconds) as a UTC timestamp; NULL past the
 * milliseconds a timestamp holds (about ±9.2e15), where DuckDB's conversions fail rather than give NULL.
 */
const epochToTimestamp = (text: string): string =>
  `CASE WHEN abs(TRY_CAST(${text} AS DOUBLE)) >= 9e15 THEN NULL` +
  ` WHEN abs(TRY_CAST(${text} AS DOUBLE)) >= 1e11 THEN epoch_ms(CAST(TRY_CAST(${text} AS DOUBLE) AS BIGINT))` +
  ` ELSE make_timestamp(CAST(TRY_CAST(${text} AS DOUBLE) * 1000000 AS BIGINT)) END`;

/**
 * A TIMESTAMP as TIMESTAMP_NS, NULL outside the years 1677–2262 that it holds (DuckDB's TRY_CAST
 * between the two fails there rather than giving NULL).
 */
const nanosecondsOf = (timestamp: string): string =>
  `CASE WHEN ${timestamp} BETWEEN TIMESTAMP '1677-09-21 00:12:43.145225' AND TIMESTAMP '2262-04-11 23:47:16.854775' THEN CAST(${timestamp} AS TIMESTAMP_NS) END`;

/**
 * ISO-8601 / RFC 3339 (offsets converted to UTC), `YYYY-MM-DD HH:MM:SS[.f]`, or epoch seconds /
 * milliseconds, as a TIMESTAMP (TIMESTAMP_NS with `nanos`): the general rule. Text is parsed at
 * the column's precision class: nanoseconds only for nanosecond columns, since DuckDB casts
 * TIMESTAMP_NS to coarser units as NULL.
 */
export function timestampFromText(text: string, nanos: boolean): string {
  const trimmed = `trim(${text})`;
  // Only a text ending in a numeric UTC offset goes through TIMESTAMPTZ, which applies it (a plain
  // cast to TIMESTAMP drops it). Nothing else may: once DuckDB's TIMESTAMPTZ cast has read a named
  // zone ("… Europe/Madrid"), it shifts zone-less texts cast after it in the same query. A plain cast
  // refuses named zones, so such a value is reported invalid instead of silently moving others.
  // An offset after the time: hours up to 23, minutes (and seconds, as some writers give historical
  // zones) up to 59. Another numeric suffix there (+24:00, +99:99, +1:2) is no offset: the value is
  // invalid, not read as if it had none.
  const time = `:[0-9]{2}(:[0-9]{2}(\\.[0-9]*)?)?`;
  const hasOffset = `regexp_matches(${trimmed}, '${time}[+-]([01][0-9]|2[0-3])(:?[0-5][0-9]){0,2}$')`;
  const otherOffset = `regexp_matches(${trimmed}, '${time}[+-][0-9:]+$')`;
  const unit = nanos ? 'TIMESTAMP_NS' : 'TIMESTAMP';
  const inUnit = (timestamp: string) => (nanos ? nanosecondsOf(timestamp) : timestamp);
  const inMicroseconds = inUnit(`TRY_CAST(TRY_CAST(${trimmed} AS TIMESTAMPTZ) AS TIMESTAMP)`);
  // TIMESTAMPTZ holds microseconds: for nanoseconds, DuckDB's cast to TIMESTAMP_NS, which applies a
  // numeric offset itself, keeps the last three digits; where it gives NULL (a text at the very end
  // of the years TIMESTAMP_NS holds) the microsecond reading decides, as before.
  const withOffset = nanos ? `COALESCE(TRY_CAST(${trimmed} AS TIMESTAMP_NS), ${inMicroseconds})` : inMicroseconds;
  const parsed = `CASE WHEN ${shortYear(trimmed)} THEN NULL WHEN ${hasOffset} THEN ${withOffset}
    WHEN ${otherOffset} THEN NULL ELSE TRY_CAST(${trimmed} AS ${unit}) END`;
  const epoch = inUnit(epochToTimestamp(trimmed));
  return `CASE WHEN regexp_full_match(${trimmed}, ${EPOCH_TEXT}) THEN ${epoch} ELSE ${parsed} END`;
}

/**
 * `timestampFromText`, with the common shape taken first without trimming or pattern matching,
 * which cost several times the cast itself. An ASCII text that starts with a digit and does not
 * end with a space is its own trimmed text (DuckDB's trim removes only space separators); if,
 * further, it has 16 characters or more, its first '-' is the fifth, and it has no '-' past the
 * tenth and no '+', it is no epoch (it has a '-' past its first character) and ends in no numeric
 * offset (that would put a sign past the tenth): the general rule gives its plain cast.
 */
export function fastTimestampFromText(text: string, nanos: boolean): string {
  const plainShape = `strlen(${text}) = length(${text}) AND ${text} >= '0' AND ${text} < ':' AND NOT suffix(${text}, ' ')
    AND length(${text}) >= 16 AND strpos(${text}, '-') = 5 AND strpos(${text}, '+') = 0 AND strpos(substr(${text}, 11), '-') = 0`;
  return `CASE WHEN ${plainShape} THEN TRY_CAST(${text} AS ${nanos ? 'TIMESTAMP_NS' : 'TIMESTAMP'}) ELSE ${timestampFromText(text, nanos)} END`;
}

function castTimestamp(text: string, type: DataType): string {
  const value = fastTimestampFromText(text, type.kind === 'timestamp' && type.unit === 'ns');
  // DuckDB rounds when casting to a coarser unit; a fraction beyond the column's precision is dropped instead.
  const truncateTo = type.kind === 'timestamp' ? ({ s: 'second', ms: 'millisecond', us: null, ns: null } as const)[type.unit] : null;
  return `TRY_CAST(${truncateTo ? `date_trunc('${truncateTo}', ${value})` : value} AS ${toDuckDBType(type)})`;
}

/**
 * A date, or the day of a timestamp text (`2024-05-01T10:00:00Z`). A bare number is no date: read as
 * a timestamp it would be epoch seconds (`20240501` → 1970-08-23), so it is invalid instead; nor is a
 * text with a short year (see `shortYear`).
 */
function castDate(text: string, type: DataType): string {
  const timestampDay = `TRY_CAST(${castTimestamp(text, { kind: 'timestamp', unit: 'us' })} AS DATE)`;
  return `CASE WHEN NOT ${shortYear(text)} THEN COALESCE(${tryCastTrimmed(text, type)}, CASE WHEN NOT regexp_full_match(trim(${text}), ${EPOCH_TEXT}) THEN ${timestampDay} END) END`;
}

/** The words ClickHouse reads as a Bool, in either case (SerializationBool's, and 1 and 0). */
export const CLICKHOUSE_TRUE_TEXTS = ['true', 't', 'yes', 'y', 'on', 'enable', 'enabled', '1'];
export const CLICKHOUSE_FALSE_TEXTS = ['false', 'f', 'no', 'n', 'off', 'disable', 'disabled', '0'];

/** A boolean from only `true` and `false` as written (`strict`), or from ClickHouse's words in any case. */
function castBooleanWords(text: string, words: 'strict' | 'clickhouse'): string {
  if (words === 'strict') return `CASE ${text} WHEN 'true' THEN true WHEN 'false' THEN false END`;
  const listed = (texts: string[]) => texts.map(quoteLiteral).join(', ');
  return `CASE WHEN lower(trim(${text})) IN (${listed(CLICKHOUSE_TRUE_TEXTS)}) THEN true WHEN lower(trim(${text})) IN (${listed(CLICKHOUSE_FALSE_TEXTS)}) THEN false END`;
}

/** A decimal text with its fraction cut to `scale` digits (`1.23456` → `1.2345` at scale 4), as ClickHouse reads one. */
function cutFraction(text: string, scale: number): string {
  return `regexp_replace(${text}, '^(\\s*[+-]?[0-9]*\\.[0-9]{${scale}})[0-9]+(\\s*)$', '\\1\\2')`;
}

/** Nested kinds are taken apart and their elements cast by the rules here (see `castNested`). */
const NESTED_KINDS = new Set<DataTypeKind>(['list', 'map', 'struct']);

const CASTS: Record<Exclude<DataTypeKind, 'list' | 'map' | 'struct'>, CastBuilder> = {
  boolean: tryCastTrimmed,
  int: tryCastTrimmed,
  // A number past the type's range is invalid rather than infinity (only `inf` itself is); a
  // half-precision float, stored in 32 bits, holds up to 65504. NaN is no number past it, though
  // DuckDB orders NaN above every number.
  float: (text, type) => {
    const value = tryCastTrimmed(text, type);
    const tooLarge = type.kind === 'float' && type.bits === 16 ? `(abs(${value}) > 65504 AND NOT isnan(${value}))` : `isinf(${value})`;
    return `CASE WHEN ${tooLarge} AND NOT contains(lower(${text}), 'inf') THEN NULL ELSE ${value} END`;
  },
  decimal: tryCastTrimmed,
  string: (text) => text,
  // DuckDB's BLOB text (`\xHH` escapes) when it reads as one, else the UTF-8 bytes of the text.
  binary: (text) => `COALESCE(TRY_CAST(${text} AS BLOB), encode(${text}))`,
  uuid: tryCastTrimmed,
  date: castDate,
  time: tryCastTrimmed,
  timestamp: castTimestamp,
  json: (text) => `CASE WHEN json_valid(${text}) THEN CAST(${text} AS JSON) END`,
  null: () => 'NULL',
};

/**
 * Choices a dialect makes about text that DuckDB's casts read differently from its clients.
 * Without them, the engine's own casts decide.
 */
export interface CoercionOptions {
  /**
   * Text with a fraction or an exponent (`123.45`, `1.5e1`) for an integer column: DuckDB's cast
   * rounds it (`round`), `truncate` drops the fraction, `refuse` makes it invalid (only digits are an integer).
   */
  integerFractions?: 'round' | 'truncate' | 'refuse';
  /**
   * Which texts are booleans: DuckDB's (`true`/`false`, `t`/`f`, `1`/`0`, `yes`/`no` … in any case,
   * the default); with `strict`, only `true` and `false` as written, as Rust's parsers read them;
   * with `clickhouse`, ClickHouse's words in any case (CLICKHOUSE_TRUE_TEXTS, CLICKHOUSE_FALSE_TEXTS).
   */
  booleans?: 'strict' | 'clickhouse';
  /** A decimal text with more fraction digits than its column's scale: DuckDB's cast rounds it (the default), `truncate` cuts them off. */
  decimalFractions?: 'truncate';
  /** Texts meaning NULL in columns that do not hold text (matched trimmed, regardless of case), e.g. `null` and the empty text. */
  nullTexts?: readonly string[];
  /**
   * What the text of a binary value is: DuckDB's BLOB text (`\xHH` escapes) or else the text's own
   * UTF-8 bytes (`text`, the default), a JSON array of byte values such as `[104, 105]` (`bytes`),
   * or standard base64 with its padding (`base64`, the form binary values are read back in as JSON).
   */
  binary?: 'text' | 'bytes' | 'base64';
  /**
   * Text of a fixed-length string column (ClickHouse's FixedString(N), SQL's CHAR(n)): `bytes`
   * measures its length in UTF-8 bytes and pads a shorter value with NUL bytes to the length, as
   * ClickHouse stores it; by default the length counts characters and a shorter value is kept as
   * it is. Either way a value longer than a declared length (VARCHAR(n) too) is invalid; binary
   * lengths always count bytes.
   */
  fixedStrings?: 'bytes';
  /** `ignore`: a string or binary value longer than its column's declared length is kept whole rather than invalid. */
  declaredLengths?: 'ignore';
  /**
   * The literal syntax nested values given as text may be written in besides JSON: DuckDB's (the
   * default) or ClickHouse's, as its text formats write them (see `castNested`).
   */
  nestedLiterals?: NestedLiterals;
  /**
   * How the members of a struct value given as a JSON object are matched to the struct's fields
   * (see `StructMembers`): by default by their exact names, a member that is no field dropped.
   */
  structMembers?: StructMembers;
  /** A map's entries are stored in the order of their keys (see `NestedOptions.sortedMaps`); by default as given. */
  sortedMaps?: boolean;
  /**
   * `clickhouse`: a date or time must lie in the range of ClickHouse's type (see `clickhouseRange`),
   * else it is invalid; by default DuckDB's own ranges (years 290,000 BC to AD) bound them.
   */
  datetimeRanges?: 'clickhouse';
}

/**
 * ClickHouse's range of a date or time type, as SQL literals: a Date counts 16-bit days from
 * 1970, a DateTime 32-bit unsigned seconds, a Date32 and a DateTime64 span the years 1900 to 2299.
 * (Printed back, a timestamp in seconds is a DateTime and a date not extended a Date: see CLICKHOUSE_NAMES.)
 */
function clickhouseRange(type: DataType): DatetimeRange | undefined {
  if (type.kind === 'date' && type.extended === true) return { from: "DATE '1900-01-01'", to: "DATE '2299-12-31'", shown: '1900-01-01 to 2299-12-31' };
  if (type.kind === 'date') return { from: "DATE '1970-01-01'", to: "DATE '2149-06-06'", shown: '1970-01-01 to 2149-06-06' };
  if (type.kind !== 'timestamp') return undefined;
  if (type.unit === 's') return { from: "TIMESTAMP '1970-01-01 00:00:00'", to: "TIMESTAMP '2106-02-07 06:28:15'", shown: '1970-01-01 00:00:00 to 2106-02-07 06:28:15' };
  const shown = '1900-01-01 00:00:00 to 2299-12-31 23:59:59';
  // Nanoseconds end in 2262, as DuckDB holds them: only the start bounds them (and a bound past 2262 would not convert).
  if (type.unit === 'ns') return { from: "TIMESTAMP_NS '1900-01-01 00:00:00'", shown };
  return { from: "TIMESTAMP '1900-01-01 00:00:00'", to: "TIMESTAMP '2299-12-31 23:59:59.999999'", shown };
}

interface DatetimeRange {
  /** SQL literals of the first and last values allowed; without `to`, the type's own end bounds it. */
  from: string;
  to?: string;
  /** The range as a message shows it. */
  shown: string;
}

/** The range a value of `type` must lie in under the options, if they bound it. */
function rangeOf(type: DataType, options: CoercionOptions): DatetimeRange | undefined {
  return options.datetimeRanges === 'clickhouse' ? clickhouseRange(type) : undefined;
}

/** A value cast, NULL when it lies outside `range`. */
function withinRange(value: string, range: DatetimeRange): string {
  return `CASE WHEN ${value} ${range.to === undefined ? `>= ${range.from}` : `BETWEEN ${range.from} AND ${range.to}`} THEN ${value} END`;
}

/** A string or binary value within its declared length (padded when the options say so), else NULL. */
export function withinLength(value: string, type: DataType, length: number, options: CoercionOptions): string {
  const inBytes = options.fixedStrings === 'bytes';
  const padded = type.kind === 'string' && type.fixed === true && inBytes ? `${value} || repeat(chr(0), ${length} - strlen(${value}))` : value;
  return `CASE WHEN ${sizeSql(value, type, inBytes)} <= ${length} THEN ${padded} END`;
}

const BYTE_ARRAY: DataType = { kind: 'list', element: { kind: 'int', bits: 8, signed: false }, elementNullable: false };

/** A JSON array of byte values as a BLOB; NULL unless every element is a byte. */
function castByteArray(text: string, castLeaf: CastBuilder): string {
  const bytes = castNested(text, BYTE_ARRAY, castLeaf);
  return `CASE WHEN ${bytes.intact(bytes.value)} THEN unhex(array_to_string(list_transform(${bytes.value}, b -> printf('%02x', b)), '')) END`;
}

/** Standard base64, padded to a multiple of four characters; DuckDB's from_base64 fails, rather than giving NULL, on anything else. */
const BASE64 = "'([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?'";

/** Base64 text as a BLOB; NULL when it is not base64. */
const castBase64 = (text: string): string => `CASE WHEN regexp_full_match(${text}, ${BASE64}) THEN from_base64(${text}) END`;

/** Where a value has no exponent, the digits before the point are the truncated integer, exactly. */
const PLAIN_FRACTION = "'[+-]?[0-9]*\\.[0-9]*'";

/**
 * An integer from text, dropping any fraction. Plain decimals are cut as text (exact at any size);
 * values with an exponent go through a 38-digit decimal with 18 fractional digits; anything else
 * must be digits (DuckDB's cast would also read `0x10`, `0b101` and `1_000`).
 */
function castTruncatedInteger(text: string, type: DataType): string {
  const trimmed = `trim(${text})`;
  const integerPart = `regexp_replace(${trimmed}, '\\.[0-9]*$', '')`;
  return `CASE WHEN regexp_full_match(${trimmed}, ${PLAIN_FRACTION}) AND regexp_matches(${trimmed}, '[0-9]')
      THEN ${tryCast(`CASE WHEN ${integerPart} IN ('', '+', '-') THEN '0' ELSE ${integerPart} END`, type)}
    WHEN regexp_matches(${trimmed}, '[eE]') THEN TRY_CAST(trunc(TRY_CAST(${trimmed} AS DECIMAL(38, 18))) AS ${toDuckDBType(type)})
    ELSE ${castIntegerOnly(trimmed, type)} END`;
}

/**
 * An integer from text that is only digits (with a sign, and spaces around): DuckDB's cast also
 * takes fractions (rounding them), exponents, `0x…`, `0b…` and `_` separators. A text that is the
 * cast's own printing of its value is such an integer, and that check costs about half the pattern's.
 */
function castIntegerOnly(text: string, type: DataType): string {
  const cast = tryCast(text, type);
  return `CASE WHEN CAST(${cast} AS VARCHAR) = ${text} THEN ${cast}
    WHEN regexp_full_match(trim(${text}), '[+-]?[0-9]+') THEN ${tryCast(`trim(${text})`, type)} END`;
}

/** Kinds whose columns hold text, where a text such as `null` is a value like any other. */
const TEXT_KINDS = new Set<DataTypeKind>(['string', 'binary', 'json']);

export interface CoercedColumn {
  /** SQL for the typed value (NULL when missing or invalid). */
  value: string;
  /** SQL for the error message of this column, NULL when the value is fine. */
  error: string;
  /**
   * SQL that is true exactly when `error` is not NULL, given SQL naming the already computed
   * `value`: a check that costs no second conversion (a value is NULL only when its text is
   * missing or does not convert, and a missing text is an error only where no value may be missing).
   */
  failed(value: string): string;
}

/** Kinds whose values pass unchanged when the input already has the column's exact DuckDB type. */
const PASSTHROUGH_KINDS = new Set<DataTypeKind>(['boolean', 'int', 'float', 'decimal', 'string', 'date']);

/**
 * Whether an input column already holding values of DuckDB type `inputType` (a Parquet column, say)
 * may be written to `column` as it is: its text would convert back to the same value, so the
 * round trip through text is skipped. Null texts are ignored: these types never print as one.
 */
export function passesTyped(column: Column, inputType: string, options: CoercionOptions = {}): boolean {
  // A declared length is not part of DuckDB's type: the value must still be measured.
  const sameType = inputType === toDuckDBType(column.type) && declaredLength(column.type) === undefined;
  const kindPasses = PASSTHROUGH_KINDS.has(column.type.kind) || (column.type.kind === 'timestamp' && column.type.unit === 'us');
  const nullTextsUnprintable = (options.nullTexts ?? []).every((text) => ['', 'null'].includes(text.trim().toLowerCase()));
  return sameType && kindPasses && nullTextsUnprintable;
}

export type TypeDescriber = (field: FieldType) => string;

/** The declared length a value of `type` is held to, if any. */
function lengthChecked(type: DataType, options: CoercionOptions): number | undefined {
  return options.declaredLengths === 'ignore' ? undefined : declaredLength(type);
}

/**
 * SQL for the column's input text with the options' null texts (`null`, `''`, …) read as NULL; the
 * input itself where none apply (text columns keep them as values, typed inputs have none).
 */
function withoutNullTexts(column: Column, input: string, options: CoercionOptions, typed: boolean): string {
  const nullTexts = TEXT_KINDS.has(column.type.kind) || typed ? [] : (options.nullTexts ?? []);
  if (nullTexts.length === 0) return input;
  return `CASE WHEN lower(trim(${input})) NOT IN (${nullTexts.map((nullText) => quoteLiteral(nullText.toLowerCase())).join(', ')}) THEN ${input} END`;
}

/**
 * `coerceColumn` for a query that computes the column's text once, in a projection of its own
 * below the coercion: `text` is that projection (`… AS name`), and the coercion names only `name`.
 * The coercion names its text a dozen times, and DuckDB's search for common subexpressions takes
 * time growing faster than the statement: with the texts inline, preparing a write of 400 columns
 * took 3.9 s, with them projected 1.2 s.
 */
export function coerceProjectedText(column: Column, input: string, name: string, describeType: TypeDescriber, options: CoercionOptions = {}, typed = false): CoercedColumn & { text: string } {
  const text = `${withoutNullTexts(column, input, options, typed)} AS ${name}`;
  return { text, ...coerceColumn(column, name, describeType, { ...options, nullTexts: [] }, typed) };
}

/**
 * `input` is SQL for the column's input text (NULL when the row has no value for it), or with
 * `typed`, SQL for a value already of the column's DuckDB type (see `passesTyped`).
 */
export function coerceColumn(column: Column, input: string, describeType: TypeDescriber, options: CoercionOptions = {}, typed = false): CoercedColumn {
  const text = withoutNullTexts(column, input, options, typed);
  const castLeaf = (leafText: string, type: DataType): string => {
    if (options.integerFractions === 'truncate' && type.kind === 'int') return castTruncatedInteger(leafText, type);
    if (options.integerFractions === 'refuse' && type.kind === 'int') return castIntegerOnly(leafText, type);
    if (options.binary === 'bytes' && type.kind === 'binary') return castByteArray(leafText, castLeaf);
    if (options.booleans && type.kind === 'boolean') return castBooleanWords(leafText, options.booleans);
    if (options.decimalFractions === 'truncate' && type.kind === 'decimal') return tryCastTrimmed(cutFraction(leafText, type.scale), type);
    const cast = options.binary === 'base64' && type.kind === 'binary' ? castBase64(leafText) : CASTS[type.kind as keyof typeof CASTS](leafText, type);
    const length = lengthChecked(type, options);
    const range = rangeOf(type, options);
    if (range !== undefined) return withinRange(cast, range);
    return length === undefined ? cast : withinLength(cast, type, length, options);
  };
  const nested = !typed && NESTED_KINDS.has(column.type.kind)
    ? castNested(text, column.type, castLeaf, { ...options.structMembers, ...(options.nestedLiterals && { literals: options.nestedLiterals }), ...(options.sortedMaps && { sortedMaps: true }) })
    : null;
  // A value already typed is held to its range as a text's is (a Parquet timestamp past it is invalid).
  const typedRange = typed ? rangeOf(column.type, options) : undefined;
  const cast = typed ? (typedRange ? withinRange(text, typedRange) : text) : nested ? nested.value : castLeaf(text, column.type);
  const defaultSql = defaultSqlOf(column);
  const declared = typed || nested ? undefined : lengthChecked(column.type, options);
  // A DEFAULT is stored as a given value is: a fixed-length string padded to its length.
  const defaultValue = defaultSql !== undefined ? `TRY_CAST((${defaultSql}) AS ${toComputeType(column.type)})` : null;
  const fallback = defaultValue !== null && declared !== undefined ? withinLength(defaultValue, column.type, declared, options) : defaultValue;
  const value = fallback ? `COALESCE(${cast}, CASE WHEN ${text} IS NULL THEN ${fallback} END)` : cast;
  const label = `column "${column.name}"`;
  const typeName = `${describeType({ type: column.type, nullable: column.nullable })}${options.binary === 'base64' && column.type.kind === 'binary' ? ' (base64)' : ''}`;
  const notValid = `${quoteLiteral(`${label}: value "`)} || left(${text}, 200) || ${quoteLiteral(`" is not a valid ${typeName}`)}`;
  // A struct member that is no field is named: the value may be right but for it (a misspelt name).
  const invalid = nested?.unknownMember
    ? `CASE WHEN ${nested.unknownMember} IS NOT NULL THEN ${notValid} || ': its member "' || ${nested.unknownMember} || ${quoteLiteral('" is no field of the struct')} ELSE ${notValid} END`
    : notValid;
  const lost = (computed: string) => (nested ? ` OR NOT ${nested.intact(computed)}` : '');
  const branches = [`WHEN ${text} IS NOT NULL AND (${cast} IS NULL${lost(cast)}) THEN ${invalid}`];
  if (declared !== undefined) {
    // ClickHouse: "Too large value for FixedString(N)"; the message says by how much.
    const unsized = CASTS[column.type.kind as 'string' | 'binary'](text, column.type);
    const inBytes = options.fixedStrings === 'bytes';
    const unit = lengthUnit(column.type, inBytes);
    const tooLong = `${quoteLiteral(`${label}: value "`)} || left(${text}, 200) || '" is ' || ${sizeSql(unsized, column.type, inBytes)} || ${quoteLiteral(` ${unit}, longer than the ${declared} of ${typeName}`)}`;
    branches.unshift(`WHEN ${text} IS NOT NULL AND ${unsized} IS NOT NULL AND ${sizeSql(unsized, column.type, inBytes)} > ${declared} THEN ${tooLong}`);
  }
  const range = nested ? undefined : rangeOf(column.type, options);
  if (range !== undefined) {
    const unbounded = typed ? text : CASTS[column.type.kind as 'date' | 'timestamp'](text, column.type);
    const outside = `${quoteLiteral(`${label}: value "`)} || left(${text}, 200) || ${quoteLiteral(`" is outside the range of ${typeName} (${range.shown})`)}`;
    branches.unshift(`WHEN ${text} IS NOT NULL AND ${unbounded} IS NOT NULL AND ${cast} IS NULL THEN ${outside}`);
  }
  const mustHaveValue = !column.nullable && fallback === null;
  if (mustHaveValue) {
    branches.push(`WHEN ${text} IS NULL THEN ${quoteLiteral(`${label}: value is missing and the column is not nullable`)}`);
  }
  // Every cast gives NULL for a NULL text; with a fallback, a given text's value is its cast.
  // A nested value that lost an element is invalid too.
  const failed = (computed: string) => `(${mustHaveValue ? `${computed} IS NULL` : `(${computed} IS NULL AND ${text} IS NOT NULL)`}${lost(computed)})`;
  return { value, error: `CASE ${branches.join(' ')} END`, failed };
}
