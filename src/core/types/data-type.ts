/**
 * Sluice's one internal type system. Every dialect's type names are parsed into a DataType and
 * printed back from one; the storage engine maps a DataType to its own column type. Nullability is
 * a property of a column, not of a type, except inside containers (list elements, map values,
 * struct fields), where `nullable` says whether an element may be null.
 */
export type DataType =
  | { kind: 'boolean' }
  | { kind: 'int'; bits: 8 | 16 | 32 | 64 | 128 | 256; signed: boolean }
  | { kind: 'float'; bits: 16 | 32 | 64 }
  | { kind: 'decimal'; precision: number; scale: number }
  // `large`: Arrow's large_utf8 (64-bit offsets) must list back as `largeutf8` in the Catalyzed dialect.
  | { kind: 'string'; length?: number; fixed?: boolean; lowCardinality?: boolean; large?: boolean }
  | { kind: 'binary'; length?: number; fixed?: boolean; large?: boolean }
  | { kind: 'uuid' }
  // `extended`: ClickHouse tells `Date` (1970–2149) from `Date32` (1900–2299); only `Date32` sets it.
  | { kind: 'date'; unit?: 'day' | 'ms'; extended?: boolean }
  | { kind: 'time' }
  | { kind: 'timestamp'; unit: TimeUnit; timezone?: string }
  | { kind: 'list'; element: DataType; elementNullable: boolean; size?: number }
  | { kind: 'map'; key: DataType; value: DataType; valueNullable: boolean }
  | { kind: 'struct'; fields: StructField[] }
  | { kind: 'json' }
  | { kind: 'null' };

export type TimeUnit = 's' | 'ms' | 'us' | 'ns';

/** Fractional-second digits of each unit, as in `DateTime64(3)` or `TIMESTAMP(3)`. */
export const TIME_UNIT_DIGITS: Record<TimeUnit, number> = { s: 0, ms: 3, us: 6, ns: 9 };

/**
 * The unit for a precision in fractional-second digits (0–9). Precisions between units round up to
 * the next unit, so no written digit is lost; DuckDB treats `TIMESTAMP(p)` the same way.
 */
export function getTimeUnitForDigits(digits: number): TimeUnit | undefined {
  if (!Number.isInteger(digits) || digits < 0 || digits > 9) return undefined;
  return digits === 0 ? 's' : digits <= 3 ? 'ms' : digits <= 6 ? 'us' : 'ns';
}

/**
 * The deepest nesting of lists, maps and structs a type may have (`Array(Array(Int32))` nests 2).
 * Real schemas stay below it. A value read from text is taken apart level by level in lambdas
 * (see nested-coercion.ts), and DuckDB's cost of binding nested lambdas doubles with each level:
 * converting one JSON value of a struct 8 deep (a list at each level) takes under a second, 10 deep
 * two, 12 deep ten, and 32 deep (the bound before) would never end, holding the server's shutdown.
 */
export const MAX_TYPE_NESTING = 8;

/** How many lists, maps and structs nest in `type` at its deepest; walked without recursion, so any depth is measured. */
export function getTypeNesting(type: DataType): number {
  let deepest = 0;
  const pending: Array<[DataType, number]> = [[type, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    deepest = Math.max(deepest, depth);
    if (current.kind === 'list') pending.push([current.element, depth + 1]);
    else if (current.kind === 'map') pending.push([current.key, depth + 1], [current.value, depth + 1]);
    else if (current.kind === 'struct') for (const field of current.fields) pending.push([field.type, depth + 1]);
  }
  return deepest;
}

/** Whether `type` is of `kind` or holds a value of it (in a list's elements, a map's keys or values, a struct's fields). */
export function holdsKind(type: DataType, kind: DataTypeKind): boolean {
  return holdsType(type, (current) => current.kind === kind);
}

/** Whether `type`, or a type it holds (a list's elements, a map's keys or values, a struct's fields), passes `test`. */
export function holdsType(type: DataType, test: (type: DataType) => boolean): boolean {
  const pending: DataType[] = [type];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    if (test(current)) return true;
    if (current.kind === 'list') pending.push(current.element);
    else if (current.kind === 'map') pending.push(current.key, current.value);
    else if (current.kind === 'struct') pending.push(...current.fields.map((field) => field.type));
  }
  return false;
}

/** A struct built without field names (DuckDB's `ROW(1, 'x')`): its fields are all named "". */
export function isUnnamedStruct(type: DataType): boolean {
  return type.kind === 'struct' && type.fields.length > 0 && type.fields.every((field) => field.name === '');
}

/** `type` with the fields of each struct it holds that has no names named by their position (from 0). */
export function withFieldNames(type: DataType, name: (index: number) => string): DataType {
  switch (type.kind) {
    case 'list':
      return { ...type, element: withFieldNames(type.element, name) };
    case 'map':
      return { ...type, key: withFieldNames(type.key, name), value: withFieldNames(type.value, name) };
    case 'struct': {
      const unnamed = isUnnamedStruct(type);
      return { ...type, fields: type.fields.map((field, index) => ({ ...field, name: unnamed ? name(index) : field.name, type: withFieldNames(field.type, name) })) };
    }
    default:
      return type;
  }
}

/** Why `type` nests too deeply to be stored, or undefined when it does not. */
export function getTypeNestingProblem(type: DataType): string | undefined {
  const depth = getTypeNesting(type);
  return depth > MAX_TYPE_NESTING ? `lists, maps and structs nest ${depth} levels deep; at most ${MAX_TYPE_NESTING} are allowed` : undefined;
}

export interface StructField {
  name: string;
  type: DataType;
  nullable: boolean;
}

export type DataTypeKind = DataType['kind'];

export type DataTypeOf<K extends DataTypeKind> = Extract<DataType, { kind: K }>;

/**
 * One entry per kind, each given its own narrowed type. Dialect printers are written as these
 * tables so that adding a kind fails to compile until every dialect says how to name it.
 */
export type KindTable<R> = { [K in DataTypeKind]: (type: DataTypeOf<K>) => R };

export function applyKindTable<R>(table: KindTable<R>, type: DataType): R {
  // TypeScript cannot correlate `table[type.kind]` with `type`; the mapped type above guarantees it.
  return (table[type.kind] as (type: DataType) => R)(type);
}

/** A DataType together with the nullability of the value that holds it (a column, a result field). */
export interface FieldType {
  type: DataType;
  nullable: boolean;
}
