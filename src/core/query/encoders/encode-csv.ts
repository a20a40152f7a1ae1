import { isNumericValue, renderTextValue, type RenderOptions } from '../render-value.ts';
import type { SqlValue } from '../sql-values.ts';
import { encodeUtf8, type EncodedOutput, type EncoderInput, type TotalsOption } from './encoder-input.ts';

export interface CsvEncodeOptions extends RenderOptions, TotalsOption {
  header?: boolean;
  /** How NULL is written; ClickHouse's `\N` by default, so that it differs from an empty string. */
  nullText?: string;
}

/**
 * RFC 4180 CSV, the way ClickHouse writes it: every text value (strings, dates, nested values …)
 * in double quotes with inner quotes doubled, numbers and booleans bare, `\n` line ends, and the
 * header names quoted.
 */
export function encodeCsv(input: EncoderInput, options: CsvEncodeOptions = {}): EncodedOutput {
  const nullText = options.nullText ?? '\\N';
  const renderCell = (value: SqlValue): string =>
    value === null ? nullText : isNumericValue(value) || typeof value === 'boolean' ? renderTextValue(value, options) : quoteCsv(renderTextValue(value, options));
  return encodeUtf8(
    (async function* () {
      if (options.header) yield `${input.columns.map((column) => quoteCsv(column.name)).join(',')}\n`;
      for await (const batch of input.batches) for (const row of batch) yield `${row.map(renderCell).join(',')}\n`;
      if (options.totals) yield `\n${options.totals.map(renderCell).join(',')}\n`;
    })(),
  );
}

function quoteCsv(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}
