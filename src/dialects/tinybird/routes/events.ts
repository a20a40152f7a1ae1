import type { FastifyInstance } from 'fastify';
import { allows } from '../../../core/auth/scopes.ts';
import type { Column } from '../../../core/catalog/model.ts';
import { SluiceError } from '../../../core/errors.ts';
import { analyzeNdjson } from '../../../core/ingest/inference/index.ts';
import { ingest } from '../../../core/ingest/ingest.ts';
import { spoolToFile } from '../../../core/ingest/sources/spool-file.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { printClickHouseType } from '../../../core/types/index.ts';
import { bodySource, EMPTY_BODY } from '../../../server/body.ts';
import { createOrJoin, findDatasource } from '../datasource.ts';
import { Pipes } from '../pipes.ts';
import { checkDatasourceName, successfulRows, tinybirdColumns } from '../import.ts';
import { Params } from '../params.ts';
import { WORKSPACE } from '../scopes.ts';
import { TINYBIRD_COERCION } from '../schema.ts';

/** Tinybird caps an Events API request at 10 MB. */
export const EVENTS_MAX_BYTES = 10 * 1024 * 1024;

/**
 * The Events API: NDJSON rows appended to a data source (created from the rows when missing and
 * the token may create). Concurrent requests to one data source share commits; the answer comes
 * once the rows are durable, whether the client asked to wait (200) or not (202).
 */
export function eventRoutes(app: FastifyInstance, core: Sluice): void {
  app.post('/v0/events', async (request, reply) => {
    const principal = await request.principal();
    const params = Params.ofQuery(request);
    const name = params.get('name');
    if (!name) throw new SluiceError('INVALID_ARGUMENT', 'The name parameter is required');
    const format = params.get('format') ?? 'ndjson';
    if (format !== 'ndjson' && format !== 'json') throw new SluiceError('INVALID_ARGUMENT', `Invalid format "${format}": the Events API takes ndjson`);
    const namespace = await core.catalog.ensureNamespace(WORKSPACE);
    // No body at all (a request without a Content-Type) is an empty body: a request of no rows.
    let source = bodySource(request) ?? EMPTY_BODY;
    let table = findDatasource(core, principal, namespace.id, name);
    if (table?.kind === 'view') Pipes.refuseWrite(core, principal, 'append', table);
    const cleanups: Array<() => Promise<void>> = [];
    try {
      if (!table) {
        if (!allows(principal, 'create', { namespace: WORKSPACE })) {
          // Refused as for a data source that exists, unless the token may append to one of that name.
          core.authorizeName(principal, 'append', WORKSPACE, name);
          throw new SluiceError('TABLE_NOT_FOUND', `Data Source "${name}" does not exist`, { table: name });
        }
        // A new data source takes its schema from the rows themselves.
        const file = await spoolToFile(await core.openSource(source, { maxBytes: EVENTS_MAX_BYTES }), core.storage.spoolDir, { extension: 'ndjson' });
        cleanups.push(() => file.remove());
        // From every row of the request (at most 10 MB), not a sample: its later rows must fit the types too.
        const analysis = await analyzeNdjson(core.storage, file.path, { sampleRows: Number.MAX_SAFE_INTEGER });
        const columns = tinybirdColumns(analysis.columns.map((column): Column => ({ name: column.name, ...column.field, jsonPath: column.path })));
        // Provisional until the rows it is created for commit: a crash in between leaves no empty data source.
        const create = () => core.createTable(principal, namespace, { name: checkDatasourceName(name), columns, properties: { format: 'ndjson' }, provisional: true });
        table = core.catalog.findTable(namespace.id, name) ?? (await createOrJoin(core.catalog, namespace.id, name, create)).table;
        source = { kind: 'file', path: file.path };
      }
      const result = await ingest(core, principal, {
        table, kind: table.primaryKey.length > 0 ? 'upsert' : 'append', format: 'json', source, limits: { maxBytes: EVENTS_MAX_BYTES },
        json: { updateFormat: 'raw', lineDelimited: true, arrays: false, caseInsensitive: false, positional: false },
        onInvalid: 'quarantine', duplicateKeys: 'last_wins', describeType: printClickHouseType, coercion: TINYBIRD_COERCION,
      });
      const status = params.flag('wait', false) ? 200 : 202;
      return reply.status(status).send({ successful_rows: successfulRows(result), quarantined_rows: result.rowsQuarantined });
    } finally {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    }
  });
}
