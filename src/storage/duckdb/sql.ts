/** Quoting for names and literals: nothing from a user reaches SQL without passing through here. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A string literal of `value`. DuckDB reads SQL text only up to a NUL character, so a value holding
 * one is written as the concatenation of its pieces around `chr(0)`, in brackets.
 */
export function quoteLiteral(value: string): string {
  const quoted = (piece: string) => `'${piece.replaceAll("'", "''")}'`;
  return value.includes('\0') ? `(${value.split('\0').map(quoted).join(' || chr(0) || ')})` : quoted(value);
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
