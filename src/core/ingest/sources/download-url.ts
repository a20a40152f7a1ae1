import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { fetch as undiciFetch } from 'undici';
import { SluiceError, isSluiceError } from '../../errors.ts';
import { parseHttpUrl, withoutCredentials } from './http-url.ts';
import { mapStreamErrors } from './map-stream-errors.ts';
import { checkLiteralHost, publicNetworkAgent } from './public-network.ts';
import { sourceCancelled } from './source.ts';

const MAX_REDIRECTS = 5;

/** Imports may be large and remote servers slow; an hour stops only downloads that are truly stuck. */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 60 * 60 * 1000;

export interface Download {
  /** The response body, streamed; it fails with UNAVAILABLE if the download breaks or times out. */
  body: Readable;
  /** Content-Length, only when it counts the bytes of `body`: fetch undoes a Content-Encoding. */
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

/**
 * Starts downloading an http(s) URL. The timeout covers the whole download, body included;
 * destroying `body` aborts it. Unless `allowPrivateNetworks`, the URL and every redirect must lead
 * to public addresses (checked when connecting, so DNS cannot be used to slip past the check).
 */
export async function downloadUrl(url: string, options: DownloadOptions = {}): Promise<Download> {
  const { timeoutMs = DEFAULT_DOWNLOAD_TIMEOUT_MS, allowPrivateNetworks = false, signal: cancel } = options;
  const target = parseHttpUrl(url);
  const { href: shown, authorization } = withoutCredentials(target);
  const translate = (error: Error) => (cancel?.aborted ? sourceCancelled(cancel) : downloadError(error, shown, timeoutMs));
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
  // fetch refuses URLs with credentials; user:password@ is the usual way to pass Basic auth.
  const headers: Record<string, string> = authorization ? { authorization } : {};
  let response: Response;
  try {
    if (allowPrivateNetworks) response = await fetch(shown, { signal, headers });
    else {
      let next = new URL(shown);
      for (let redirects = 0; ; redirects += 1) {
        checkLiteralHost(next);
        response = (await undiciFetch(next, { signal, headers, redirect: 'manual', dispatcher: publicNetworkAgent })) as unknown as Response;
        const location = response.headers.get('location');
        if (response.status < 300 || response.status >= 400 || !location) break;
        await response.body?.cancel().catch(() => {});
        if (redirects === MAX_REDIRECTS) throw new SluiceError('UNAVAILABLE', `Download of ${shown} failed: more than ${MAX_REDIRECTS} redirects`, { url: shown });
        next = parseHttpUrl(new URL(location, next).href);
      }
    }
  } catch (error) {
    throw translate(error as Error);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    throw new SluiceError('UNAVAILABLE', `Download of ${shown} failed with HTTP status ${status}`, { url: shown, status: response.status });
  }
  const body = response.body === null ? Readable.from([], { objectMode: false }) : Readable.fromWeb(response.body as ReadableStream<Uint8Array>);
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  return {
    body: mapStreamErrors(body, translate),
    totalBytes: Number.isSafeInteger(length) && !response.headers.has('content-encoding') ? length : undefined,
    contentType: response.headers.get('content-type') ?? undefined,
  };
}

function downloadError(error: Error, shown: string, timeoutMs: number): SluiceError {
  // A refusal by the public-network check comes back wrapped in fetch's own errors.
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) if (isSluiceError(cause)) return cause;
  if (error.name === 'TimeoutError') {
    return new SluiceError('UNAVAILABLE', `Download of ${shown} timed out after ${timeoutMs} ms`, { url: shown }, { cause: error });
  }
  // fetch reports network failures as "fetch failed" with the real reason in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return new SluiceError('UNAVAILABLE', `Download of ${shown} failed: ${error.message}${cause}`, { url: shown }, { cause: error });
}
