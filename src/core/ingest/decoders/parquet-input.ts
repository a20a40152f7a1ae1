import type { DuckDBStorage } from '../../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import type { Column } from '../../catalog/model.ts';
import { parseJsonPath } from '../json-path.ts';
import type { StagedInput } from '../staged-input.ts';
import { asMalformed, checkSomeFieldMatches, fieldFor } from './malformed.ts';

export interface ParquetOptions {
  caseInsensitive: boolean;
}

const NESTED = /^(STRUCT|MAP)\(|\[\d*\]$/;

/**
 * A spooled Parquet file, read by DuckDB. Columns are found by JSONPath (`$.a`, `$.a.b` into
 * structs) when the target column has one, else by name. Values are staged as text (nested values
 * as JSON) and typed by the write path like any other input.
 */
export async function parquetInput(storage: DuckDBStorage, path: string, columns: Column[], options: ParquetOptions): Promise<StagedInput> {
  const reader = `read_parquet(${quoteLiteral(path)})`;
  let described: Array<Record<string, unknown>>;
  let written: string[];
  try {
    described = await storage.query(`DESCRIBE SELECT * FROM ${reader}`);
    written = await topLevelNames(storage, path);
  } catch (error) {
    throw asMalformed(error, 'Parquet', path);
  }
  const fileColumns = new Map(described.map((row) => [String(row['column_name']), String(row['column_type'])]));
  // DuckDB renames a field whose name another has regardless of case (`colabc` after `COLABC` is
  // `colabc_1`): fields are matched by the names the file gives them, and read by DuckDB's.
  const duckdbNames = [...fileColumns.keys()];
  const fileNames = written.length === duckdbNames.length ? written : duckdbNames;
  const findField = (name: string) => {
    // As for a CSV header or an Arrow schema: fields naming one column in different cases are that column named twice.
    const index = fieldFor('the Parquet file', fileNames, name, options.caseInsensitive);
    return index === undefined ? undefined : duckdbNames[index];
  };
  const mapped = columns.flatMap((column) => {
    const steps = column.jsonPath ? parseJsonPath(column.jsonPath).steps : [{ key: column.name }];
    const [first, ...rest] = steps;
    if (!first || !('key' in first)) return [];
    const field = findField(first.key);
    if (field === undefined) return [];
    // Keys reach into structs; `[:]` takes every element of a list, and keys after it reach into each element.
    const wildcard = rest.findIndex((step) => !('key' in step));
    const keysOf = (part: typeof rest) => part.map((step) => quoteIdentifier((step as { key: string }).key));
    const base = [quoteIdentifier(field), ...keysOf(wildcard < 0 ? rest : rest.slice(0, wildcard))].join('.');
    if (wildcard >= 0) {
      const inner = keysOf(rest.slice(wildcard + 1));
      const elements = inner.length === 0 ? base : `list_transform(${base}, element -> element.${inner.join('.')})`;
      return [{ column, field, expression: base, type: undefined, text: `to_json(${elements})::VARCHAR` }];
    }
    const nested = rest.length === 0 && NESTED.test(fileColumns.get(field)!);
    // A top-level column's own type, for values that can be written without a round trip through text.
    const type = rest.length === 0 ? fileColumns.get(field) : undefined;
    return [{ column, field, expression: base, type, text: nested ? `to_json(${base})::VARCHAR` : `CAST(${base} AS VARCHAR)` }];
  });
  const taken = new Set(mapped.map(({ field }) => field));
  const ignoredFields = fileNames.filter((_, index) => !taken.has(duckdbNames[index]!));
  checkSomeFieldMatches('the Parquet file', fileNames, columns, mapped.length);
  return {
    columns: mapped.map(({ column }) => column.name),
    ...(ignoredFields.length > 0 && { ignoredFields }),
    async load(tx, rawTable, request) {
      try {
        await tx.run(
          `INSERT INTO ${rawTable} SELECT ${request}, row_number() OVER (), 1, NULL, NULL${mapped.map(({ text }) => `, ${text}`).join('')} FROM ${reader}`,
        );
      } catch (error) {
        throw asMalformed(error, 'Parquet', path);
      }
    },
    async direct() {
      const columnsOf = mapped.map(({ text, expression }, index) => `${text} AS v${index}, ${expression} AS n${index}`);
      return { sql: `SELECT NULL::VARCHAR AS _error${columnsOf.map((column) => `, ${column}`).join('')} FROM ${reader}`, nativeTypes: mapped.map(({ type }) => type) };
    },
  };
}

/**
 * The names of a Parquet file's columns as it writes them. Its schema is a tree listed depth
 * first: the root, then each field followed by its own children.
 */
async function topLevelNames(storage: DuckDBStorage, path: string): Promise<string[]> {
  const nodes = await storage.query(`SELECT name, num_children FROM parquet_schema(${quoteLiteral(path)})`);
  const childrenOf = (index: number) => Number(nodes[index]?.['num_children'] ?? 0);
  /** The index of the node after `index` and all its descendants. */
  const after = (index: number): number => {
    let next = index + 1;
    for (let child = 0; child < childrenOf(index); child += 1) next = after(next);
    return next;
  };
  const names: string[] = [];
  for (let index = 1, field = 0; field < childrenOf(0) && index < nodes.length; field += 1, index = after(index)) names.push(String(nodes[index]!['name']));
  return names;
}
