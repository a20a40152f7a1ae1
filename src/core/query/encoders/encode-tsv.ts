import { isNestedValue, renderTextValue, type RenderOptions } from '../render-value.ts';
import type { SqlValue } from '../sql-values.ts';
import { encodeUtf8, type EncodedOutput, type EncoderInput, type TotalsOption } from './encoder-input.ts';

export interface TsvEncodeOptions extends RenderOptions, TotalsOption {
  header?: boolean;
}

/** ClickHouse's TabSeparated escapes; NULL is `\N`. */
const TSV_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  "'": "\\'",
};

/**
 * Tab-separated values, ClickHouse style: no quoting, special characters backslash-escaped. A
 * nested value in ClickHouse's syntax is written as it is: its strings are quoted and escaped
 * already, and it holds no tab or line break.
 */
export function encodeTsv(input: EncoderInput, options: TsvEncodeOptions = {}): EncodedOutput {
  const renderCell = (value: SqlValue): string => {
    if (value === null) return '\\N';
    const text = renderTextValue(value, options);
    return options.nested === 'clickhouse' && isNestedValue(value) ? text : escapeTsv(text);
  };
  return encodeUtf8(
    (async function* () {
      if (options.header) yield `${input.columns.map((column) => escapeTsv(column.name)).join('\t')}\n`;
      for await (const batch of input.batches) for (const row of batch) yield `${row.map(renderCell).join('\t')}\n`;
      if (options.totals) yield `\n${options.totals.map(renderCell).join('\t')}\n`;
    })(),
  );
}

function escapeTsv(text: string): string {
  return text.replace(/[\\\t\n\r\0\b\f']/g, (char) => TSV_ESCAPES[char]!);
}
