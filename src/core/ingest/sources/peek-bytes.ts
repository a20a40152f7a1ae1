import { Readable } from 'node:stream';

/**
 * The first `count` bytes of a stream (fewer if it is shorter), without consuming them: read the
 * returned `stream` instead of the original afterwards. Rejects if the stream fails first.
 */
export function peekBytes(source: Readable, count: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const cleanup = () => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (length < count && (chunk = source.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        length += chunk.length;
      }
      if (length < count) return;
      cleanup();
      const head = Buffer.concat(chunks);
      source.unshift(head);
      resolve({ head: head.subarray(0, count), stream: source });
    };
    // A stream cannot take bytes back once it ended, so a short one is replaced by a copy.
    const onEnd = () => {
      cleanup();
      const head = Buffer.concat(chunks);
      resolve({ head, stream: Readable.from(head.length > 0 ? [head] : [], { objectMode: false }) });
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => onError(source.errored ?? new Error('The stream was closed before its end'));
    if (source.destroyed) {
      onClose();
      return;
    }
    source.on('readable', onReadable);
    source.once('end', onEnd);
    source.once('error', onError);
    source.once('close', onClose);
  });
}
