import type { Catalog } from '../../core/catalog/catalog.ts';
import { ACTIONS, type Principal } from '../../core/auth/scopes.ts';
import type { Sluice } from '../../core/sluice.ts';
import type { Column, Table } from '../../core/catalog/model.ts';
import { SluiceError } from '../../core/errors.ts';
import { printClickHouseType } from '../../core/types/index.ts';
import { printSchema } from './schema.ts';

/** What the Tinybird dialect keeps in a table's properties. */
export interface TinybirdTableProperties {
  format?: string;
  engine?: Record<string, string>;
  description?: string;
}

export function tinybirdProperties(table: Table): TinybirdTableProperties {
  return table.properties as TinybirdTableProperties;
}

/** A data source's id in Tinybird's responses. */
export function datasourceId(table: Table): string {
  return `t_${table.id}`;
}

/**
 * The table a request names by its name or by its id (`t_…`), as Tinybird's APIs take either (a
 * name wins); undefined when there is none in the namespace. A table named by its id that the
 * principal holds no scope on is refused here without its name, which a refusal naming it would tell.
 */
export function findDatasource(core: Sluice, principal: Principal, namespaceId: string, nameOrId: string): Table | undefined {
  const named = core.catalog.findTable(namespaceId, nameOrId);
  if (named || !nameOrId.startsWith('t_')) return named;
  const byId = core.catalog.findTableById(nameOrId.slice(2));
  if (byId?.namespaceId !== namespaceId) return undefined;
  if (!ACTIONS.some((action) => core.mayAct(principal, action, byId))) throw new SluiceError('FORBIDDEN', 'The token has no scope on this object');
  return byId;
}

/**
 * Creates a data source for the rows that follow it. Two first writes to a new data source may race
 * to create it, both meaning to add rows: the loser writes into the winner's (`created` false).
 */
export async function createOrJoin(catalog: Catalog, namespaceId: string, name: string, create: () => Promise<Table>): Promise<{ table: Table; created: boolean }> {
  try {
    return { table: await create(), created: true };
  } catch (error) {
    const winner = error instanceof SluiceError && error.code === 'TABLE_EXISTS' ? catalog.findTable(namespaceId, name) : undefined;
    if (winner) return { table: winner, created: false };
    throw error;
  }
}

/** Tinybird prints times as `YYYY-MM-DD HH:MM:SS` (UTC). */
export function tinybirdTime(date: Date | null | undefined): string | null {
  return date ? date.toISOString().replace('T', ' ').slice(0, 19) : null;
}

export function tinybirdColumn(column: Column) {
  return {
    name: column.name,
    type: printClickHouseType({ type: column.type, nullable: column.nullable }),
    codec: null,
    default_value: column.defaultExpression ?? null,
    jsonpath: column.jsonPath ?? null,
    nullable: column.nullable,
    normalized_name: column.name,
  };
}

export interface DatasourceFacts {
  bytes: number;
  /** Null for a materialized view's target in a listing (see `datasourceOf`). */
  rowCount: number | null;
  quarantineRows: number;
  /** The pipes that read it. */
  usedBy: Array<{ id: string; name: string }>;
}

/** The datasource object of Tinybird's responses. */
export function renderDatasource(table: Table, facts: DatasourceFacts, options: { withSchema?: boolean } = {}) {
  const properties = tinybirdProperties(table);
  const engine = properties.engine ?? {};
  return {
    id: datasourceId(table),
    name: table.name,
    type: properties.format ?? 'csv',
    description: properties.description ?? '',
    created_at: tinybirdTime(table.createdAt),
    updated_at: tinybirdTime(table.updatedAt),
    replicated: false,
    version: 0,
    project: null,
    tags: {},
    headers: {},
    shared_with: [],
    engine: {
      engine: engine['engine'] ?? 'MergeTree',
      engine_sorting_key: engine['engine_sorting_key'] ?? table.sortingKey.join(', '),
      engine_partition_key: engine['engine_partition_key'] ?? table.partitionKey.join(', '),
      ...Object.fromEntries(Object.entries(engine).filter(([key]) => !['engine', 'engine_sorting_key', 'engine_partition_key'].includes(key))),
    },
    columns: table.columns.map(tinybirdColumn),
    statistics: { bytes: facts.bytes, row_count: facts.rowCount },
    used_by: facts.usedBy,
    quarantine_rows: facts.quarantineRows,
    ...(options.withSchema && { schema: { columns: table.columns.map(tinybirdColumn), sql_schema: printSchema(table.columns) } }),
  };
}
