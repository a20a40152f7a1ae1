import type { DataTypeKind } from '../../types/data-type.ts';
import { renderTextValue, type RenderOptions } from '../render-value.ts';
import { encodeUtf8, type EncodedOutput, type EncoderInput } from './encoder-input.ts';

export type TextTableStyle = 'pretty-compact' | 'ascii';

export interface TextTableOptions extends RenderOptions {
  style: TextTableStyle;
}

interface Frame {
  /** Lines around the header and the rows; each gets the column widths. */
  top: (widths: number[], header: string[]) => string[];
  row: (cells: string[]) => string;
  bottom: (widths: number[]) => string[];
  nullText: string;
  alignNumbersRight: boolean;
}

const rule = (left: string, fill: string, join: string, right: string) => (widths: number[]) =>
  `${left}${widths.map((width) => fill.repeat(width + 2)).join(join)}${right}`;

/**
 * ClickHouse's PrettyCompact (Tinybird) and the `+---+` table of Arrow's pretty printer (Feldera's
 * `text` format, where NULL is an empty cell).
 */
const FRAMES: Record<TextTableStyle, Frame> = {
  'pretty-compact': {
    top: (_widths, header) => [`┌─${header.join('─┬─')}─┐`],
    row: (cells) => `│ ${cells.join(' │ ')} │`,
    bottom: (widths) => [rule('└', '─', '┴', '┘')(widths)],
    nullText: 'ᴺᵁᴸᴸ',
    alignNumbersRight: true,
  },
  ascii: {
    top: (widths, header) => [rule('+', '-', '+', '+')(widths), `| ${header.join(' | ')} |`, rule('+', '-', '+', '+')(widths)],
    row: (cells) => `| ${cells.join(' | ')} |`,
    bottom: (widths) => [rule('+', '-', '+', '+')(widths)],
    nullText: '',
    alignNumbersRight: false,
  },
};

const NUMERIC_KINDS: ReadonlySet<DataTypeKind> = new Set(['int', 'float', 'decimal']);

/** A text table. Column widths depend on every value, so the rows are held until the end. */
export function encodeTextTable(input: EncoderInput, options: TextTableOptions): EncodedOutput {
  const frame = FRAMES[options.style];
  return encodeUtf8(
    (async function* () {
      const rows: string[][] = [];
      for await (const batch of input.batches) {
        for (const row of batch) rows.push(row.map((value) => (value === null ? frame.nullText : toSingleLine(renderTextValue(value, options)))));
      }
      const names = input.columns.map((column) => toSingleLine(column.name));
      const widths = names.map((name, index) => Math.max(displayWidth(name), ...rows.map((row) => displayWidth(row[index]!))));
      const rightAligned = input.columns.map((column) => frame.alignNumbersRight && NUMERIC_KINDS.has(column.type.kind));
      const align = (cells: string[], fill: string): string[] =>
        cells.map((cell, index) => {
          const padding = fill.repeat(widths[index]! - displayWidth(cell));
          return rightAligned[index] ? padding + cell : cell + padding;
        });
      const lines = [
        ...frame.top(widths, options.style === 'pretty-compact' ? align(names, '─') : align(names, ' ')),
        ...rows.map((row) => frame.row(align(row, ' '))),
        ...frame.bottom(widths),
      ];
      yield `${lines.join('\n')}\n`;
    })(),
  );
}

const LINE_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function toSingleLine(text: string): string {
  return text.replace(/[\n\r\t]/g, (char) => LINE_ESCAPES[char]!);
}

function displayWidth(text: string): number {
  return [...text].length;
}
