import { PassThrough, pipeline, type Readable } from 'node:stream';

/**
 * The same bytes as `stream`, but any error it (or a stream piped into it) fails with surfaces as
 * `translate(error)`. Destroying the result destroys `stream`, which is how a consumer cancels.
 */
export function mapStreamErrors(stream: Readable, translate: (error: Error) => Error): Readable {
  // pipeline() destroys its last stream with the first error; that error reaches listeners through
  // _destroy's callback, so translating it there covers every way the chain can fail.
  const translator = new PassThrough({
    destroy(error, callback) {
      callback(error === null ? null : translate(error));
    },
  });
  return pipeline(stream, translator, () => {});
}
