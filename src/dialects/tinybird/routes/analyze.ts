import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SluiceError } from '../../../core/errors.ts';
import { analyzeNdjson, analyzeParquet, inferCsv, previewSql, type PreviewColumn } from '../../../core/ingest/inference/index.ts';
import { parseHttpUrl } from '../../../core/ingest/sources/http-url.ts';
import type { IngestSource } from '../../../core/ingest/sources/source.ts';
import { spoolToFile } from '../../../core/ingest/sources/spool-file.ts';
import { encodeQuery } from '../../../core/query/encode-query.ts';
import { collectOutput } from '../../../core/query/encoders/encoder-input.ts';
import type { Sluice } from '../../../core/sluice.ts';
import { CLICKHOUSE_OUTPUT } from './sql.ts';
import { printClickHouseType } from '../../../core/types/index.ts';
import { multipartParts } from '../../../server/body.ts';
import { CLICKHOUSE_CSV_NULL, type TinybirdFormat } from '../import.ts';
import { Params } from '../params.ts';
import { printSchema } from '../schema.ts';
import { requireCreate } from '../scopes.ts';

const ANALYZE_MAX_BYTES = 1024 * 1024 * 1024;
const FORMAT_OF_PART: Record<string, TinybirdFormat> = { csv: 'csv', ndjson: 'ndjson', parquet: 'parquet' };

/** The format named by the request, the part, or the file name (`.ndjson`, `.parquet`, `.csv`, with or without `.gz`). */
function formatOf(params: Params, part: string | undefined, fileName: string | undefined): TinybirdFormat {
  const named = params.get('format');
  if (named !== undefined) {
    if (!(named in FORMAT_OF_PART)) throw new SluiceError('INVALID_ARGUMENT', `Invalid format "${named}", valid formats are csv, ndjson, parquet`);
    return FORMAT_OF_PART[named]!;
  }
  if (part && FORMAT_OF_PART[part]) return FORMAT_OF_PART[part]!;
  const extension = /\.(csv|ndjson|jsonl|json|parquet)(\.gz)?$/i.exec(fileName ?? '')?.[1]?.toLowerCase();
  if (extension === 'parquet') return 'parquet';
  if (extension === 'ndjson' || extension === 'jsonl' || extension === 'json') return 'ndjson';
  return 'csv';
}

/**
 * The Analyze API: a file (multipart `file`, `csv`, `ndjson` or `parquet`) or a URL is spooled,
 * its columns inferred (JSONPaths, recommended types, presence), and its first rows previewed as
 * those columns would hold them.
 */
async function analyze(core: Sluice, source: IngestSource, format: TinybirdFormat) {
  const stream = await core.openSource(source, { maxBytes: ANALYZE_MAX_BYTES });
  const file = await spoolToFile(stream, core.storage.spoolDir, { extension: format });
  try {
    let columns: Array<PreviewColumn & { presentPct: number | null }>;
    let dialect: Awaited<ReturnType<typeof inferCsv>>['dialect'] | undefined;
    if (format === 'csv') {
      // A column of numbers and `\N` is recommended as it is created from the same file: numbers that may be missing.
      const inference = await inferCsv(core.storage, file.path, { nullText: CLICKHOUSE_CSV_NULL });
      dialect = inference.dialect;
      columns = inference.columns.map((column) => ({ name: column.name, field: column.field, presentPct: null }));
    } else {
      const analysis = format === 'ndjson' ? await analyzeNdjson(core.storage, file.path) : await analyzeParquet(core.storage, file.path);
      columns = analysis.columns.map((column) => ({ name: column.name, field: column.field, path: column.path, presentPct: column.presentPct }));
    }
    if (columns.length === 0) throw new SluiceError('INVALID_ARGUMENT', 'The file has no columns to analyze: its records hold no values');
    const sql = previewSql(format, file.path, columns, dialect ? { dialect, nullText: CLICKHOUSE_CSV_NULL } : {});
    // Server-built SQL over the server's own spool file: no user text reaches it, so it needs no guard.
    const preview = await encodeQuery(core.storage, { sql, tables: [] }, 'json', { ...CLICKHOUSE_OUTPUT, maxRows: 10 });
    const schemaColumns = columns.map((column) => ({ name: column.name, type: column.field.type, nullable: column.field.nullable, ...(column.path && { jsonPath: column.path }) }));
    return {
      analysis: {
        columns: columns.map((column) => ({
          path: column.path ?? null, recommended_type: printClickHouseType(column.field), present_pct: column.presentPct, name: column.name,
        })),
        schema: printSchema(schemaColumns),
      },
      // The preview shows the proposed types, not DuckDB's reading of the result.
      preview: {
        ...JSON.parse(new TextDecoder().decode(await collectOutput(preview.body))),
        meta: columns.map((column) => ({ name: column.name, type: printClickHouseType(column.field) })),
      },
      ...(dialect && {
        dialect: { delimiter: dialect.delimiter, has_header: dialect.hasHeader, newline: dialect.newline, escapechar: dialect.escape, encoding: dialect.encoding },
      }),
    };
  } finally {
    await file.remove();
  }
}

export function analyzeRoutes(app: FastifyInstance, core: Sluice): void {
  app.post('/v0/analyze', async (request: FastifyRequest) => {
    requireCreate(await request.principal());
    if (request.isMultipart()) {
      const params = Params.ofQuery(request);
      let result: unknown;
      for await (const part of multipartParts(request)) {
        if (part.type === 'field') params.add(part.fieldname, String(part.value));
        else if (result === undefined) {
          const source: IngestSource = { kind: 'stream', stream: part.file, hints: { fileName: part.filename, contentType: part.mimetype } };
          result = await analyze(core, source, formatOf(params, part.fieldname, part.filename));
        } else part.skip();
      }
      if (result === undefined) throw new SluiceError('INVALID_ARGUMENT', 'Send a file (multipart part file, csv, ndjson or parquet) or a url');
      return result;
    }
    const params = await Params.of(request);
    const url = params.get('url');
    if (!url) throw new SluiceError('INVALID_ARGUMENT', 'Send a file (multipart part file, csv, ndjson or parquet) or a url');
    return analyze(core, { kind: 'url', url }, formatOf(params, undefined, parseHttpUrl(url).pathname));
  });
}
