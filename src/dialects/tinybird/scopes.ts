import { allows, type Principal, type Scope } from '../../core/auth/scopes.ts';
import { SluiceError } from '../../core/errors.ts';
import { rewriteClickHouseSql } from './sql/clickhouse-sql.ts';

export const WORKSPACE = 'default';

/** Refuses, in Tinybird's words, a principal that may not create data sources (nor manage jobs, nor analyze). */
export function requireCreate(principal: Principal): void {
  if (!mayCreate(principal)) throw new SluiceError('FORBIDDEN', 'token needs scope DATASOURCES:CREATE');
}

/** Whether the principal may create data sources (and pipes), and so see every pipe. */
export function mayCreate(principal: Principal): boolean {
  return allows(principal, 'create', { namespace: WORKSPACE });
}

/** Tinybird's scope names and the core scope each stands for (within the workspace namespace). */
const SCOPE_ACTIONS = {
  ADMIN: 'admin',
  'DATASOURCES:CREATE': 'create',
  'DATASOURCES:APPEND': 'append',
  'DATASOURCES:READ': 'read',
  'DATASOURCES:DROP': 'drop',
} as const satisfies Record<string, Scope['action']>;

type TinybirdScopeType = keyof typeof SCOPE_ACTIONS;

/**
 * Parses `DATASOURCES:READ:events`, `DATASOURCES:READ:events:user_id = 1` (a row filter),
 * `DATASOURCES:CREATE`, `ADMIN`, and the `{type, resource, filter}` form of JWTs and JSON bodies.
 */
export function parseTinybirdScope(type: string, resource?: string, rowFilter?: string): Scope {
  const parts = type.split(':');
  const name = (parts.length > 2 ? parts.slice(0, 2).join(':') : type) as TinybirdScopeType;
  const table = parts.length > 2 ? parts[2] : resource;
  const filter = parts.length > 3 ? parts.slice(3).join(':') : rowFilter;
  const action = SCOPE_ACTIONS[name];
  if (!action) throw new SluiceError('INVALID_ARGUMENT', `Invalid scope "${type}": valid scopes are ${Object.keys(SCOPE_ACTIONS).join(', ')}`, { scope: type });
  if (filter !== undefined && (action !== 'read' || filter.trim() === '')) {
    throw new SluiceError('INVALID_ARGUMENT', `Scope "${type}": a filter applies to DATASOURCES:READ scopes and must be a SQL condition`, { scope: type });
  }
  // These reach every data source: one named would be a wider grant than asked for.
  if ((action === 'admin' || action === 'create') && table !== undefined) {
    throw new SluiceError('INVALID_ARGUMENT', `Invalid scope "${[name, table].join(':')}": ${name} takes no data source`, { scope: type });
  }
  if (action === 'admin') return { action };
  if (action === 'create') return { action, namespace: WORKSPACE };
  if (!table) throw new SluiceError('INVALID_ARGUMENT', `Scope "${type}" needs a data source, as in ${type}:events`, { scope: type });
  if (filter === undefined) return { action, namespace: WORKSPACE, table };
  // The filter is ClickHouse SQL, as the SQL API's queries are (names in backticks, its functions).
  const sql = rewriteClickHouseSql(filter);
  return { action, namespace: WORKSPACE, table, filter: sql, ...(sql !== filter && { filterAsWritten: filter }) };
}

/** A scope as Tinybird shows it: `{type, resource}`, with the `filter` of a filtered read. */
export function printTinybirdScope(scope: Scope): { type: string; resource?: string; filter?: string } {
  const type = (Object.keys(SCOPE_ACTIONS) as TinybirdScopeType[]).find((key) => SCOPE_ACTIONS[key] === scope.action)!;
  if (!('table' in scope) || scope.table === undefined) return { type };
  const filter = scope.filterAsWritten ?? scope.filter;
  return { type, resource: scope.table, ...(filter !== undefined && { filter }) };
}

/** One `{type, resource?, filter?}` entry of a JSON body or JWT; anything else is refused. */
export function parseScopeEntry(entry: unknown): Scope {
  const fields = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>) : undefined;
  const text = (key: string) => (fields?.[key] === undefined ? undefined : typeof fields[key] === 'string' ? fields[key] : null);
  const [type, resource, filter] = [text('type'), text('resource'), text('filter')];
  if (!fields || typeof type !== 'string' || resource === null || filter === null) {
    throw new SluiceError('INVALID_ARGUMENT', 'Each scope must be an object {"type": "DATASOURCES:READ", "resource": "name", "filter": "condition"} of strings', { scope: entry });
  }
  return parseTinybirdScope(type, resource, filter);
}

/**
 * Reads the scopes of a JWT payload written the Tinybird way: `scopes: [{type, resource, filter}]`.
 * A scope of a kind Sluice does not serve (`PIPES:READ`, the usual scope of Tinybird's JWTs) grants
 * nothing here and is passed over, so that the token's other scopes still work; a malformed entry
 * makes the whole token invalid.
 */
export function parseJwtScopes(payload: Record<string, unknown>): Scope[] | undefined {
  const scopes = payload['scopes'];
  if (!Array.isArray(scopes)) return undefined;
  const served = scopes.filter((entry) => {
    const type = (entry as { type?: unknown } | null)?.type;
    return typeof type !== 'string' || Object.hasOwn(SCOPE_ACTIONS, type.split(':').slice(0, 2).join(':'));
  });
  try {
    return served.map(parseScopeEntry);
  } catch {
    return undefined;
  }
}
