import { SluiceError } from '../errors.ts';

/**
 * What a token may do. `admin` may do everything; `create` may create tables in a namespace (or
 * in any namespace, without one) and may read, append to and drop the tables there; `read`,
 * `append` and `drop` apply to one table, or to every table of a namespace when no table is named.
 */
export const ACTIONS = ['read', 'append', 'drop', 'create'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * A `read` scope on one table may carry a `filter`: a SQL condition over the table's columns, and
 * the token then reads only the rows it holds for (the table's quarantine not at all). A dialect
 * whose SQL it translates (Tinybird's ClickHouse) keeps the condition as its client wrote it in
 * `filterAsWritten`, to show it back.
 */
export type Scope = { action: 'admin' } | { action: Action; namespace?: string; table?: string; filter?: string; filterAsWritten?: string };

export interface Principal {
  tokenId: string;
  name: string;
  scopes: Scope[];
  /** The dialect the request came through: a namespace another dialect manages refuses its schema changes. */
  dialect?: string | undefined;
}

export interface Target {
  namespace: string;
  /** The table acted on; for a quarantine table, name its parent too: a scope on a table covers its quarantine. */
  table?: string;
  parentTable?: string;
}

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.some((scope) => scope.action === 'admin');
}

export function allows(principal: Principal, action: Action, target: Target): boolean {
  return principal.scopes.some((scope) => {
    if (scope.action === 'admin') return true;
    if (scope.namespace !== undefined && scope.namespace !== target.namespace) return false;
    if (scope.action === 'create') return true;
    if (scope.action !== action) return false;
    if (scope.table === undefined) return true;
    if (scope.filter !== undefined) return scope.table === target.table;
    return scope.table === target.table || (target.parentTable !== undefined && scope.table === target.parentTable);
  });
}

/**
 * Whether the principal may read some table of the namespace, or of any namespace when none is
 * given: `admin`, or a `read` or `create` scope there (a filtered read counts).
 */
export function readsIn(principal: Principal, namespace?: string): boolean {
  return principal.scopes.some((scope) => scope.action === 'admin'
    || ((scope.action === 'read' || scope.action === 'create') && (namespace === undefined || scope.namespace === undefined || scope.namespace === namespace)));
}

/**
 * The row filters through which the principal reads a table: none when a scope lets it read the
 * whole table, else the filter of each read scope that names the table (any of them admits a row).
 */
export function readFilters(principal: Principal, target: Target): string[] {
  const filters: string[] = [];
  for (const scope of principal.scopes) {
    if (!allows({ ...principal, scopes: [scope] }, 'read', target)) continue;
    if (scope.action !== 'read' || scope.filter === undefined) return [];
    filters.push(scope.filter);
  }
  return filters;
}

/** Throws FORBIDDEN naming the missing scope unless the principal may act on the target. */
export function requireScope(principal: Principal, action: Action, target: Target): void {
  if (!allows(principal, action, target)) {
    const what = target.table ? `table "${target.table}"` : `namespace "${target.namespace}"`;
    throw new SluiceError('FORBIDDEN', `The token may not ${action} ${what}`, { action, ...target });
  }
}

/** Throws FORBIDDEN unless the principal may read some table of the namespace (of any, without one). */
export function requireReadsIn(principal: Principal, namespace?: string): void {
  if (!readsIn(principal, namespace)) {
    throw new SluiceError('FORBIDDEN', `The token may not read${namespace === undefined ? '' : ` in namespace "${namespace}"`}: it has no read scope`, { action: 'read', ...(namespace !== undefined && { namespace }) });
  }
}

/**
 * The error for an object named by an id that does not exist: `notFound` for a principal with a
 * scope over every namespace (admin included), who could act on any object; for others, the
 * refusal an existing object they may not touch gets, so that they learn nothing of which ids exist.
 */
export function absentById(principal: Principal, notFound: SluiceError): SluiceError {
  return actsEverywhere(principal) ? notFound : new SluiceError('FORBIDDEN', 'The token has no scope on this object');
}

/** Whether the principal holds a scope over every namespace (admin included): it could act on any object. */
export function actsEverywhere(principal: Principal): boolean {
  return principal.scopes.some((scope) => scope.action === 'admin' || scope.namespace === undefined);
}

/** Whether the principal holds any scope in the namespace (or over every namespace). */
export function actsIn(principal: Principal, namespace: string): boolean {
  return principal.scopes.some((scope) => scope.action === 'admin' || scope.namespace === undefined || scope.namespace === namespace);
}

/** Throws FORBIDDEN unless the principal holds some scope in the namespace. */
export function requireActsIn(principal: Principal, namespace: string): void {
  if (!actsIn(principal, namespace)) throw new SluiceError('FORBIDDEN', `The token has no scope in namespace "${namespace}"`, { namespace });
}

export function requireAdmin(principal: Principal): void {
  if (!isAdmin(principal)) throw new SluiceError('FORBIDDEN', 'The token needs the admin scope', { action: 'admin' });
}
