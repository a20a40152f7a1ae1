import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Table } from '../../../core/catalog/model.ts';
import type { ChunkPolicy } from '../../../core/ingest/chunked-ingest.ts';
import type { UpdateFormat } from '../../../core/ingest/decoders/json-input.ts';
import { ingest } from '../../../core/ingest/ingest.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { printSqlType } from '../../../core/types/index.ts';
import type { WriteKind, WriteResult } from '../../../core/write/write-command.ts';
import { clientGone } from '../../../server/client-gone.ts';
import { bodySource, EMPTY_BODY } from '../../../server/body.ts';
import { decodeToken, encodeToken } from '../completion-token.ts';
import { FELDERA_COERCION } from '../encodings.ts';
import { FelderaError, parseError } from '../errors.ts';
import { QueryParams } from '../params.ts';
import type { Pipelines } from '../pipelines.ts';

const FORMATS = ['csv', 'json'] as const;
const UPDATE_FORMATS = ['insert_delete', 'raw', 'weighted', 'debezium'] as const satisfies readonly UpdateFormat[];
/**
 * Feldera's JSON flavors that Sluice reads: `pandas` (the Python SDK's `input_pandas`) writes a
 * TIMESTAMP as milliseconds since the epoch, as pandas' `to_json` does; `default` and `datagen` read
 * values as Feldera's defaults do. The others (Debezium's, Kafka Connect's, Snowflake's …) are refused.
 */
const JSON_FLAVORS = ['default', 'datagen', 'pandas'] as const;

/** A push is committed as it arrives: every 4 MiB, or when its oldest record has waited 200 ms. */
const INGRESS_CHUNKS: ChunkPolicy = { bytes: 4 * 1024 * 1024, maxDelayMs: 200 };

export const describeType = ({ type }: Parameters<typeof printSqlType>[0]) => printSqlType({ type, nullable: true });

/**
 * Inserts and deletes only ever add rows to a table without a key, so those pushes are appends;
 * everything else is a batch of weighted changes (upserts and deletes by key on keyed tables).
 */
export function writeKind(table: Table, format: (typeof FORMATS)[number], updateFormat: UpdateFormat): WriteKind {
  const insertsOnly = format === 'csv' || updateFormat === 'raw';
  return insertsOnly && table.primaryKey.length === 0 ? 'append' : 'changes';
}

type PipelineRequest = FastifyRequest<{ Params: { pipeline: string; table: string } }>;

/** Pushes to a table, and whether what a completion token stands for has been processed. */
export function ingressRoutes(app: FastifyInstance, core: Sluice, pipelines: Pipelines): void {
  app.post('/v0/pipelines/:pipeline/ingress/:table', async (request: PipelineRequest, reply) => {
    const principal = await request.principal();
    const params = new QueryParams(request);
    const format = params.choice('format', FORMATS, 'csv', 'UnknownInputFormat');
    const arrays = params.flag('array', false);
    const updateFormat = params.choice('update_format', UPDATE_FORMATS, 'insert_delete');
    const flavor = params.choice('json_flavor', JSON_FLAVORS, 'default');
    const force = params.flag('force', false);
    const pipeline = pipelines.get(request.params.pipeline, principal, null);
    // A stopped pipeline takes no input, whatever the table (one whose program did not compile has none).
    pipelines.requireDeployed(pipeline, 'push to it');
    const table = pipelines.inputTable(pipeline, request.params.table);
    const kind = writeKind(table, format, updateFormat);
    core.authorizeWrite(principal, kind, table);
    // A push whose client gives up while the pipeline is paused is not taken (see `awaitInput`).
    const gone = clientGone(reply);
    await pipelines.awaitInput(pipeline, force, gone);
    const result = await ingest(core, principal, {
      table, kind, format, onInvalid: 'report', describeType, coercion: FELDERA_COERCION,
      // A stream that outlives a pause waits with its next chunk; one that outlives a stop ends.
      chunks: { ...INGRESS_CHUNKS, admit: () => pipelines.awaitInput(pipeline, force, gone) },
      signal: pipelines.stopSignal(pipeline),
      source: bodySource(request) ?? EMPTY_BODY,
      limits: { maxBytes: core.config.maxRequestBodyBytes },
      csv: { header: false, lenient: true, caseInsensitive: false, delimiter: ',', quote: '"', escape: '"', emptyTextIsEmptyString: true },
      // Values of JSON's kind for their column, as Feldera's decoder takes them: "5" is no INT, 1 no BOOLEAN.
      json: { updateFormat, arrays, atomicArrays: arrays, caseInsensitive: true, positional: true, typedValues: true, timestampsInMillis: flavor === 'pandas' },
    });
    pipelines.runs.noteInput(pipeline.namespace.id, table.name, { records: result.rowsAccepted, parseErrors: result.rowsInvalid });
    if (result.rowsInvalid > 0) throw parseErrors(result);
    return { token: encodeToken({ pipelineId: pipeline.state.id, sequence: result.sequence }) };
  });

  app.get('/v0/pipelines/:pipeline/completion_status', async (request: PipelineRequest) => {
    const pipeline = pipelines.get(request.params.pipeline, await request.principal(), 'read');
    const token = decodeToken(new QueryParams(request).get('token'));
    pipelines.requireDeployed(pipeline, 'ask it about a token');
    if (token.pipelineId !== pipeline.state.id) throw new FelderaError('InvalidParam', `The completion token was issued by another pipeline`, { pipeline_name: pipeline.namespace.name });
    // A token past every write yet made was never issued: it would never complete.
    if (token.sequence > core.writer.log.lastSequence) throw new FelderaError('InvalidParam', 'The completion token was not issued by this server', { pipeline_name: pipeline.namespace.name });
    // Writes commit in sequence order per table and views are evaluated when read, so once every
    // write up to the token's is committed, the token's records are in every table and view; and
    // once every open egress stream has passed their changes on (read them from its feed, and
    // written what it read), in those too.
    const complete = core.writer.log.completedThrough >= token.sequence && core.changes.reflects(pipeline.namespace.id, token.sequence)
      && !pipelines.unsent.any(pipeline.namespace.id);
    return { status: complete ? 'complete' : 'inprogress', step: null };
  });
}

/** The records that failed, in Feldera's terms; the good records of the push are kept. */
function parseErrors(result: WriteResult): FelderaError {
  const errors = result.errors.map((error) => parseError(error.messages.join('; '), error.row, error.columns[0] ?? null, error.source ?? error.values[0] ?? null));
  const lines = errors.slice(0, 10).map((error) => `    Parse error (event #${error.event_number}): ${error.description}`);
  const more = result.rowsInvalid > lines.length ? `\n    … and ${result.rowsInvalid - lines.length} more` : '';
  return new FelderaError(
    'ParseErrors',
    `Errors parsing input data (${result.rowsInvalid} error${result.rowsInvalid === 1 ? '' : 's'}):\n${lines.join('\n')}${more}`,
    { num_errors: result.rowsInvalid, errors },
  );
}
