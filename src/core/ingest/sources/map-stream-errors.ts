import { PassThrough, type Readable } from 'node:stream';

/**
 * The same bytes as `stream`, but any error it fails with surfaces as `translate(error)`.
 * Destroying the result destroys `stream`, which is how a consumer cancels.
 */
export function mapStreamErrors(stream: Readable, translate: (error: Error) => Error): Readable {
  // Not pipeline(): it destroys every stream of the chain with the original error, which is what
  // `finished()` (and so stream/promises' pipeline) then reports, whatever the error event carried.
  const output = new PassThrough();
  stream.once('error', (error) => output.destroy(translate(error)));
  stream.pipe(output);
  // A consumer may start reading after the failure (once a spool file is open, say); it still gets
  // the error from the stream's errored state, but an error event with no listener yet would crash.
  output.on('error', () => undefined);
  output.once('close', () => {
    if (!stream.destroyed) stream.destroy();
  });
  return output;
}
