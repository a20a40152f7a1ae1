import type { FieldType } from '../../types/data-type.ts';
import { ObservedNulls } from '../observed-nulls.ts';
import { renderJsonRow, type RenderOptions } from '../render-value.ts';
import { encodeUtf8, type EncodedOutput, type EncoderInput, type TotalsOption } from './encoder-input.ts';

export interface JsonEncodeOptions extends RenderOptions, TotalsOption {
  /** Each dialect names types its own way (ClickHouse, SQL, Arrow names). */
  printType: (type: FieldType) => string;
}

/**
 * `{"data":[{…}],["totals":{…},]"meta":[{name,type}],"rows":N,"rows_before_limit_at_least":N,"statistics":{…}}`,
 * written as the rows arrive. `meta` comes after the rows so that a type is printed nullable only
 * when the result holds a NULL in that column, or in that level of a list, map or tuple (DuckDB
 * results do not say whether a value may be NULL; see ObservedNulls). Without a summary from the runner, rows_before_limit_at_least is the row count and the
 * statistics count only the encoding time.
 */
export function encodeJson(input: EncoderInput, options: JsonEncodeOptions): EncodedOutput {
  return encodeUtf8(writeJson(input, options));
}

async function* writeJson(input: EncoderInput, options: JsonEncodeOptions): AsyncGenerator<string> {
  const started = performance.now();
  const names = input.columns.map((column) => column.name);
  const observed = input.columns.map((column) => new ObservedNulls(column.type));
  yield `{"data":[`;
  let rows = 0;
  for await (const batch of input.batches) {
    for (const row of batch) {
      row.forEach((value, index) => observed[index]!.observe(value));
      yield `${rows === 0 ? '' : ','}${renderJsonRow(names, row, options)}`;
      rows += 1;
    }
  }
  if (options.totals) {
    options.totals.forEach((value, index) => observed[index]!.observe(value));
    yield `],"totals":${renderJsonRow(names, options.totals, options)}`;
  } else yield ']';
  const meta = input.columns.map((column, index) => ({ name: column.name, type: options.printType(observed[index]!.field()) }));
  const summary = input.summary?.() ?? {
    rowsBeforeLimit: rows,
    statistics: { elapsedSeconds: (performance.now() - started) / 1000, rowsRead: 0, bytesRead: 0 },
  };
  const { elapsedSeconds, rowsRead, bytesRead } = summary.statistics;
  const statistics = { elapsed: elapsedSeconds, rows_read: rowsRead, bytes_read: bytesRead };
  yield `,"meta":${JSON.stringify(meta)},"rows":${rows},"rows_before_limit_at_least":${Math.max(rows, summary.rowsBeforeLimit)},"statistics":${JSON.stringify(statistics)}}\n`;
}
