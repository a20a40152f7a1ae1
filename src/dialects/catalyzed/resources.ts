import type { Column, Namespace, Table } from '../../core/catalog/model.ts';
import { absentById, actsIn, type Principal } from '../../core/auth/scopes.ts';
import { SluiceError } from '../../core/errors.ts';
import type { Sluice } from '../../core/sluice.ts';
import { printArrowType } from '../../core/types/index.ts';

/**
 * Datasets are the core's namespaces and dataset tables its tables; their ids are the core's ids.
 * What Catalyzed keeps besides (descriptions, tags, metadata) lives in their `properties`.
 */
export interface DatasetProperties {
  description?: string | null;
  tags?: string[];
  metadata?: Record<string, unknown>;
}

/**
 * A dataset by id. A token with no scope in it is refused as for a dataset that does not exist, so
 * that it learns nothing of which ids exist (see `absentById`).
 */
export function findDataset(core: Sluice, principal: Principal, datasetId: string): Namespace {
  const namespace = core.catalog.findNamespaceById(datasetId);
  const missing = new SluiceError('NOT_FOUND', `Dataset ${datasetId} not found`, { datasetId });
  if (!namespace || !actsIn(principal, namespace.name)) throw absentById(principal, missing);
  return namespace;
}

/** A dataset table by id, refused as `findDataset` refuses; quarantine companions and views are not dataset tables. */
export function findDatasetTable(core: Sluice, principal: Principal, tableId: string): Table {
  const table = core.catalog.findTableById(tableId);
  const missing = new SluiceError('NOT_FOUND', `Table ${tableId} not found`, { tableId });
  if (!table || table.kind !== 'table' || !actsIn(principal, core.namespaceOf(table).name)) throw absentById(principal, missing);
  return table;
}

export function renderDataset(namespace: Namespace) {
  const properties = namespace.properties as DatasetProperties;
  return {
    datasetId: namespace.id,
    name: namespace.name,
    description: properties.description ?? null,
    tags: properties.tags ?? [],
    metadata: properties.metadata ?? {},
    createdAt: namespace.createdAt.toISOString(),
    updatedAt: namespace.updatedAt.toISOString(),
  };
}

export function renderField(column: Column) {
  return { name: column.name, arrowType: printArrowType(column.type), nullable: column.nullable };
}

/** A table as Catalyzed shows it; `rowCount` is the rows the caller may read (see `Sluice.readableRowCount`). */
export function renderTable(table: Table, rowCount = table.rowCount) {
  return {
    tableId: table.id,
    datasetId: table.namespaceId,
    tableName: table.name,
    description: (table.properties['description'] as string | undefined) ?? null,
    fields: table.columns.map(renderField),
    primaryKeyColumns: table.primaryKey,
    rowCount,
    version: table.version,
    createdAt: table.createdAt.toISOString(),
    updatedAt: table.updatedAt.toISOString(),
  };
}

export function renderSchema(table: Table) {
  return {
    tableId: table.id,
    tableName: table.name,
    fields: table.columns.map((column) => ({ name: column.name, dataType: printArrowType(column.type), nullable: column.nullable })),
    primaryKeyColumns: table.primaryKey,
    version: table.version,
  };
}
