import type { FastifyInstance } from 'fastify';
import { actsEverywhere, actsIn, allows, requireScope, type Principal } from '../../../core/auth/scopes.ts';
import type { Column, Namespace, Table } from '../../../core/catalog/model.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { parseArrowType, printArrowType, TypeNameError } from '../../../core/types/index.ts';
import { findDataset, findDatasetTable, renderSchema, renderTable } from '../resources.ts';
import { invalid, isObject, member, pageOf, paginate, queryParams, readObject } from '../request.ts';

/** `fields: [{name, arrowType, nullable?}]`; fields are nullable unless they say otherwise. */
function parseFields(value: unknown): Column[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('"fields" must be a non-empty array of {name, arrowType, nullable?}', { field: 'fields' });
  return value.map((field: unknown, index) => {
    if (!isObject(field)) throw invalid(`fields[${index}] must be an object`, { field: 'fields', index });
    const name = member.requiredString(field, 'name');
    const arrowType = member.string(field, 'arrowType') ?? member.requiredString(field, 'dataType');
    return { name, type: parseType(name, arrowType), nullable: member.boolean(field, 'nullable') ?? true };
  });
}

function parseType(field: string, arrowType: string): Column['type'] {
  try {
    return parseArrowType(arrowType);
  } catch (error) {
    if (error instanceof TypeNameError) throw new SluiceError('INVALID_TYPE', `Field "${field}": ${error.message}`, { field, arrowType });
    throw error;
  }
}

/**
 * Whether a field of a PUT is the table's `column` as it is. A primary key column is never
 * nullable, whatever its field said at creation: the nullability given for it is not compared, so
 * that the fields a table was created with can be sent back as they were.
 */
function sameField(column: Column, field: Column, primaryKey: string[]): boolean {
  const nullabilityMatches = column.nullable === field.nullable || primaryKey.includes(column.name);
  return column.name === field.name && nullabilityMatches && printArrowType(column.type) === printArrowType(field.type);
}

/**
 * The fields of a PUT beyond the table's: the table's own fields must come first, unchanged, and
 * any new ones are added. Changing, reordering or removing a field is refused.
 */
function addedFields(table: Table, fields: Column[]): Column[] {
  const kept = table.columns.every((column, index) => fields[index] !== undefined && sameField(column, fields[index]!, table.primaryKey));
  if (!kept) throw invalid('Fields can only be added at the end; existing fields cannot be changed, reordered or removed', { field: 'fields' });
  return fields.slice(table.columns.length);
}

/**
 * The dataset a listing is filtered to: none when the token has no scope in it, whether it exists
 * or not (an empty list either way, so that the answer tells nothing of which ids exist); a token
 * that may act in every dataset is told that one does not exist.
 */
function listedDataset(core: Sluice, principal: Principal, datasetId: string): Namespace[] {
  const namespace = core.catalog.findNamespaceById(datasetId);
  if (namespace && actsIn(principal, namespace.name)) return [namespace];
  if (!namespace && actsEverywhere(principal)) throw new SluiceError('NOT_FOUND', `Dataset ${datasetId} not found`, { datasetId });
  return [];
}

export function tableRoutes(app: FastifyInstance, core: Sluice): void {
  app.post('/dataset-tables', async (request, reply) => {
    const principal = await request.principal();
    const body = await readObject(request);
    const namespace = findDataset(core, principal, member.requiredString(body, 'datasetId'));
    // The scope before the rest of the body: a token that may not create tables learns nothing of what it got wrong.
    requireScope(principal, 'create', { namespace: namespace.name });
    const description = member.string(body, 'description');
    const table = await core.createTable(principal, namespace, {
      name: member.requiredString(body, 'tableName'),
      columns: parseFields(body['fields']),
      primaryKey: member.strings(body, 'primaryKeyColumns') ?? [],
      properties: description === undefined ? {} : { description },
      // Row writes reject bad rows whole: no quarantine companion, and no name taken for one.
      quarantine: false,
    });
    return reply.status(201).send(renderTable(table));
  });

  app.get('/dataset-tables', async (request) => {
    const principal = await request.principal();
    const datasetId = queryParams(request).get('datasetId');
    const namespaces = datasetId ? listedDataset(core, principal, datasetId) : core.catalog.listNamespaces();
    const readable = namespaces.flatMap((namespace) =>
      core.catalog.listTables(namespace.id).filter((table) => allows(principal, 'read', { namespace: namespace.name, table: table.name })),
    );
    const { items, ...page } = paginate(readable, pageOf(request));
    return { tables: await Promise.all(items.map(async (table) => renderTable(table, await core.readableRowCount(principal, table)))), ...page };
  });

  app.get<{ Params: { tableId: string } }>('/dataset-tables/:tableId', async (request) => {
    const principal = await request.principal();
    const table = findDatasetTable(core, principal, request.params.tableId);
    core.authorize(principal, 'read', table);
    return renderTable(table, await core.readableRowCount(principal, table));
  });

  app.get<{ Params: { tableId: string } }>('/dataset-tables/:tableId/schema', async (request) => {
    const principal = await request.principal();
    const table = findDatasetTable(core, principal, request.params.tableId);
    core.authorize(principal, 'read', table);
    return renderSchema(table);
  });

  app.put<{ Params: { tableId: string } }>('/dataset-tables/:tableId', async (request) => {
    const principal = await request.principal();
    const table = findDatasetTable(core, principal, request.params.tableId);
    requireScope(principal, 'create', { namespace: core.namespaceOf(table).name });
    const body = await readObject(request);
    const primaryKey = member.strings(body, 'primaryKeyColumns');
    if (primaryKey && primaryKey.join('\u0000') !== table.primaryKey.join('\u0000')) throw invalid('The primary key of a table cannot be changed', { field: 'primaryKeyColumns' });
    const fields = body['fields'] === undefined ? undefined : parseFields(body['fields']);
    const name = member.string(body, 'tableName');
    // A null description clears it.
    const description = member.clearableString(body, 'description');
    const addColumns = fields && ((current: Table) => addedFields(current, fields));
    return renderTable(await core.alterTable(principal, table, { ...(addColumns && { addColumns }), ...(name !== undefined && { name }), ...(description !== undefined && { properties: { description } }) }));
  });

  app.delete<{ Params: { tableId: string } }>('/dataset-tables/:tableId', async (request, reply) => {
    const principal = await request.principal();
    const table = findDatasetTable(core, principal, request.params.tableId);
    await core.dropTable(principal, table);
    return reply.status(204).send();
  });
}
