import { SluiceError, type ErrorCode } from '../errors.ts';
import { boundedArgumentUses, BOUNDING_MACROS } from './built-value-bounds.ts';
import { FUNNEL_MACROS } from './funnel-functions.ts';
import { isJsonObject, type JsonObject, type JsonValue } from './lossless-json.ts';
import { CLICKHOUSE_MACROS, type SqlMacro } from './sql-functions.ts';

/**
 * The largest tree a checked query or condition may become once DuckDB has expanded its macros.
 * A macro's body is copied into the query where it is called, each argument once for every time
 * the body names its parameter: `toDate(x)` names `x` seven times, and a size check names the
 * value it checks three times. Calls nested in each other's arguments so multiply: `toDate`
 * nested ten deep asked DuckDB to bind 7¹⁰ copies of the innermost value, which held a core for
 * minutes and then killed the server (its JavaScript heap could no longer grow), and `repeat`
 * nested eighteen deep did the same in the guard itself. A million nodes bind in about a second.
 */
export const MAX_EXPANDED_SIZE = 1_000_000;

interface Expansion {
  /** How many times the expanded call holds each argument. */
  uses: number[];
  /** About how many nodes the call adds besides its arguments. */
  size: number;
}

const BODY_NODES_PER_CHARACTER = 1 / 4;

/** How each macro a query may call (ClickHouse's names, funnels) expands, by name and number of arguments. */
const MACRO_EXPANSIONS = new Map<string, Expansion>(
  [...CLICKHOUSE_MACROS, ...FUNNEL_MACROS, ...BOUNDING_MACROS].map((macro) => [key(macro.name.toLowerCase(), macro.params.length), expansionOf(macro)]),
);

function key(name: string, arity: number): string {
  return `${name}/${arity}`;
}

function expansionOf(macro: SqlMacro): Expansion {
  return {
    uses: macro.params.map((param) => Math.max(1, macro.body.match(new RegExp(`\\b${param}\\b`, 'g'))?.length ?? 0)),
    size: Math.ceil(macro.body.length * BODY_NODES_PER_CHARACTER),
  };
}

/**
 * How deep lambdas and subqueries may nest in one another. DuckDB binds each level's inside again
 * for every way it tries the level (a `->` is both a lambda and JSON's extraction, and it tries
 * one, then the other), so the time to bind doubles or more with each level: 20 nested
 * `list_transform(…, x -> …)`, 20 chained `j -> 'a'` or 20 nested `(SELECT …)` took half a second,
 * 26 a quarter of a minute, 40 never finished — and binding cannot be stopped, not by the query's
 * time limit nor by its client leaving. At 16 the worst of them binds in under a tenth of a second.
 */
export const MAX_REBOUND_NESTING = 16;

/**
 * Refuses, with a 400 under `code`, a parse tree (before the guard rewrites it) that DuckDB would
 * take too long to bind: one whose expansion would pass MAX_EXPANDED_SIZE, or whose lambdas and
 * subqueries nest deeper than MAX_REBOUND_NESTING. Both are counted in one walk of the tree as
 * written. How many tables it reads once expanded is checked after the guard has found its tables
 * (see checkExpandedReads).
 */
export function checkBindingCost(tree: JsonValue, code: ErrorCode): void {
  const depth = reboundNesting(tree);
  if (depth > MAX_REBOUND_NESTING) {
    throw new SluiceError(
      code,
      `Lambdas (x -> …), JSON arrows (j -> 'a') and subqueries nest ${depth} deep in the query, more than the ${MAX_REBOUND_NESTING} a query may`,
      { nesting: depth, limit: MAX_REBOUND_NESTING },
    );
  }
  checkExpandedSize(tree, code);
}

/**
 * Refuses, with a 400 under `code`, a query that would read more than MAX_EXPANDED_REFERENCES
 * tables once its common table expressions and views are expanded, and returns how many it reads.
 * `readsOf` gives, for a reference to a table or view (not to a CTE), how many tables DuckDB binds
 * to read it: 1 for a table, a view's own expanded count for a view.
 */
export function checkExpandedReads(tree: JsonValue, code: ErrorCode, readsOf: (reference: JsonObject) => number): number {
  const references = expandedReferences(tree, readsOf);
  if (references > MAX_EXPANDED_REFERENCES) {
    throw new SluiceError(
      code,
      `The query reads its common table expressions and views ${Math.round(references).toExponential(1)} times once they are expanded, more than the ${MAX_EXPANDED_REFERENCES} a query may`,
      { expandedReferences: Math.round(references), limit: MAX_EXPANDED_REFERENCES },
    );
  }
  return references;
}

/**
 * How many tables, views and common table expressions a query may read once each reference to a
 * common table expression or a view is counted as what it reads. DuckDB binds a CTE or a view at
 * each of its references, so a chain of CTEs or views each reading the one before twice
 * (`c1 AS (SELECT * FROM c0 a, c0 b)`, …) binds 2ⁿ times, and its `*` doubles its columns at each
 * step: 30 steps never finished binding, and 4,096 references bind in about 60 ms.
 */
export const MAX_EXPANDED_REFERENCES = 10_000;

/**
 * The tables a parse tree reads, each reference to a CTE counted as the tables that CTE reads
 * (names are matched throughout the tree, whatever scope defines them; a CTE that reads its own
 * name, as a recursive one does, counts that reference once) and any other as `readsOf` counts it.
 */
function expandedReferences(tree: JsonValue, readsOf: (reference: JsonObject) => number): number {
  const definitions = new Map<string, JsonValue>();
  collectCtes(tree, definitions);
  const expanded = new Map<string, number>();
  const countOf = (name: string): number => {
    const known = expanded.get(name);
    if (known !== undefined) return known;
    expanded.set(name, 1);
    const count = references(definitions.get(name)!);
    expanded.set(name, count);
    return count;
  };
  const references = (value: JsonValue | undefined): number => {
    if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + references(item), 0);
    if (!isJsonObject(value)) return 0;
    if (value['type'] === 'BASE_TABLE') {
      const name = String(value['table_name'] ?? '').toLowerCase();
      return value['schema_name'] === '' && definitions.has(name) ? countOf(name) : readsOf(value);
    }
    let sum = 0;
    // A CTE's definition is counted where it is read, not where it is defined.
    for (const [field, child] of Object.entries(value)) if (field !== 'cte_map') sum += references(child);
    return sum;
  };
  return references(tree) + [...definitions.keys()].reduce((sum, name) => sum + countOf(name), 0);
}

function collectCtes(value: JsonValue | undefined, definitions: Map<string, JsonValue>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectCtes(item, definitions);
    return;
  }
  if (!isJsonObject(value)) return;
  const map = isJsonObject(value['cte_map']) ? value['cte_map']['map'] : undefined;
  if (Array.isArray(map)) {
    for (const entry of map) {
      if (isJsonObject(entry) && isJsonObject(entry['value'])) definitions.set(String(entry['key']).toLowerCase(), entry['value']['query'] ?? null);
    }
  }
  for (const child of Object.values(value)) collectCtes(child, definitions);
}

const REBOUND_CLASSES = new Set(['LAMBDA', 'SUBQUERY']);

/** The deepest nesting of lambdas and subqueries in a parse tree. */
function reboundNesting(value: JsonValue | undefined): number {
  if (Array.isArray(value)) return value.reduce<number>((deepest, item) => Math.max(deepest, reboundNesting(item)), 0);
  if (!isJsonObject(value)) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, reboundNesting(child));
  return deepest + (REBOUND_CLASSES.has(String(value['class'])) ? 1 : 0);
}

/**
 * Refuses a parse tree (before the guard rewrites it) whose expansion would pass MAX_EXPANDED_SIZE,
 * with a 400 under `code`. Sizes are counted bottom-up, so the count itself takes time in
 * proportion to the tree as written.
 */
function checkExpandedSize(tree: JsonValue, code: ErrorCode): void {
  const size = expandedSize(tree);
  if (size > MAX_EXPANDED_SIZE) {
    throw new SluiceError(
      code,
      `The query would expand to about ${Math.round(size).toExponential(1)} expressions, more than the ${MAX_EXPANDED_SIZE} a query may: `
        + 'functions that repeat their arguments (ClickHouse functions, size checks) are nested too deeply',
      { expandedSize: Math.round(size), limit: MAX_EXPANDED_SIZE },
    );
  }
}

function expandedSize(value: JsonValue | undefined): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + expandedSize(item), 0);
  if (!isJsonObject(value)) return 0;
  // A constant's value is data: one node however large.
  if (value['class'] === 'CONSTANT') return 1;
  if (value['class'] === 'FUNCTION') return callSize(value);
  let sum = 1;
  for (const child of Object.values(value)) sum += expandedSize(child);
  return sum;
}

function callSize(call: JsonObject): number {
  const args = Array.isArray(call['children']) ? call['children'] : [];
  const name = String(call['function_name'] ?? '').toLowerCase();
  const expansion = MACRO_EXPANSIONS.get(key(name, args.length)) ?? builtInExpansion(name, args.length);
  let sum = 1 + (expansion?.size ?? 0);
  args.forEach((arg, index) => {
    sum += (expansion?.uses[index] ?? 1) * expandedSize(arg);
  });
  for (const [field, child] of Object.entries(call)) if (field !== 'children') sum += expandedSize(child);
  return sum;
}

/** A built-in function the guard bounds (see boundBuiltValue) expands into the call and its check. */
function builtInExpansion(name: string, arity: number): Expansion | undefined {
  const bounded = boundedArgumentUses(name, arity);
  if (!bounded) return undefined;
  const check = MACRO_EXPANSIONS.get(key(bounded.macro, bounded.macroArity));
  return { uses: bounded.uses.map((uses) => uses(check?.uses ?? [])), size: check?.size ?? 0 };
}
