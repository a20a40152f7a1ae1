import { isJsonObject, type JsonObject, type JsonValue } from '../query/lossless-json.ts';
import type { Column, Table } from './model.ts';

/**
 * Which of a view's columns can never be NULL, from its query's parse tree (the guarded query,
 * whose table references name the tables' ids): DuckDB says every view column may be NULL. A
 * column is NOT NULL when its expression is a NOT NULL column of a table read by inner joins only,
 * a `count`, a non-null constant, a CAST, `trunc` or `split_part` of those (Feldera's integer casts
 * are written with them), or a CASE whose every branch that can be taken and ELSE is one (and no ROLLUP, CUBE or
 * GROUPING SETS grouping); anything else may be NULL. Returns one flag per column of the query, or
 * undefined when the query's shape is not read here (set operations, `*` beside other items): then
 * every column may be NULL.
 */
export function viewNullability(statement: JsonObject, tables: (id: string) => Table | undefined): boolean[] | undefined {
  const node = statement['node'];
  if (!isJsonObject(node) || node['type'] !== 'SELECT_NODE') return undefined;
  // ROLLUP, CUBE and GROUPING SETS give rows where a grouped column is NULL.
  const groupSets = Array.isArray(node['group_sets']) ? node['group_sets'] : [];
  const scope = groupSets.length > 1 ? undefined : readScope(node['from_table'], tables);
  const items = Array.isArray(node['select_list']) ? node['select_list'] : [];
  if (items.some((item) => isJsonObject(item) && item['class'] === 'STAR')) {
    // `SELECT *` over one table, nothing excluded or replaced: its columns as they are.
    const [star] = items;
    const only = scope?.tables.length === 1 && items.length === 1 && isJsonObject(star) && isEmpty(star['exclude_list']) && isEmpty(star['replace_list']);
    return only ? scope.tables[0]!.columns.map((column) => column.nullable || !scope.innerOnly) : undefined;
  }
  return items.map((item) => !isNotNull(item, scope));
}

/** Functions that give NULL only of a NULL argument. */
const KEEP_NOT_NULL = new Set(['trunc', 'split_part']);

interface Scope {
  /** The tables read, with the name each goes by. */
  tables: Array<{ name: string; columns: Column[] }>;
  /** Every join is an inner (or cross) one: no row comes without a match. */
  innerOnly: boolean;
}

function readScope(ref: JsonValue | undefined, tables: (id: string) => Table | undefined): Scope | undefined {
  if (!isJsonObject(ref)) return undefined;
  if (ref['type'] === 'BASE_TABLE') {
    const table = tables(String(ref['table_name']));
    return table && { tables: [{ name: String(ref['alias'] || table.name).toLowerCase(), columns: table.columns }], innerOnly: true };
  }
  if (ref['type'] === 'JOIN') {
    const left = readScope(ref['left'], tables);
    const right = readScope(ref['right'], tables);
    if (!left || !right) return undefined;
    const inner = ['INNER', 'CROSS'].includes(String(ref['join_type'])) || ref['ref_type'] === 'CROSS';
    return { tables: [...left.tables, ...right.tables], innerOnly: left.innerOnly && right.innerOnly && inner };
  }
  return undefined;
}

function isNotNull(expression: JsonValue | undefined, scope: Scope | undefined): boolean {
  if (!isJsonObject(expression)) return false;
  switch (expression['class']) {
    case 'CONSTANT':
      return isJsonObject(expression['value']) && expression['value']['is_null'] === false;
    case 'FUNCTION': {
      const name = String(expression['function_name']).toLowerCase();
      if (KEEP_NOT_NULL.has(name)) return Array.isArray(expression['children']) && expression['children'].every((child) => isNotNull(child, scope));
      return (name === 'count_star' || name === 'count') && !expression['export_state'];
    }
    case 'CASE': {
      const checks = Array.isArray(expression['case_checks']) ? expression['case_checks'] : [];
      return checks.every((check) => isJsonObject(check) && (neverJson(check['when_expr'], scope) || isNotNull(check['then_expr'], scope))) && isNotNull(expression['else_expr'], scope);
    }
    case 'CAST':
      return expression['try_cast'] !== true && isNotNull(expression['child'], scope);
    case 'COLUMN_REF':
      return scope !== undefined && scope.innerOnly && columnOf(expression, scope)?.nullable === false;
    default:
      return false;
  }
}

/**
 * Whether a condition is `typeof(c) = 'JSON'` for a column `c` of another type: the branch it
 * guards is never taken (Feldera's casts are written with one for a VARIANT's value).
 */
function neverJson(condition: JsonValue | undefined, scope: Scope | undefined): boolean {
  if (!isJsonObject(condition) || condition['type'] !== 'COMPARE_EQUAL' || !scope) return false;
  const [left, right] = [condition['left'], condition['right']];
  if (!isJsonObject(left) || !isJsonObject(right) || String(left['function_name']).toLowerCase() !== 'typeof') return false;
  const [argument] = Array.isArray(left['children']) ? left['children'] : [];
  const constant = isJsonObject(right['value']) ? right['value']['value'] : undefined;
  if (!isJsonObject(argument) || argument['class'] !== 'COLUMN_REF' || constant !== 'JSON') return false;
  const column = columnOf(argument, scope);
  return column !== undefined && column.type.kind !== 'json';
}

/** The column a reference names: `t.c`, or `c` when exactly one table has it. */
function columnOf(reference: JsonObject, scope: Scope): Column | undefined {
  const names = Array.isArray(reference['column_names']) ? reference['column_names'].map((name) => String(name)) : [];
  const find = (columns: Column[], name: string) => columns.find((column) => column.name.toLowerCase() === name.toLowerCase());
  if (names.length === 2) {
    const table = scope.tables.find((candidate) => candidate.name === names[0]!.toLowerCase());
    return table && find(table.columns, names[1]!);
  }
  if (names.length !== 1) return undefined;
  const found = scope.tables.flatMap((table) => find(table.columns, names[0]!) ?? []);
  return found.length === 1 ? found[0] : undefined;
}

function isEmpty(value: JsonValue | undefined): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0) || (isJsonObject(value) && Object.keys(value).length === 0);
}
