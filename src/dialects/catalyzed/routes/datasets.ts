import type { FastifyInstance } from 'fastify';
import { readsIn, requireScope } from '../../../core/auth/scopes.ts';
import { isValidName, MAX_NAME_LENGTH } from '../../../core/catalog/table-ddl.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { findDataset, renderDataset, type DatasetProperties } from '../resources.ts';
import { invalid, member, pageOf, paginate, readObject, type JsonObject } from '../request.ts';

/** The Catalyzed-owned properties a create or update body sets; absent members stay as they are, a null description is cleared. */
function datasetProperties(body: JsonObject): DatasetProperties {
  const description = member.clearableString(body, 'description');
  const tags = member.strings(body, 'tags');
  const metadata = member.object(body, 'metadata');
  return { ...(description !== undefined && { description }), ...(tags && { tags }), ...(metadata && { metadata }) };
}

/** A dataset's name: 1 to 255 printable characters (said in Catalyzed's words, before the core's check). */
function datasetName(name: string): string {
  if (!isValidName(name)) throw invalid(`"name" must be 1 to ${MAX_NAME_LENGTH} printable characters`, { field: 'name' });
  return name;
}

export function datasetRoutes(app: FastifyInstance, core: Sluice): void {
  app.post('/datasets', async (request, reply) => {
    const principal = await request.principal();
    // A token that may create no dataset is refused before its body is read.
    if (!principal.scopes.some((scope) => scope.action === 'admin' || scope.action === 'create')) throw new SluiceError('FORBIDDEN', 'The token may not create datasets');
    const body = await readObject(request);
    const name = datasetName(member.requiredString(body, 'name'));
    requireScope(principal, 'create', { namespace: name });
    const namespace = await core.catalog.createNamespace(name, { ...datasetProperties(body) });
    return reply.status(201).send(renderDataset(namespace));
  });

  app.get('/datasets', async (request) => {
    const principal = await request.principal();
    // A dataset is listed to a principal that may read any of its tables, as its tables are.
    const readable = core.catalog.listNamespaces().filter((namespace) => readsIn(principal, namespace.name));
    const { items, ...page } = paginate(readable, pageOf(request));
    return { datasets: items.map(renderDataset), ...page };
  });

  app.get<{ Params: { datasetId: string } }>('/datasets/:datasetId', async (request) => {
    const principal = await request.principal();
    const namespace = findDataset(core, principal, request.params.datasetId);
    if (!readsIn(principal, namespace.name)) requireScope(principal, 'read', { namespace: namespace.name });
    return renderDataset(namespace);
  });

  app.put<{ Params: { datasetId: string } }>('/datasets/:datasetId', async (request) => {
    const principal = await request.principal();
    const namespace = findDataset(core, principal, request.params.datasetId);
    requireScope(principal, 'create', { namespace: namespace.name });
    const body = await readObject(request);
    const name = member.string(body, 'name');
    if (name !== undefined) datasetName(name);
    const updated = await core.updateNamespace(principal, namespace, {
      ...(name !== undefined && { name }),
      properties: { ...datasetProperties(body) },
    });
    return renderDataset(updated);
  });

  app.delete<{ Params: { datasetId: string } }>('/datasets/:datasetId', async (request, reply) => {
    const principal = await request.principal();
    const namespace = findDataset(core, principal, request.params.datasetId);
    await core.dropNamespace(principal, namespace);
    return reply.status(204).send();
  });
}
