import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PAGE_ROWS, type ChangeBatch } from '../../../core/changes/change-feeds.ts';
import { renderJsonRow, renderJsonValue, renderTextValue } from '../../../core/query/render-value.ts';
import type { SqlValue } from '../../../core/query/sql-values.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { clientGone } from '../../../server/client-gone.ts';
import { FELDERA_JSON } from '../encodings.ts';
import { QueryParams } from '../params.ts';
import type { Pipelines } from '../pipelines.ts';

/** Silence longer than this is broken by an empty chunk, so that clients and proxies know the stream is alive. */
const HEARTBEAT_MS = 3000;
/**
 * Without backpressure, how much output may wait for the client before a chunk is dropped: a
 * client too slow for it. Node's own buffer (16 KiB) holds less than one full chunk, so going by it
 * would drop the second chunk of any large change sent to a client that is keeping up.
 */
const UNSENT_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Rows a chunk holds at most: as many as the change feed reads at a time, so that gathering a
 * change's batches holds no more rows in memory than one read. A change whose deletes and inserts
 * fit goes out whole; a larger one is split.
 */
const CHUNK_ROWS = PAGE_ROWS;

/** A sequence number above every commit's: a feed reflects it once it holds nothing it has not passed on. */
const EVERY_COMMIT = Number.MAX_SAFE_INTEGER;

/** A chunk's fields after its sequence number, as JSON text (`,"json_data":[…]`). */
type Encode = (names: readonly string[], batches: readonly ChangeBatch[]) => string;

/** Each format's chunk body: JSON `{"insert": row}` / `{"delete": row}` items, or CSV lines ending in the weight. */
const ENCODERS: Record<'json' | 'csv', Encode> = {
  json: (names, batches) => `,"json_data":[${batches.flatMap(({ weight, rows }) => rows.map((row) => `{"${weight > 0 ? 'insert' : 'delete'}":${renderJsonRow(names, row, FELDERA_JSON)}}`)).join(',')}]`,
  csv: (_names, batches) => `,"text_data":${JSON.stringify(batches.flatMap(({ weight, rows }) => rows.map((row) => `${[...row.map(csvField), String(weight)].join(',')}\n`)).join(''))}`,
};

/**
 * Whether a batch joins the chunk gathered so far (`rows` rows): within CHUNK_ROWS, and not a
 * delete after an insert. A feed passes on each comparison's deletes, then its inserts, so such a
 * delete is of a later change: a consumer applying a chunk's deletes first would apply it before
 * the insert it comes after.
 */
function joinsChunk(gathered: readonly ChangeBatch[], rows: number, batch: ChangeBatch): boolean {
  const last = gathered.at(-1);
  return last === undefined || (rows + batch.rows.length <= CHUNK_ROWS && !(last.weight > 0 && batch.weight < 0));
}

/**
 * A CSV field as Feldera's ingress reads it back: NULL empty, an empty string quoted, quotes only
 * where needed, binary values (as every nested value) in JSON, as arrays of bytes.
 */
function csvField(value: SqlValue): string {
  if (value === null) return '';
  const text = value instanceof Uint8Array ? renderJsonValue(value, FELDERA_JSON) : renderTextValue(value);
  return text === '' || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Resolves once the response can take more, or is gone. Both listeners go when either fires: a
 * stream waits for its client again and again, and a listener left each time would pile up.
 */
function drainedOrClosed(out: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

type EgressRequest = FastifyRequest<{ Params: { pipeline: string; relation: string } }>;

/**
 * A stream of a table's or view's changes, one chunk per line: `{"sequence_number", "json_data" |
 * "text_data"}`, numbered from 0. With `send_snapshot` the current rows come first. A change's
 * deletes and inserts go out in one chunk (deletes first), as Feldera sends a step's output, so
 * that a consumer applying each chunk as a unit never sees an updated row missing; a change of
 * more than CHUNK_ROWS rows is split, deletes first. With `backpressure`, changes are read out
 * only as fast as the client takes them (commits meanwhile are passed on together, and
 * completion tokens wait); without it, a chunk is dropped while more than UNSENT_LIMIT_BYTES of
 * output wait for the client, and its sequence number skipped, so that the client can tell.
 */
export function egressRoutes(app: FastifyInstance, core: Sluice, pipelines: Pipelines): void {
  app.post('/v0/pipelines/:pipeline/egress/:relation', async (request: EgressRequest, reply: FastifyReply) => {
    const principal = await request.principal();
    const params = new QueryParams(request);
    const format = params.choice('format', ['csv', 'json'] as const, 'csv', 'UnknownOutputFormat');
    const backpressure = params.flag('backpressure', false);
    const snapshot = params.flag('send_snapshot', false);
    params.flag('array', false);
    const pipeline = pipelines.get(request.params.pipeline, principal, null);
    pipelines.requireDeployed(pipeline, 'follow its changes');
    const relation = pipelines.outputRelation(pipeline, request.params.relation);
    // The first copy of a costly view is stopped if the client goes meanwhile (and at the query time limit, or shutdown).
    const feed = await core.openChangeFeed(principal, relation, { snapshot, signal: clientGone(reply) });
    try {
      // A stop while the feed was opening ended the feeds open then, not this one.
      pipelines.requireDeployed(pipelines.get(request.params.pipeline, principal, null), 'follow its changes');
    } catch (error) {
      await feed.close();
      throw error;
    }
    const out = reply.raw;
    out.once('close', () => void feed.close());
    reply.hijack();
    out.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    // The client learns at once that it is subscribed, not with the first chunk.
    out.flushHeaders();
    const pipelineId = pipeline.namespace.id;
    let sequence = 0;
    let failed = false;
    /** The batches read for the next chunk; held (see UnsentChanges) until it is written. */
    let gathered: ChangeBatch[] = [];
    let gatheredRows = 0;
    const send = (fields: string, droppable: boolean): void => {
      const number = sequence++;
      if (droppable && out.writableLength > UNSENT_LIMIT_BYTES) {
        request.log.warn({ pipeline: pipeline.namespace.name, relation: relation.name, sequence: number }, 'egress client not keeping up: chunk dropped');
        return;
      }
      out.write(`{"sequence_number":${number}${fields}}\r\n`);
    };
    const gather = (batch: ChangeBatch): void => {
      if (gathered.length === 0) pipelines.unsent.hold(pipelineId);
      gathered.push(batch);
      gatheredRows += batch.rows.length;
    };
    const flush = (): void => {
      if (gathered.length === 0) return;
      if (!out.destroyed) send(ENCODERS[format](feed.names, gathered), !backpressure);
      gathered = [];
      gatheredRows = 0;
      pipelines.unsent.release(pipelineId);
    };
    try {
      for (;;) {
        if (backpressure && out.writableNeedDrain) await drainedOrClosed(out);
        // A chunk takes only what the feed has in hand (the rest of a comparison, or commits
        // already landed), never waiting for more: once the feed holds nothing, the chunk goes.
        if (gathered.length > 0 && feed.reflects(EVERY_COMMIT)) {
          flush();
          continue;
        }
        const next = await feed.next(gathered.length > 0 ? 0 : HEARTBEAT_MS);
        if (next === null || out.destroyed) break;
        if (next === 'idle') {
          if (gathered.length > 0) flush();
          else send('', !backpressure);
          continue;
        }
        if (!joinsChunk(gathered, gatheredRows, next)) flush();
        gather(next);
      }
    } catch (error) {
      request.log.error({ err: error, pipeline: pipeline.namespace.name, relation: relation.name }, 'egress stream failed');
      // Broken off rather than ended: the client's read fails, where a clean end would say the stream was done.
      failed = true;
    } finally {
      // What was read before the end (or the failure) still goes out; a change cut short by a stop
      // breaks the stream off, so that a client applying chunks does not take half a change for all of it.
      flush();
      await feed.close();
      if (failed || feed.cutShort) out.destroy();
      else out.end();
    }
  });
}
