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
 * Refuses a parse tree (before the guard rewrites it) whose expansion would pass MAX_EXPANDED_SIZE,
 * with a 400 under `code`. Sizes are counted bottom-up, so the count itself takes time in
 * proportion to the tree as written.
 */
export function checkExpandedSize(tree: JsonValue, code: ErrorCode): void {
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
