import { holdsKind, type DataType, type DataTypeOf } from '../types/data-type.ts';
import { toComputeType, toDuckDBType } from '../types/duckdb-types.ts';
import { quoteIdentifier, quoteLiteral } from '../../storage/duckdb/sql.ts';

/**
 * Lists, maps and structs from text: JSON, or DuckDB's own literal syntax (`[a, b]`, `{k=v}`,
 * `{f: v}`, as DuckDB prints nested values and ClickHouse-style clients send arrays), and where a
 * dialect asks for it ClickHouse's (`['a\'b']`, `{'k':1}`, as its text formats write them).
 *
 * DuckDB's casts of nested values keep what converts and make NULL of an element that does not,
 * so `[1, "x"]` would silently become `[1, NULL]`. Here each element is taken apart and converted
 * by the same rule as a column of its type (`castLeaf`), and `intact` tells whether every element
 * that was given is still there and every element that may not be null is given: a value with one
 * bad element is invalid as a whole, like any other value.
 */
export type LeafCast = (text: string, type: DataType) => string;

export interface NestedCast {
  /** SQL for the typed value, NULL when the text is not a value of the type's shape. */
  value: string;
  /** SQL that is false when `value` (SQL for the computed value) lost or lacks an element. */
  intact(value: string): string;
  /**
   * With `unknownMembers: 'refuse'`, SQL naming a member of a struct value (at any depth) that is
   * no field of its struct, NULL when there is none: the reason such a value is not intact.
   */
  unknownMember?: string;
}

/**
 * The literal syntax read besides JSON: DuckDB's own, or ClickHouse's (`['a','b']`, `{'k':1}`,
 * strings in single quotes with backslash escapes, as ClickHouse's text formats write nested
 * values), read as the JSON it converts to, else as DuckDB's.
 */
export type NestedLiterals = 'duckdb' | 'clickhouse';

/**
 * How the members of a struct value written as a JSON object meet the struct's fields. A field
 * takes the member of its own name; with `fieldNames: 'caseInsensitive'`, else the first member
 * whose name differs from it only in case (DuckDB refuses a struct whose fields differ only in
 * case, so no member can be taken by two fields). A member that no field takes is dropped, or with
 * `unknownMembers: 'refuse'` makes the value invalid unless it holds null (as a Parquet or Arrow
 * struct of more fields does, where they are missing), which loses nothing. (DuckDB's literal
 * syntax is read by DuckDB's own cast, which matches names exactly and refuses a member that is no
 * field.)
 */
export interface StructMembers {
  fieldNames?: 'exact' | 'caseInsensitive';
  unknownMembers?: 'ignore' | 'refuse';
}

export interface NestedOptions extends StructMembers {
  literals?: NestedLiterals;
  /**
   * A map's entries are kept in the order of their keys (as Feldera's maps, which are sorted maps,
   * keep them), so that two maps of the same entries are one value whatever order they came in;
   * by default in the order given.
   */
  sortedMaps?: boolean;
}

export function castNested(text: string, type: DataType, castLeaf: LeafCast, options: NestedOptions = {}): NestedCast {
  const jsonSource = options.literals === 'clickhouse' ? `CASE WHEN json_valid(${text}) THEN ${text} ELSE ${clickHouseLiteralAsJson(text)} END` : text;
  const isJson = `json_valid(${jsonSource})`;
  const json = new NestedSql(JSON_SYNTAX, castLeaf, options);
  const literal = new NestedSql(LITERAL_SYNTAX, castLeaf, options);
  const jsonText = `CAST(${jsonSource} AS JSON)`;
  const refusesMembers = options.unknownMembers === 'refuse' && holdsKind(type, 'struct');
  return {
    value: `CASE WHEN ${isJson} THEN ${json.convert(jsonText, type, 0)} ELSE ${literal.convert(text, type, 0)} END`,
    // A top-level NULL is the column's business (its nullability, its default), not the value's.
    intact: (value) => bound(value, 'nested_value', (named) => `CASE WHEN ${isJson} THEN ${json.intact(jsonText, named, type, true, 0)} ELSE ${literal.intact(text, named, type, true, 0)} END`),
    ...(refusesMembers && { unknownMember: `CASE WHEN ${isJson} THEN ${json.unknownMember(jsonText, type, 0)} END` }),
  };
}

/**
 * SQL for `body` with `name` standing for the value of `expression`, computed once. The SQL of a
 * nested value names each part several times (whether it is given, of which shape, each field of
 * it): pasted in whole at every level, a part's SQL would grow as the product of those counts
 * over the levels (a ROW of 10 ROWs of 10 INTs took 13 MB of SQL, and the server's memory with it).
 * A struct's fields are named so, once per level, which keeps the SQL growing with the type (each
 * field's part is then small); each name is a lambda, whose binding cost doubles with every level
 * it nests in, so no more are made than that (see MAX_TYPE_NESTING). A plain name is used as it is.
 */
function bound(expression: string, name: string, body: (named: string) => string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(expression)) return body(expression);
  return `list_transform([${expression}], ${name} -> ${body(name)})[1]`;
}

/**
 * A token of a ClickHouse literal: a quoted string, a bare word (a number, NULL, true, nan …), a
 * bracket, brace, parenthesis, comma or colon, or spaces.
 */
const CLICKHOUSE_TOKEN = String.raw`'(?:[^'\\]|\\.|'')*'|[^'\s\[\]{}(),:]+|[\[\]{}(),:]|\s+`;
const CLICKHOUSE_BARE_WORD = String.raw`[^'\s\[\]{}(),:]+`;

/** ClickHouse's escapes that stand for another character; any other escaped character is itself (`\'`, `\\`). */
const CLICKHOUSE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, b: 8, f: 12, a: 7, v: 11 };

/**
 * SQL for the JSON text a ClickHouse literal stands for, token by token: a quoted string becomes a
 * JSON string, NULL null, any other bare word a JSON string (which the leaf's own cast reads, so
 * that a number keeps every digit). NULL when the text is not made of such tokens (a string left
 * open, say). Tuples keep their parentheses, which are no JSON: they are read as DuckDB's literals.
 */
function clickHouseLiteralAsJson(text: string): string {
  const escapes = Object.entries(CLICKHOUSE_ESCAPES).map(([escape, code]) => `WHEN ${quoteLiteral(escape)} THEN chr(${code})`).join(' ');
  // A quote inside is doubled (`'it''s'`, as SQL writes it) or escaped (`'it\\'s'`).
  const pieces = `regexp_extract_all(ch_token[2:-2], ${quoteLiteral(String.raw`(?s)\\.|''|[^\\']+`)})`;
  const unescaped = `array_to_string(list_transform(${pieces}, ch_piece -> CASE WHEN ch_piece = '''''' THEN '''' WHEN ch_piece[1] <> '\\' THEN ch_piece ELSE CASE ch_piece[2] ${escapes} ELSE ch_piece[2] END END), '')`;
  const asJson = `CASE WHEN ch_token[1] = '''' THEN CAST(to_json(${unescaped}) AS VARCHAR)
    WHEN ch_token = 'NULL' THEN 'null'
    WHEN regexp_full_match(ch_token, ${quoteLiteral(CLICKHOUSE_BARE_WORD)}) THEN CAST(to_json(ch_token) AS VARCHAR)
    ELSE ch_token END`;
  const tokens = `regexp_extract_all(${text}, ${quoteLiteral(`(?s)${CLICKHOUSE_TOKEN}`)})`;
  return `CASE WHEN regexp_full_match(${text}, ${quoteLiteral(`(?s)(?:${CLICKHOUSE_TOKEN})*`)}) THEN array_to_string(list_transform(${tokens}, ch_token -> ${asJson}), '') END`;
}

/** How one syntax is taken apart: SQL over a part of the text, itself SQL of the syntax's type. */
interface Syntax {
  /** Whether a part is given (JSON's `null` is not). */
  given(part: string): string;
  /** A list's elements as a list of parts, NULL when the part is no list. */
  elements(part: string): string;
  /** A struct's fields as a struct of parts, NULL when the part is no struct. */
  fields(part: string, names: string[]): string;
  /** The part of a struct field, given `fields`; with `caseInsensitive`, else of a member named like it but for case. */
  field(fields: string, name: string, caseInsensitive: boolean): string;
  /**
   * Where the syntax lets a member be no field (JSON's objects), a struct part's member names as a
   * list, and the part of the member named by SQL text; undefined where it does not (DuckDB's cast
   * refuses such a member itself).
   */
  members?: { names(part: string): string; member(part: string, name: string): string };
  /** A map's keys as a list of texts, and its values as a list of parts, in the same order; NULL when the part is no map. */
  keys(part: string): string;
  values(part: string): string;
  /** A leaf part as the text a column would hold, or for a JSON column as JSON. */
  leaf(part: string, type: DataType): string;
}

/** The member of a JSON object named by SQL text, looked up with a JSON pointer, which quotes any name (`~` and `/` escaped). */
const jsonMember = (object: string, name: string): string => `(${object} -> ('/' || replace(replace(${name}, '~', '~0'), '/', '~1')))`;

/** JSON parts, of DuckDB's JSON type. */
const JSON_SYNTAX: Syntax = {
  given: (part) => `(${part} IS NOT NULL AND json_type(${part}) <> 'NULL')`,
  elements: (part) => `CASE WHEN json_type(${part}) = 'ARRAY' THEN CAST(${part} AS JSON[]) END`,
  // Each field is looked up with a JSON pointer, which quotes any name (`~` and `/` escaped). The
  // exact member is SQL's NULL only when absent (a member given as null is JSON's null), so the
  // member named but for case is looked for only then.
  // A struct is an object of its fields, or an array of one value per field, in order (how
  // ClickHouse writes an unnamed Tuple, and reads any).
  fields: (part, names) => `CASE json_type(${part}) WHEN 'OBJECT' THEN ${part}
    WHEN 'ARRAY' THEN CASE WHEN json_array_length(${part}) = ${names.length} THEN json_object(${names.map((name, index) => `${quoteLiteral(name)}, (${part}) -> ${index}`).join(', ')}) END END`,
  field: (object, name, caseInsensitive) => {
    const exact = jsonMember(object, quoteLiteral(name));
    if (!caseInsensitive) return exact;
    const member = `list_filter(json_keys(${object}), k -> lower(k) = ${quoteLiteral(name.toLowerCase())})[1]`;
    return `COALESCE(${exact}, ${jsonMember(object, member)})`;
  },
  members: { names: (part) => `json_keys(${part})`, member: jsonMember },
  keys: (part) => `CASE WHEN json_type(${part}) = 'OBJECT' THEN json_keys(${part}) END`,
  values: (part) => `CASE WHEN json_type(${part}) = 'OBJECT' THEN map_values(CAST(${part} AS MAP(VARCHAR, JSON))) END`,
  leaf: (part, type) => (type.kind === 'json' ? part : `(${part} ->> '$')`),
};

/** Texts in DuckDB's literal syntax, which DuckDB splits into the texts of their elements. */
const LITERAL_SYNTAX: Syntax = {
  given: (part) => `(${part} IS NOT NULL)`,
  elements: (part) => `TRY_CAST(${part} AS VARCHAR[])`,
  fields: (part, names) => `TRY_CAST(${part} AS STRUCT(${names.map((name) => `${quoteIdentifier(name)} VARCHAR`).join(', ')}))`,
  field: (struct, name) => `struct_extract(${struct}, ${quoteLiteral(name)})`,
  keys: (part) => `map_keys(TRY_CAST(${part} AS MAP(VARCHAR, VARCHAR)))`,
  values: (part) => `map_values(TRY_CAST(${part} AS MAP(VARCHAR, VARCHAR)))`,
  leaf: (part) => part,
};

class NestedSql {
  private readonly caseInsensitive: boolean;
  private readonly refuseUnknown: boolean;
  private readonly sortedMaps: boolean;

  constructor(
    private readonly syntax: Syntax,
    private readonly castLeaf: LeafCast,
    options: NestedOptions = {},
  ) {
    this.caseInsensitive = options.fieldNames === 'caseInsensitive';
    this.refuseUnknown = options.unknownMembers === 'refuse';
    this.sortedMaps = options.sortedMaps === true;
  }

  /** A map's keys converted to the key type, in the order given (texts in either syntax). */
  private mapKeys(part: string, type: DataTypeOf<'map'>, depth: number): string {
    const keyText = new NestedSql(LITERAL_SYNTAX, this.castLeaf);
    return `list_transform(${this.syntax.keys(part)}, x${depth} -> ${keyText.convert(`x${depth}`, type.key, depth + 1)})`;
  }

  /**
   * SQL for the list of the members of struct `part` that are no field of `type` and hold a value
   * (see `StructMembers`); undefined where the syntax has none.
   */
  private unknownMembers(part: string, type: DataTypeOf<'struct'>, depth: number): string | undefined {
    const { members } = this.syntax;
    if (!members) return undefined;
    const k = `k${depth}`;
    const fold = (name: string) => (this.caseInsensitive ? name.toLowerCase() : name);
    const names = `[${type.fields.map((field) => quoteLiteral(fold(field.name))).join(', ')}]::VARCHAR[]`;
    const unknown = `list_filter(${members.names(part)}, ${k} -> NOT list_contains(${names}, ${this.caseInsensitive ? `lower(${k})` : k}))`;
    return `list_filter(${unknown}, ${k} -> ${this.syntax.given(members.member(part, k))})`;
  }

  /** SQL naming the first member of a struct within `part` (at any depth) that is no field of its struct, else NULL. */
  unknownMember(part: string, type: DataType, depth: number): string {
    if (!holdsKind(type, 'struct')) return 'NULL';
    const x = `x${depth}`;
    const firstOf = (list: string, element: DataType) => `list_filter(list_transform(${list}, ${x} -> ${this.unknownMember(x, element, depth + 1)}), ${x} -> ${x} IS NOT NULL)[1]`;
    switch (type.kind) {
      case 'list':
        return firstOf(this.syntax.elements(part), type.element);
      case 'map':
        return firstOf(this.syntax.values(part), type.value);
      case 'struct':
        return bound(this.syntax.fields(part, type.fields.map((field) => field.name)), `nested_s${depth}`, (fields) => {
          const own = this.unknownMembers(fields, type, depth);
          const within = type.fields.map((field) => this.unknownMember(this.syntax.field(fields, field.name, this.caseInsensitive), field.type, depth + 1));
          return `COALESCE(${[...(own ? [`${own}[1]`] : []), ...within].join(', ')})`;
        });
      default:
        return 'NULL';
    }
  }

  /** SQL converting `part` to `type`; `depth` names the lambda variables of each level apart. */
  convert(part: string, type: DataType, depth: number): string {
    const x = `x${depth}`;
    switch (type.kind) {
      case 'list': {
        const list = `list_transform(${this.syntax.elements(part)}, ${x} -> ${this.convert(x, type.element, depth + 1)})`;
        // A fixed-size list of another length is no value of the type: the cast to it gives NULL. The
        // value stays a list while it is computed (see toComputeType).
        return type.size === undefined ? list : `TRY_CAST(TRY_CAST(${list} AS ${toDuckDBType(type)}) AS ${toComputeType(type)})`;
      }
      case 'struct':
        return bound(this.syntax.fields(part, type.fields.map((field) => field.name)), `nested_s${depth}`, (fields) => {
          const packed = type.fields.map((field) => `${quoteIdentifier(field.name)} := ${this.convert(this.syntax.field(fields, field.name, this.caseInsensitive), field.type, depth + 1)}`);
          return `CASE WHEN ${fields} IS NOT NULL THEN struct_pack(${packed.join(', ')}) END`;
        });
      case 'map': {
        // DuckDB's map() fails the whole query on a NULL or repeated key, so keys are checked first:
        // a key that does not convert, or two alike, make the map invalid.
        const values = `list_transform(${this.syntax.values(part)}, ${x} -> ${this.convert(x, type.value, depth + 1)})`;
        const checked = (keys: string, map: string) => `CASE WHEN len(list_distinct(${keys})) = len(${keys}) THEN ${map} END`;
        if (!this.sortedMaps) return checked(this.mapKeys(part, type, depth), `map(${this.mapKeys(part, type, depth)}, ${values})`);
        // Sorted, the entries are ordered by key alone: keys are distinct.
        return bound(this.mapKeys(part, type, depth), `nested_k${depth}`, (keys) => checked(keys, `map_from_entries(list_sort(list_zip(${keys}, ${values})))`));
      }
      default:
        return this.castLeaf(this.syntax.leaf(part, type), type);
    }
  }

  /** SQL that is true when `value`, converted from `part`, kept every element given. */
  intact(part: string, value: string, type: DataType, nullable: boolean, depth: number): string {
    const [x, i] = [`x${depth}`, `i${depth}`];
    const every = (list: string, check: string) => `COALESCE(list_bool_and(list_transform(${list}, (${x}, ${i}) -> ${check})), true)`;
    let parts: string;
    switch (type.kind) {
      case 'list':
        parts = every(this.syntax.elements(part), this.intact(x, `${value}[${i}]`, type.element, type.elementNullable, depth + 1));
        break;
      case 'struct':
        parts = bound(this.syntax.fields(part, type.fields.map((field) => field.name)), `nested_s${depth}`, (fields) => {
          const unknown = this.refuseUnknown ? this.unknownMembers(fields, type, depth) : undefined;
          return [
            ...(unknown ? [`len(${unknown}) = 0`] : []),
            ...type.fields.map((field) => this.intact(this.syntax.field(fields, field.name, this.caseInsensitive), `struct_extract(${value}, ${quoteLiteral(field.name)})`, field.type, field.nullable, depth + 1)),
          ].join(' AND ');
        });
        break;
      case 'map':
        if (this.sortedMaps) {
          // The map's i-th value is that of its i-th key in order: the given values are taken in that order too.
          const order = bound(this.mapKeys(part, type, depth), `nested_k${depth}`, (keys) => `list_transform(list_sort(list_zip(${keys}, range(1, len(${keys}) + 1))), e${depth} -> e${depth}[2])`);
          parts = every(order, this.intact(`${this.syntax.values(part)}[${x}]`, `map_values(${value})[${i}]`, type.value, type.valueNullable, depth + 1));
        } else {
          parts = every(this.syntax.values(part), this.intact(x, `map_values(${value})[${i}]`, type.value, type.valueNullable, depth + 1));
        }
        break;
      default:
        parts = 'true';
    }
    return `(CASE WHEN NOT ${this.syntax.given(part)} THEN ${nullable} ELSE ${value} IS NOT NULL AND ${parts} END)`;
  }
}
