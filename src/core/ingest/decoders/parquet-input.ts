import type { DuckDBStorage } from '../../../storage/duckdb/duckdb-storage.ts';
import { quoteIdentifier, quoteLiteral } from '../../../storage/duckdb/sql.ts';
import type { Column } from '../../catalog/model.ts';
import { parseJsonPath } from '../json-path.ts';
import type { StagedInput } from '../staged-input.ts';
import { asMalformed, checkSomeFieldMatches } from './malformed.ts';

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
  try {
    described = await storage.query(`DESCRIBE SELECT * FROM ${reader}`);
  } catch (error) {
    throw asMalformed(error, 'Parquet', path);
  }
  const fileColumns = new Map(described.map((row) => [String(row['column_name']), String(row['column_type'])]));
  const findField = (name: string) => {
    if (fileColumns.has(name)) return name;
    return options.caseInsensitive ? [...fileColumns.keys()].find((candidate) => candidate.toLowerCase() === name.toLowerCase()) : undefined;
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
  const ignoredFields = [...fileColumns.keys()].filter((field) => !taken.has(field));
  checkSomeFieldMatches('the Parquet file', [...fileColumns.keys()], columns, mapped.length);
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
