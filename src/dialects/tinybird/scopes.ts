import type { Scope } from '../../core/auth/scopes.ts';
import { SluiceError } from '../../core/errors.ts';

export const WORKSPACE = 'default';

/** Tinybird's scope names and the core scope each stands for (within the workspace namespace). */
const SCOPE_ACTIONS = {
  ADMIN: 'admin',
  'DATASOURCES:CREATE': 'create',
  'DATASOURCES:APPEND': 'append',
  'DATASOURCES:READ': 'read',
  'DATASOURCES:DROP': 'drop',
} as const satisfies Record<string, Scope['action']>;

type TinybirdScopeType = keyof typeof SCOPE_ACTIONS;

/** Parses `DATASOURCES:READ:events`, `DATASOURCES:CREATE`, `ADMIN` (and the `{type, resource}` form). */
export function parseTinybirdScope(type: string, resource?: string): Scope {
  const parts = type.split(':');
  const name = (parts.length > 2 ? parts.slice(0, 2).join(':') : type) as TinybirdScopeType;
  const table = parts.length > 2 ? parts.slice(2).join(':') : resource;
  const action = SCOPE_ACTIONS[name];
  if (!action) throw new SluiceError('INVALID_ARGUMENT', `Invalid scope "${type}": valid scopes are ${Object.keys(SCOPE_ACTIONS).join(', ')}`, { scope: type });
  if (action === 'admin') return { action };
  if (action === 'create') return { action, namespace: WORKSPACE };
  if (!table) throw new SluiceError('INVALID_ARGUMENT', `Scope "${type}" needs a data source, as in ${type}:events`, { scope: type });
  return { action, namespace: WORKSPACE, table };
}

export function printTinybirdScope(scope: Scope): { type: string; resource?: string } {
  const type = (Object.keys(SCOPE_ACTIONS) as TinybirdScopeType[]).find((key) => SCOPE_ACTIONS[key] === scope.action)!;
  return 'table' in scope && scope.table !== undefined ? { type, resource: scope.table } : { type };
}

/** Reads the scopes of a JWT payload written the Tinybird way: `scopes: [{type, resource}]`. */
export function parseJwtScopes(payload: Record<string, unknown>): Scope[] | undefined {
  const scopes = payload['scopes'];
  if (!Array.isArray(scopes)) return undefined;
  try {
    return scopes.map((entry: { type?: unknown; resource?: unknown }) => parseTinybirdScope(String(entry.type), entry.resource === undefined ? undefined : String(entry.resource)));
  } catch {
    return undefined;
  }
}
