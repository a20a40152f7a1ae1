/**
 * Column names for inferred schemas. A name is an identifier every dialect can use unquoted: ASCII
 * letters, digits and underscores, not starting with a digit. Accents are dropped (`café` → `cafe`),
 * every run of other characters joins the pieces around it with one underscore (`unit price ($)` →
 * `unit_price`), a leading digit gets an underscore in front (`1st` → `_1st`), and a name with nothing
 * usable left falls back to its position (`column_03`). Names are made unique ignoring case, because
 * DuckDB identifiers are case-insensitive: the second `id` becomes `id_1`.
 */
export function assignColumnNames(rawNames: ReadonlyArray<string | null>): string[] {
  const taken = new Set<string>();
  return rawNames.map((raw, index) => {
    const base = (raw === null ? '' : sanitizeColumnName(raw)) || positionalColumnName(index, rawNames.length);
    let name = base;
    for (let suffix = 1; taken.has(name.toLowerCase()); suffix += 1) name = `${base}_${suffix}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/** The identifier for one raw name, or '' when it has no letter, digit or underscore. */
export function sanitizeColumnName(raw: string): string {
  const pieces = raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').match(/[A-Za-z0-9_]+/g) ?? [];
  const name = pieces.join('_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** `column_00`, `column_01`, …: two digits, more when there are over a hundred columns. */
export function positionalColumnName(index: number, columnCount: number): string {
  const width = Math.max(2, String(Math.max(columnCount - 1, 0)).length);
  return `column_${String(index).padStart(width, '0')}`;
}
