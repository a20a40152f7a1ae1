/** Quoting for names and literals: nothing from a user reaches SQL without passing through here. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

/**
 * A name as DuckDB compares names, without regard to case: only ASCII letters fold (DuckDB leaves
 * every other character as it is). JavaScript's toLowerCase folds more (the Kelvin sign to `k`),
 * which would let a check take a name for another (a common table expression's, say) that DuckDB
 * reads as a table's.
 */
export function identifierKey(name: string): string {
  return name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}
