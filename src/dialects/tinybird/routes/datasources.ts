import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Action, Principal } from '../../../core/auth/scopes.ts';
import type { Column, Table } from '../../../core/catalog/model.ts';
import { rewriteClickHouseSql } from '../sql/clickhouse-sql.ts';
import { SluiceError } from '../../../core/errors.ts';
import { parseHttpUrl, withoutCredentials } from '../../../core/ingest/sources/http-url.ts';
import type { IngestSource } from '../../../core/ingest/sources/source.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { bodySource, mediaTypeOf, multipartParts } from '../../../server/body.ts';
import { datasourceId, findDatasource } from '../datasource.ts';
import { baseUrlOf, jobEnvelope, type TinybirdJobProperties } from '../jobs.ts';
import { checkDatasourceName, checkImportRequest, datasourceOf, nameFromFile, newImportId, parseFormat, parseMode, runImport, tinybirdColumns, type ImportRequest } from '../import.ts';
import { Params } from '../params.ts';
import { Pipes } from '../pipes.ts';
import { parseSchema, printSchemaColumn } from '../schema.ts';
import { requireCreate, WORKSPACE } from '../scopes.ts';

/** Raw (non-multipart) bodies are capped lower than multipart files, as Tinybird does. */
const RAW_BODY_BYTES = 8 * 1024 * 1024;
const FILE_PARTS = new Set(['csv', 'ndjson', 'parquet', 'file']);

/**
 * The data source of this name. One that does not exist is a 404 only for a principal that may
 * `action` a data source of that name; others are refused as they would be for one that exists.
 * A materialized view's target (a view) is read and dropped, not changed: its rows are its pipe's.
 */
function tableOf(core: Sluice, principal: Principal, action: Action, name: string): Table {
  const namespace = core.catalog.getNamespace(WORKSPACE);
  const table = findDatasource(core, principal, namespace.id, name);
  if (table?.kind === 'view' && action === 'create') Pipes.refuseWrite(core, principal, 'create', table);
  if (table) return table;
  core.authorizeName(principal, action, WORKSPACE, name);
  throw new SluiceError('TABLE_NOT_FOUND', `Data Source "${name}" does not exist`, { table: name });
}

/**
 * Runs an import from the request: multipart file parts and raw bodies are imported while the
 * request streams; a `url` starts an import job and answers at once with its envelope.
 */
async function handleImport(core: Sluice, request: FastifyRequest, reply: FastifyReply, params: Params, source: IngestSource | undefined, maxBytes: number) {
  const principal = await request.principal();
  const mode = parseMode(params);
  const url = params.get('url');
  const fileName = source?.kind === 'stream' || source?.kind === 'bytes' ? source.hints?.fileName : undefined;
  // Only a create names its data source after the file or URL; an append or replace must say which data source it writes.
  const name = params.get('name') ?? (mode === 'create' ? nameFromFile(url ?? fileName) : undefined);
  const namespace = await core.catalog.ensureNamespace(WORKSPACE);
  const existing = name === undefined ? undefined : findDatasource(core, principal, namespace.id, name);
  if (existing?.kind === 'view') Pipes.refuseWrite(core, principal, 'append', existing);
  const format = parseFormat(params, { fileName: url ?? fileName, existing });
  const importRequest: ImportRequest = { mode, format, name, params, maxBytes, importId: newImportId(), ...(source && { source }) };
  if (mode !== 'append') requireCreate(principal);
  if (url === undefined) return runImport(core, principal, importRequest);

  // The URL is checked now, so that a bad one is this request's 400 rather than a failed job; the job shows it without credentials.
  const shownUrl = withoutCredentials(parseHttpUrl(url)).href;
  if (!name) throw new SluiceError('INVALID_ARGUMENT', 'The name parameter is required');
  // The scope is this request's 403, not the job's failure, and is checked first, so that a token
  // learns nothing of a data source it may not write: appending needs its scope, creating one DATASOURCES:CREATE.
  if (existing) core.authorize(principal, 'append', existing);
  else core.authorizeName(principal, 'append', WORKSPACE, name);
  checkImportRequest(importRequest, existing);
  if (!existing) requireCreate(principal);
  const properties: TinybirdJobProperties = {
    mode, url: shownUrl, importId: importRequest.importId, datasource: { id: existing ? datasourceId(existing) : '', name: existing?.name ?? name },
  };
  const job = await core.jobs.start({ kind: 'import', namespaceId: namespace.id, properties: properties as Record<string, unknown> }, ({ signal, reportProgress, writeKey }) =>
    runImport(core, principal, { ...importRequest, source: { kind: 'url', url }, signal, writeKey, onProgress: ({ bytesRead }) => reportProgress({ bytesRead }) }),
  );
  return reply.send(jobEnvelope(job, baseUrlOf(request), { import_id: importRequest.importId }));
}

/**
 * A multipart import, answered as soon as its import fails: the rest of the body is drained after
 * the answer, as a raw body's is, rather than read first (it may be far past the limit that refused
 * it, or never end).
 */
async function importMultipart(core: Sluice, request: FastifyRequest, reply: FastifyReply) {
  let failImport!: (error: unknown) => void;
  const importFailed = new Promise<never>((_, reject) => (failImport = reject));
  return Promise.race([readMultipart(core, request, reply, (importing) => void importing.catch(failImport)), importFailed]);
}

/**
 * A multipart import: form fields are parameters (besides the URL's), and the first file part is
 * imported as it streams. The import sees the file end only once the whole body has been read, so
 * that nothing commits before every parameter is known: a field after the file (which the import,
 * already under way, could not honour) fails it with a 400 and writes nothing.
 */
async function readMultipart(core: Sluice, request: FastifyRequest, reply: FastifyReply, onImport: (importing: Promise<unknown>) => void) {
  const params = Params.ofQuery(request);
  let file: { body: PassThrough; importing: Promise<unknown>; piped: Promise<unknown> } | undefined;
  try {
    for await (const part of multipartParts(request)) {
      if (part.type === 'field' && file) {
        throw new SluiceError('INVALID_ARGUMENT', `The form field "${part.fieldname}" comes after the file: send parameters before the file part, or in the URL`, { field: part.fieldname });
      } else if (part.type === 'field') {
        params.add(part.fieldname, String(part.value));
      } else if (file && (FILE_PARTS.has(part.fieldname) || part.filename)) {
        // An import reads one file; a second one would be left unread without a word.
        throw new SluiceError('INVALID_ARGUMENT', `The request has a second file ("${part.fieldname}"): send one file per request`, { field: part.fieldname });
      } else if (FILE_PARTS.has(part.fieldname) || part.filename) {
        const body = new PassThrough();
        // The import reads the body and takes its errors; one that comes after the import stopped
        // reading (it was refused, then a late field or a broken upload fails the body) has no one
        // left to tell, and an 'error' event nobody listens to would end the process.
        body.on('error', () => undefined);
        part.file.on('error', (error) => body.destroy(error));
        part.file.once('limit', () => body.destroy(new SluiceError('PAYLOAD_TOO_LARGE', 'The request body is too large', { maxBytes: core.config.maxRequestBodyBytes })));
        part.file.pipe(body, { end: false });
        // Settles once the part's last byte has gone into `body` (or the part failed, failing `body`):
        // the parser may be done with the request while the part still holds bytes `body` had no room for.
        const piped = finished(part.file).catch(() => undefined);
        const hints = { fileName: part.filename, contentType: part.mimetype };
        const importing = handleImport(core, request, reply, params, { kind: 'stream', stream: body, hints }, core.config.maxRequestBodyBytes);
        onImport(importing);
        // An import that stops reading (refused, failed) leaves the rest of the file to be drained, so that the body's other parts are read.
        void importing.catch(() => undefined).finally(() => {
          part.file.unpipe(body);
          part.skip();
        });
        file = { body, importing, piped };
      } else {
        part.skip();
      }
    }
  } catch (error) {
    if (!file) throw error;
    // The import fails with this error, unless it had failed already with its own.
    file.body.destroy(error as Error);
    await file.importing;
    throw error;
  }
  if (!file) return handleImport(core, request, reply, params, undefined, core.config.maxRequestBodyBytes);
  // Ended only once every byte of the file is in it: ending it as soon as the parser is done with
  // the request cut off what the part still held, and the import committed the rest as the file.
  await file.piped;
  file.body.end();
  return file.importing;
}

export function datasourceRoutes(app: FastifyInstance, core: Sluice): void {
  app.post('/v0/datasources', async (request, reply) => {
    if (request.isMultipart()) return importMultipart(core, request, reply);
    // Parameters alone (a form or the query): the data, if any, comes from a url, up to the server's limit.
    if (mediaTypeOf(request) === 'application/x-www-form-urlencoded' || !hasBody(request)) {
      return handleImport(core, request, reply, await Params.of(request), undefined, core.config.maxRequestBodyBytes);
    }
    try {
      return await handleImport(core, request, reply, Params.ofQuery(request), bodySource(request), RAW_BODY_BYTES);
    } catch (error) {
      // The 413 of a raw body says how to send more: a multipart file streams up to the server's limit.
      if (!(error instanceof SluiceError) || error.code !== 'PAYLOAD_TOO_LARGE') throw error;
      throw new SluiceError('PAYLOAD_TOO_LARGE', `${error.message}: send a larger file as multipart (curl -F csv=@file.csv), up to ${core.config.maxRequestBodyBytes} bytes`, error.details);
    }
  });

  app.get('/v0/datasources', async (request) => {
    const principal = await request.principal();
    const namespace = await core.catalog.ensureNamespace(WORKSPACE);
    const readable = core.catalog.listTables(namespace.id, { includeQuarantine: true, includeViews: true }).filter((table) => {
      try {
        core.authorize(principal, 'read', table);
        return true;
      } catch {
        return false;
      }
    });
    return { datasources: await Promise.all(readable.map((table) => datasourceOf(core, principal, table, { listing: true }))) };
  });

  app.get<{ Params: { name: string } }>('/v0/datasources/:name', async (request) => {
    const principal = await request.principal();
    const table = tableOf(core, principal, 'read', request.params.name);
    core.authorize(principal, 'read', table);
    return datasourceOf(core, principal, table, { withSchema: true });
  });

  app.put<{ Params: { name: string } }>('/v0/datasources/:name', async (request) => {
    const principal = await request.principal();
    requireCreate(principal);
    const params = await Params.of(request);
    const table = tableOf(core, principal, 'create', request.params.name);
    const newName = params.get('name');
    if (newName !== undefined) checkDatasourceName(newName);
    const description = params.get('description');
    try {
      const altered = await core.alterTable(principal, table, { ...(newName !== undefined && { name: newName }), ...(description !== undefined && { properties: { description } }) });
      return datasourceOf(core, principal, altered, { withSchema: true });
    } catch (error) {
      // Said as a rename's refusal: the message of a create that collides ("…, use mode=append") does not fit.
      if (error instanceof SluiceError && error.code === 'TABLE_EXISTS') throw new SluiceError('INVALID_ARGUMENT', `Data Source "${newName}" already exists: rename "${table.name}" to another name`, { table: newName });
      throw error;
    }
  });

  app.delete<{ Params: { name: string } }>('/v0/datasources/:name', async (request, reply) => {
    const principal = await request.principal();
    const table = tableOf(core, principal, 'drop', request.params.name);
    if (table.kind === 'quarantine') throw new SluiceError('INVALID_ARGUMENT', `"${table.name}" is a quarantine data source; drop "${table.name.replace(/_quarantine$/, '')}" instead`);
    core.authorize(principal, 'drop', table);
    new Pipes(core).checkUnread(table);
    await core.dropTable(principal, table);
    return reply.status(204).send();
  });

  app.post<{ Params: { name: string } }>('/v0/datasources/:name/truncate', async (request, reply) => {
    const principal = await request.principal();
    requireCreate(principal);
    const table = tableOf(core, principal, 'create', request.params.name);
    await core.write(principal, { table, kind: 'delete_where', predicate: 'true', onInvalid: 'reject' });
    return reply.status(205).send();
  });

  app.post<{ Params: { name: string } }>('/v0/datasources/:name/delete', async (request, reply) => {
    const principal = await request.principal();
    requireCreate(principal);
    const params = await Params.of(request);
    const table = tableOf(core, principal, 'create', request.params.name);
    const condition = params.get('delete_condition');
    if (condition === undefined) throw new SluiceError('INVALID_ARGUMENT', 'The delete_condition parameter is required');
    const predicate = await core.checkPredicate(table, rewriteClickHouseSql(condition, { conditionOn: table.columns.map((column) => column.name) }));
    if (params.flag('dry_run', false)) return { rows_to_be_deleted: await core.countWhere(principal, table, predicate) };
    const properties: TinybirdJobProperties = { datasource: { id: datasourceId(table), name: table.name }, deleteCondition: condition };
    const job = await core.jobs.start({ kind: 'delete_data', namespaceId: table.namespaceId, tableId: table.id, properties: properties as Record<string, unknown> }, async ({ writeKey, signal }) => {
      // A cancel (or shutdown) stops the condition's run: nothing is deleted.
      const result = await core.write(principal, {
        table: core.catalog.getTableById(table.id), kind: 'delete_where', predicate, onInvalid: 'reject', idempotency: { key: writeKey, requestHash: writeKey }, signal,
      });
      return { rows_deleted: result.rowsDeleted };
    });
    return reply.status(201).send(jobEnvelope(job, baseUrlOf(request), { delete_id: job.id }));
  });

  app.post<{ Params: { name: string } }>('/v0/datasources/:name/alter', async (request) => {
    const principal = await request.principal();
    requireCreate(principal);
    const params = await Params.of(request);
    const table = tableOf(core, principal, 'create', request.params.name);
    const schema = params.get('schema');
    // Parsed as on create, so that a column reads the same here as in the data source (an Array's implicit DEFAULT []).
    const columns = schema === undefined ? undefined : tinybirdColumns(parseSchema(schema));
    let added: Column[] = [];
    const addColumns = columns && ((current: Table) => (added = addedColumns(current, columns)));
    const description = params.get('description');
    // dry_run checks the change and says what it would do, changing nothing.
    const dryRun = params.flag('dry_run', false);
    // Rows already there take a new column's DEFAULT, or its type's zero value, as in ClickHouse.
    const altered = await core.alterTable(principal, table, {
      ...(addColumns && { addColumns, zeroFill: true }), ...(description !== undefined && { properties: { description } }), dryRun,
    });
    const operations = [...added.map((column) => `ADD COLUMN ${printSchemaColumn(column)}`), ...(description !== undefined ? ['MODIFY COMMENT'] : [])];
    return { operations, datasource: await datasourceOf(core, principal, altered, { withSchema: true }) };
  });
}

/** The columns of an altered schema that the table lacks; the table's own must be there, unchanged. */
function addedColumns(table: Table, columns: Column[]): Column[] {
  const existing = new Map(table.columns.map((column) => [column.name, column]));
  for (const column of columns) {
    const current = existing.get(column.name);
    if (current && printSchemaColumn(current) !== printSchemaColumn(column)) {
      throw new SluiceError('INVALID_SCHEMA', `Column "${column.name}" cannot be changed (only new columns can be added): it is ${printSchemaColumn(current)}`);
    }
  }
  const missing = table.columns.filter((column) => !columns.some((candidate) => candidate.name === column.name));
  if (missing.length > 0) throw new SluiceError('INVALID_SCHEMA', `Columns cannot be dropped: the schema lacks ${missing.map((column) => column.name).join(', ')}`);
  // New columns go after the table's: a CSV without a header is read by position, so one placed
  // between them would take another column's values.
  const firstNew = columns.findIndex((column) => !existing.has(column.name));
  const misplaced = firstNew === -1 ? undefined : columns.slice(firstNew).find((column) => existing.has(column.name));
  if (misplaced) {
    throw new SluiceError('INVALID_SCHEMA', `New columns can only be added at the end: "${columns[firstNew]!.name}" comes before the existing column "${misplaced.name}"`);
  }
  return columns.filter((column) => !existing.has(column.name));
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && Number(length) > 0) || request.headers['transfer-encoding'] !== undefined;
}
