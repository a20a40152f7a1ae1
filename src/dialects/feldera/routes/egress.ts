import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChangeBatch } from '../../../core/changes/change-feeds.ts';
import { renderJsonRow, renderJsonValue, renderTextValue } from '../../../core/query/render-value.ts';
import type { SqlValue } from '../../../core/query/sql-values.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { FELDERA_JSON } from '../encodings.ts';
import { QueryParams } from '../params.ts';
import type { Pipelines } from '../pipelines.ts';

/** Silence longer than this is broken by an empty chunk, so that clients and proxies know the stream is alive. */
const HEARTBEAT_MS = 3000;

/** A chunk's fields after its sequence number, as JSON text (`,"json_data":[…]`). */
type Encode = (names: readonly string[], batch: ChangeBatch) => string;

/** Each format's chunk body: JSON `{"insert": row}` / `{"delete": row}` items, or CSV lines ending in the weight. */
const ENCODERS: Record<'json' | 'csv', Encode> = {
  json: (names, { weight, rows }) => `,"json_data":[${rows.map((row) => `{"${weight > 0 ? 'insert' : 'delete'}":${renderJsonRow(names, row, FELDERA_JSON)}}`).join(',')}]`,
  csv: (_names, { weight, rows }) => `,"text_data":${JSON.stringify(rows.map((row) => `${[...row.map(csvField), String(weight)].join(',')}\n`).join(''))}`,
};

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
 * "text_data"}`, numbered from 0. With `send_snapshot` the current rows come first. With
 * `backpressure`, changes are read out only as fast as the client takes them (commits meanwhile
 * are passed on together, and completion tokens wait); without it, a chunk the client has no
 * room for is dropped, and its sequence number skipped, so that the client can tell.
 */
export function egressRoutes(app: FastifyInstance, core: Sluice, pipelines: Pipelines): void {
  app.post('/v0/pipelines/:pipeline/egress/:relation', async (request: EgressRequest, reply: FastifyReply) => {
    const principal = await request.principal();
    const params = new QueryParams(request);
    const format = params.choice('format', ['csv', 'json'] as const, 'csv', 'UnknownInputFormat');
    const backpressure = params.flag('backpressure', false);
    const snapshot = params.flag('send_snapshot', false);
    params.flag('array', false);
    const pipeline = pipelines.get(request.params.pipeline, principal, null);
    pipelines.requireDeployed(pipeline, 'follow its changes');
    const relation = pipelines.outputRelation(pipeline, request.params.relation);
    const feed = await core.openChangeFeed(principal, relation, { snapshot });
    const out = reply.raw;
    out.once('close', () => void feed.close());
    reply.hijack();
    out.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    // The client learns at once that it is subscribed, not with the first chunk.
    out.flushHeaders();
    let sequence = 0;
    let failed = false;
    const send = (fields: string, droppable: boolean): void => {
      const number = sequence++;
      if (droppable && out.writableNeedDrain) {
        request.log.warn({ pipeline: pipeline.namespace.name, relation: relation.name, sequence: number }, 'egress client not keeping up: chunk dropped');
        return;
      }
      out.write(`{"sequence_number":${number}${fields}}\r\n`);
    };
    try {
      for (;;) {
        if (backpressure && out.writableNeedDrain) await drainedOrClosed(out);
        const next = await feed.next(HEARTBEAT_MS);
        if (next === null || out.destroyed) break;
        send(next === 'idle' ? '' : ENCODERS[format](feed.names, next), !backpressure);
      }
    } catch (error) {
      request.log.error({ err: error, pipeline: pipeline.namespace.name, relation: relation.name }, 'egress stream failed');
      // Broken off rather than ended: the client's read fails, where a clean end would say the stream was done.
      failed = true;
    } finally {
      await feed.close();
      if (failed) out.destroy();
      else out.end();
    }
  });
}
