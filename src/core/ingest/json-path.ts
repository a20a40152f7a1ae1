import { SluiceError } from '../errors.ts';
import { quoteLiteral } from '../../storage/duckdb/sql.ts';

/**
 * JSONPaths as schemas write them: `$`, `$.a.b`, `$.['a.b']`, `$.arr[:]`, `$.arr[:].f`. A path is
 * a list of keys with at most one `[:]` (every element of an array) among them.
 */
export interface JsonPath {
  text: string;
  steps: Array<{ key: string } | { every: true }>;
}

export function parseJsonPath(text: string): JsonPath {
  const fail = (why: string): never => {
    throw new SluiceError('INVALID_SCHEMA', `Invalid JSONPath "${text}": ${why}`, { jsonPath: text });
  };
  if (!text.startsWith('$')) fail('it must start with $');
  const steps: JsonPath['steps'] = [];
  let rest = text.slice(1);
  while (rest.length > 0) {
    let match: RegExpExecArray | null;
    if ((match = /^\.?\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest)) || (match = /^\.?\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest))) {
      steps.push({ key: match[1]!.replace(/\\(.)/g, '$1') });
    } else if ((match = /^\.([^.[\]]+)/.exec(rest))) {
      steps.push({ key: match[1]! });
    } else if ((match = /^\[:\]/.exec(rest)) || (match = /^\[\*\]/.exec(rest))) {
      steps.push({ every: true });
    } else {
      fail(`unexpected "${rest}"`);
    }
    rest = rest.slice(match![0].length);
  }
  // DuckDB's JSON paths have no way to name an empty key, and SQL text ends at a NUL.
  if (steps.some((step) => 'key' in step && !isReadableKey(step.key))) fail('a key must not be empty nor hold a NUL character');
  if (steps.filter((step) => 'every' in step).length > 1) {
    throw new SluiceError('INVALID_SCHEMA', `Invalid JSONPath "${text}": Nested arrays are not supported`, { jsonPath: text });
  }
  return { text, steps };
}

/** Whether a JSON key can be read by a path: not empty, and without a NUL (see `parseJsonPath`). */
export function isReadableKey(key: string): boolean {
  return key !== '' && !key.includes('\u0000');
}

/**
 * The path in DuckDB's JSON path syntax (`$."a"[*]."b"`), safe to embed in a SQL string literal:
 * a quote or a backslash in a key is escaped with a backslash, as DuckDB reads them (a key ending
 * in a backslash would otherwise escape its closing quote).
 */
export function toDuckDBJsonPath(path: JsonPath): string {
  return '$' + path.steps.map((step) => ('every' in step ? '[*]' : `."${step.key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)).join('');
}

/**
 * SQL reading a path with `[:]` from the JSON `row` (an SQL expression): a list of one item per
 * element of the array, `extract` (`json_extract` for JSON, `json_extract_string` for text) reading
 * the keys after `[:]` in each element. An element without them gives a null in its place: DuckDB's
 * own `[*].f` leaves such elements out, which misaligns arrays read side by side.
 */
export function everyElement(row: string, path: JsonPath, extract: 'json_extract' | 'json_extract_string'): string {
  const every = path.steps.findIndex((step) => 'every' in step);
  const literal = (steps: JsonPath['steps']) => quoteLiteral(toDuckDBJsonPath({ text: path.text, steps }));
  const member = path.steps.slice(every + 1);
  if (member.length === 0) return `${extract}(${row}, ${literal(path.steps)})`;
  return `list_transform(json_extract(${row}, ${literal(path.steps.slice(0, every + 1))}), sluice_element -> ${extract}(sluice_element, ${literal(member)}))`;
}

export function hasWildcard(path: JsonPath): boolean {
  return path.steps.some((step) => 'every' in step);
}

/** The path of a top-level key. */
export function keyPath(key: string): JsonPath {
  return { text: `$.['${key}']`, steps: [{ key }] };
}
