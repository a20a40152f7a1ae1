import { SluiceError } from '../../errors.ts';

/** A reader's failure on a request's bytes: the client sent something that is not the format it named. */
export function asMalformed(error: unknown, format: string): SluiceError {
  const message = error instanceof Error ? error.message : String(error);
  return new SluiceError('MALFORMED_BODY', `The ${format} data could not be read: ${message}`, null, { cause: error });
}
