/**
 * The words DuckDB's parser does not take as a column's name unquoted (its reserved keywords and
 * those it reads as part of a type or a join: `at`, `left`, `binary` …), upper-cased. Other
 * dialects' parsers take many of them as names (a table `semi`, a column `end`), which DuckDB reads
 * only quoted.
 */
export const DUCKDB_KEYWORDS = new Set([
  'ALL', 'ANALYSE', 'ANALYZE', 'AND', 'ANTI', 'ANY', 'ARRAY', 'AS', 'ASC', 'ASOF', 'ASYMMETRIC', 'AT', 'AUTHORIZATION', 'BINARY',
  'BOTH', 'BY', 'CASE', 'CAST', 'CHECK', 'COLLATE', 'COLLATION', 'COLUMN', 'CONCURRENTLY', 'CONSTRAINT', 'CREATE', 'CROSS',
  'DEFAULT', 'DEFERRABLE', 'DESC', 'DESCRIBE', 'DISTINCT', 'DO', 'ELSE', 'END', 'EXCEPT', 'FETCH', 'FOR', 'FOREIGN', 'FREEZE',
  'FROM', 'FULL', 'GLOB', 'GROUP', 'HAVING', 'ILIKE', 'IN', 'INITIALLY', 'INNER', 'INTERSECT', 'INTO', 'IS', 'ISNULL', 'JOIN',
  'LAMBDA', 'LATERAL', 'LEADING', 'LEFT', 'LIKE', 'LIMIT', 'NATURAL', 'NOT', 'NOTNULL', 'OFFSET', 'ON', 'ONLY', 'OR', 'ORDER',
  'OUTER', 'OVERLAPS', 'PIVOT', 'PIVOT_LONGER', 'PIVOT_WIDER', 'PLACING', 'POSITIONAL', 'PRIMARY', 'QUALIFY', 'REFERENCES',
  'RETURNING', 'RIGHT', 'SELECT', 'SEMI', 'SHOW', 'SIMILAR', 'SOME', 'SUMMARIZE', 'SYMMETRIC', 'TABLE', 'TABLESAMPLE', 'THEN',
  'TO', 'TRAILING', 'UNION', 'UNIQUE', 'UNPACK', 'UNPIVOT', 'USING', 'VARIADIC', 'VERBOSE', 'WHEN', 'WHERE', 'WINDOW', 'WITH',
]);
