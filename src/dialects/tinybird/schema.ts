import type { Column } from '../../core/catalog/model.ts';
import type { CoercionOptions } from '../../core/ingest/coercion.ts';
import { SluiceError } from '../../core/errors.ts';
import { printClickHouseType, readClickHouseType, TypeNameError, type DataType, type FieldType } from '../../core/types/index.ts';

/**
 * How ClickHouse reads values: a FixedString(N) holds N bytes, a shorter value padded with NUL bytes;
 * an integer column takes only digits (`27.5`, `1e2` and `0x1F` are invalid, not rounded or read);
 * an Array or Map given as text may be a ClickHouse literal (`['it\'s']`, `{'a':1}`), as FORMAT CSV writes it;
 * a Tuple's JSON object may not have a key that is none of its elements' names (ClickHouse's
 * input_format_json_ignore_unknown_keys_in_named_tuple is off), rather than lose its value; a Bool
 * takes ClickHouse's words (`on`, `off`, `enable` … in any case), and a Decimal's digits past its
 * scale are cut, not rounded (`1.23456` is 1.2345 in a Decimal(18, 4)); a date or time outside its
 * ClickHouse type's range (a Date past 2149-06-06, a DateTime before 1970) is invalid, not stored.
 */
export const TINYBIRD_COERCION: CoercionOptions = {
  fixedStrings: 'bytes', integerFractions: 'refuse', nestedLiterals: 'clickhouse', structMembers: { unknownMembers: 'refuse' },
  booleans: 'clickhouse', decimalFractions: 'truncate', datetimeRanges: 'clickhouse',
};

/**
 * Tinybird's schema syntax: `` `name` Type `json:$.path` DEFAULT expr CODEC(…), … ``, comma
 * separated, backticks optional. Types are ClickHouse names; DEFAULT takes an expression up to the
 * next comma outside parentheses and quotes.
 */
export function parseSchema(text: string): Column[] {
  const columns: Column[] = [];
  let position = 0;
  const fail = (why: string): never => {
    throw new SluiceError('INVALID_SCHEMA', `Invalid schema: ${why}`, { schema: text });
  };
  const skipSpace = () => {
    while (position < text.length && /\s/.test(text[position]!)) position += 1;
  };
  while (true) {
    skipSpace();
    if (position >= text.length) break;
    let name: string;
    if (text[position] === '`') {
      const end = text.indexOf('`', position + 1);
      if (end < 0) fail('unclosed ` in a column name');
      name = text.slice(position + 1, end);
      position = end + 1;
    } else {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(position));
      if (!match) fail(`expected a column name at "${text.slice(position, position + 20)}"`);
      name = match![0];
      position += name.length;
    }
    skipSpace();
    let field;
    try {
      const read = readClickHouseType(text, position);
      field = read.field;
      position = read.end;
    } catch (error) {
      if (error instanceof TypeNameError) fail(`column "${name}": ${error.message}`);
      throw error;
    }
    const refused = refusedByClickHouse(field!);
    if (refused !== undefined) fail(`column "${name}": ${refused}`);
    const column: Column = { name, type: field!.type, nullable: field!.nullable };
    skipSpace();
    const jsonMatch = /^`json:([^`]*)`/.exec(text.slice(position));
    if (jsonMatch) {
      column.jsonPath = jsonMatch[1]!.trim();
      position += jsonMatch[0].length;
      skipSpace();
    }
    if (/^DEFAULT\b/i.test(text.slice(position))) {
      position += 'DEFAULT'.length;
      const start = position;
      position = endOfExpression(text, position, true);
      column.defaultExpression = text.slice(start, position).trim();
      if (column.defaultExpression === '') fail(`column "${name}": DEFAULT needs a value`);
      skipSpace();
    }
    const codec = /^CODEC\s*\(/i.exec(text.slice(position));
    if (codec) position = endOfExpression(text, position);
    skipSpace();
    columns.push(column);
    if (position >= text.length) break;
    if (text[position] !== ',') fail(`expected "," after column "${name}", found "${text.slice(position, position + 20)}"`);
    position += 1;
  }
  if (columns.length === 0) fail('no columns');
  return columns;
}

const COMPOSITE_NAMES: Partial<Record<DataType['kind'], string>> = { list: 'an Array', map: 'a Map', struct: 'a Tuple' };

/**
 * Why ClickHouse refuses a column's type that Sluice's type names read (for other uses, such as
 * reading back what it prints of other dialects' nullable lists): an Array, Map or Tuple inside
 * Nullable, or as a Map's key.
 */
function refusedByClickHouse(field: FieldType): string | undefined {
  const pending: FieldType[] = [field];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    const { type, nullable } = current;
    const composite = COMPOSITE_NAMES[type.kind];
    if (nullable && composite) return `${composite} cannot be inside Nullable`;
    if (type.kind === 'list') pending.push({ type: type.element, nullable: type.elementNullable });
    else if (type.kind === 'struct') pending.push(...type.fields);
    else if (type.kind === 'map') {
      const key = COMPOSITE_NAMES[type.key.kind];
      if (key) return `a Map key cannot be ${key}`;
      pending.push({ type: type.value, nullable: type.valueNullable });
    }
  }
  return undefined;
}

/**
 * The position of the first comma outside brackets and quotes (or the end); with `untilCodec`, of a
 * `CODEC(` there too, which follows a DEFAULT's expression.
 */
function endOfExpression(text: string, start: number, untilCodec = false): number {
  let depth = 0;
  let quote: string | null = null;
  for (let position = start; position < text.length; position += 1) {
    const char = text[position]!;
    if (quote) {
      if (char === '\\') position += 1;
      else if (char === quote) quote = null;
    } else if (char === "'" || char === '"' || char === '`') quote = char;
    else if ('([{'.includes(char)) depth += 1;
    else if (')]}'.includes(char)) depth -= 1;
    else if (depth === 0 && char === ',') return position;
    else if (depth === 0 && untilCodec && /^CODEC\s*\(/i.test(text.slice(position)) && !/\w/.test(text[position - 1] ?? '')) return position;
  }
  return text.length;
}

/** A column in the schema syntax (what `sql_schema` and analyze show). */
export function printSchemaColumn(column: Column): string {
  const parts = [quoteName(column.name), printClickHouseType({ type: column.type, nullable: column.nullable })];
  if (column.jsonPath) parts.push(`\`json:${column.jsonPath}\``);
  if (column.defaultExpression !== undefined) parts.push(`DEFAULT ${column.defaultExpression}`);
  return parts.join(' ');
}

export function printSchema(columns: Column[]): string {
  return columns.map(printSchemaColumn).join(', ');
}

function quoteName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name}\``;
}
