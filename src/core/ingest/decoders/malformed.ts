import { SluiceError } from '../../errors.ts';

/**
 * A reader's failure on a request's bytes: the client sent something that is not the format it
 * named. The reader's message names the spooled file it read, a path of the server's that the
 * client has no use for, which is replaced by `<body>`.
 */
export function asMalformed(error: unknown, format: string, path?: string): SluiceError {
  const said = error instanceof Error ? error.message : String(error);
  const message = path === undefined ? said : said.replaceAll(`'${path}'`, '<body>').replaceAll(`"${path}"`, '<body>').replaceAll(path, '<body>');
  return new SluiceError('MALFORMED_BODY', `The ${format} data could not be read: ${message}`, null, { cause: error });
}
