import { Transform, type TransformCallback } from 'node:stream';
import { SluiceError } from '../../errors.ts';

export interface ByteLimitOptions {
  /** What is being counted, for the error message ("Payload", "Decompressed payload"). */
  subject?: string;
  /** Called with the running total after each chunk that passed the limit. */
  onBytes?: (bytesRead: number) => void;
}

/** Passes bytes through unchanged, counting them; fails with PAYLOAD_TOO_LARGE once more than `maxBytes` went by. */
export class ByteLimit extends Transform {
  bytesRead = 0;

  constructor(
    readonly maxBytes: number,
    private readonly options: ByteLimitOptions = {},
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytesRead += chunk.length;
    if (this.bytesRead > this.maxBytes) {
      callback(payloadTooLarge(this.maxBytes, this.options.subject));
      return;
    }
    this.options.onBytes?.(this.bytesRead);
    callback(null, chunk);
  }
}

export function payloadTooLarge(maxBytes: number, subject = 'Payload'): SluiceError {
  return new SluiceError('PAYLOAD_TOO_LARGE', `${subject} is larger than the limit of ${maxBytes} bytes`, { maxBytes });
}
