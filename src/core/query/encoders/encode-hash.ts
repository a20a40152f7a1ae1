import { createHash } from 'node:crypto';
import { renderJsonValue, type RenderOptions } from '../render-value.ts';
import type { EncodedOutput, EncoderInput } from './encoder-input.ts';

/**
 * A SHA-256 digest of the rows in order, as 64 lowercase hex digits (no newline). The hashed
 * bytes are, for each row, its values as a JSON array — `renderJsonValue` with the given options
 * (default: exact numbers or strings, `YYYY-MM-DD HH:MM:SS[.f]` timestamps, blobs as byte arrays),
 * no spaces — followed by `\n`, in UTF-8. Column names and types are not part of it: two queries
 * with the same rows in the same order hash alike.
 */
export async function* encodeHash(input: EncoderInput, options: RenderOptions = {}): EncodedOutput {
  const hash = createHash('sha256');
  for await (const batch of input.batches) {
    for (const row of batch) hash.update(`[${row.map((value) => renderJsonValue(value, options)).join(',')}]\n`, 'utf8');
  }
  yield Buffer.from(hash.digest('hex'), 'utf8');
}
