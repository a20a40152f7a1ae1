import type { Readable } from 'node:stream';
import { SluiceError } from '../../errors.ts';

/**
 * Where the bytes of an ingest come from: a request body, one file part of a multipart request, or
 * a remote http(s) URL downloaded by the server. Every kind but `bytes` is consumed as a stream.
 */
export type IngestSource =
  | { kind: 'stream'; stream: Readable; /** Content-Type / Content-Encoding / file name, to recognise gzip. */ hints?: SourceHints }
  /** A request body small enough to have been read whole as it arrived (see `bodySource`). */
  | { kind: 'bytes'; bytes: Buffer; hints?: SourceHints }
  | { kind: 'url'; url: string; hints?: SourceHints }
  /** A file the server already holds in its spool folder, decompressed (say, spooled to infer its schema first). */
  | { kind: 'file'; path: string };

export interface SourceHints {
  contentType?: string;
  contentEncoding?: string;
  fileName?: string;
  /** Bytes the source will send (a request's Content-Length): reported as progress total, checked against the limit up front. */
  contentLength?: number;
}

export interface SourceLimits {
  /** Largest number of (decompressed) bytes accepted; PAYLOAD_TOO_LARGE above. */
  maxBytes: number;
  /** For URL downloads: the longest the download may take, in milliseconds. */
  timeoutMs?: number;
  /** For URL downloads: whether loopback, private and reserved addresses may be reached (no by default). */
  allowPrivateNetworks?: boolean;
}

/** Progress of a long ingest, reported to the job that runs it. */
export type ProgressListener = (progress: { bytesRead: number; totalBytes?: number }) => void;

export interface OpenOptions {
  onProgress?: ProgressListener;
  /**
   * Cancels the source: a download is aborted, and the stream fails with the signal's reason when
   * that is a SluiceError, else with `sourceCancelled()`.
   */
  signal?: AbortSignal;
}

/** The error a source cancelled by `signal` fails with. */
export function sourceCancelled(signal?: AbortSignal): SluiceError {
  return signal?.reason instanceof SluiceError ? signal.reason : new SluiceError('UNAVAILABLE', 'The import was cancelled');
}
