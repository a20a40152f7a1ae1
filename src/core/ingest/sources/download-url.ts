import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { SluiceError, isSluiceError } from '../../errors.ts';
import { parseHttpUrl, withoutCredentials } from './http-url.ts';
import { mapStreamErrors } from './map-stream-errors.ts';
import { checkLiteralHost, publicLookup } from './public-network.ts';
import { sourceCancelled } from './source.ts';

const MAX_REDIRECTS = 5;

/** Imports may be large and remote servers slow; an hour stops only downloads that are truly stuck. */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 60 * 60 * 1000;

export interface Download {
  /** The response body, streamed and decoded; it fails with UNAVAILABLE if the download breaks or times out. */
  body: Readable;
  /** Content-Length, only when it counts the bytes of `body` (there is no Content-Encoding to undo). */
  totalBytes?: number;
  contentType?: string;
}

export interface DownloadOptions {
  /** The longest the whole download may take, body included. */
  timeoutMs?: number;
  /** Whether loopback, private and reserved addresses may be reached. */
  allowPrivateNetworks?: boolean;
  /** Aborts the download, which then fails with `sourceCancelled(signal)`. */
  signal?: AbortSignal;
}

/** The Content-Encodings a download undoes, as browsers and fetch do; another is passed on as sent. */
const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * Starts downloading an http(s) URL, following up to five redirects. The timeout covers the whole
 * download, body included; destroying `body` aborts it. Unless `allowPrivateNetworks`, the URL and
 * every redirect must lead to public addresses (checked when connecting, so DNS cannot be used to
 * slip past the check). Credentials in the URL are sent as Basic authorization, to its origin only.
 *
 * Node's own HTTP client, not fetch: undici's (Node 20's fetch, and undici before 8, which needs
 * Node 22) fails an assertion that nothing can catch, ending the process, when a server closes the
 * connection while the body waits for a slower reader (nodejs/undici#5360).
 */
export async function downloadUrl(url: string, options: DownloadOptions = {}): Promise<Download> {
  const { timeoutMs = DEFAULT_DOWNLOAD_TIMEOUT_MS, allowPrivateNetworks = false, signal: cancel } = options;
  const { href: shown, authorization } = withoutCredentials(parseHttpUrl(url));
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
  const translate = (error: Error) => (cancel?.aborted ? sourceCancelled(cancel) : downloadError(error, shown, timeout.aborted, timeoutMs));
  let response: IncomingMessage;
  try {
    let next = new URL(shown);
    let credentials = authorization;
    for (let redirects = 0; ; redirects += 1) {
      if (!allowPrivateNetworks) checkLiteralHost(next);
      response = await get(next, credentials ? { authorization: credentials } : {}, signal, allowPrivateNetworks);
      const location = response.headers.location;
      const status = response.statusCode ?? 0;
      if (status < 300 || status >= 400 || !location) break;
      response.destroy();
      if (redirects === MAX_REDIRECTS) throw new SluiceError('UNAVAILABLE', `Download of ${shown} failed: more than ${MAX_REDIRECTS} redirects`, { url: shown });
      const target = withoutCredentials(parseHttpUrl(new URL(location, next).href));
      const following = new URL(target.href);
      credentials = target.authorization ?? (following.origin === next.origin ? credentials : undefined);
      next = following;
    }
  } catch (error) {
    throw translate(error as Error);
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    response.destroy();
    const text = `${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
    throw new SluiceError('UNAVAILABLE', `Download of ${shown} failed with HTTP status ${text}`, { url: shown, status });
  }
  const decoder = DECODERS[(response.headers['content-encoding'] ?? '').trim().toLowerCase()]?.();
  const body = decoder ? pipeline(response, decoder, () => {}) : response;
  const length = Number(response.headers['content-length'] ?? Number.NaN);
  return {
    body: mapStreamErrors(body, translate),
    totalBytes: Number.isSafeInteger(length) && !decoder ? length : undefined,
    contentType: response.headers['content-type'],
  };
}

/** One GET, answered once its headers arrive; the body is the response's stream. */
function get(url: URL, headers: IncomingHttpHeaders, signal: AbortSignal, allowPrivateNetworks: boolean): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      headers: { ...headers, 'accept-encoding': Object.keys(DECODERS).join(', ') },
      signal,
      // A connection of its own (the import's lookup applies to it), closed with the download.
      agent: false,
      ...(!allowPrivateNetworks && { lookup: publicLookup as never }),
    }, resolve);
    // Errors after the answer began reach its body too; the first settles the promise.
    request.on('error', reject);
    request.end();
  });
}

function downloadError(error: Error, shown: string, timedOut: boolean, timeoutMs: number): SluiceError {
  // A refusal by the public-network check comes back as the connection's error.
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) if (isSluiceError(cause)) return cause;
  if (timedOut) return new SluiceError('UNAVAILABLE', `Download of ${shown} timed out after ${timeoutMs} ms`, { url: shown }, { cause: error });
  // Node reports a connection closed before the body's end as 'aborted'.
  const reason = error.message === 'aborted' ? 'the connection closed before the whole body arrived' : error.message;
  return new SluiceError('UNAVAILABLE', `Download of ${shown} failed: ${reason}`, { url: shown }, { cause: error });
}
