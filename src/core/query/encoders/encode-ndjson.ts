import { renderJsonRow, type RenderOptions } from '../render-value.ts';
import { encodeUtf8, type EncodedOutput, type EncoderInput } from './encoder-input.ts';

/** One JSON object per row, each followed by a newline. */
export function encodeNdjson(input: EncoderInput, options: RenderOptions = {}): EncodedOutput {
  const names = input.columns.map((column) => column.name);
  return encodeUtf8(
    (async function* () {
      for await (const batch of input.batches) for (const row of batch) yield `${renderJsonRow(names, row, options)}\n`;
    })(),
  );
}
