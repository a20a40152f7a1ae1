import { createReadStream } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SluiceError } from '../../errors.ts';
import { ByteLimit, payloadTooLarge } from './byte-limit.ts';
import { mapStreamErrors } from './map-stream-errors.ts';
import { peekBytes } from './peek-bytes.ts';
import { sourceCancelled, type IngestSource, type OpenOptions, type SourceHints, type SourceLimits } from './source.ts';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * The content of a source as a byte stream, gunzipped when it is gzip. Fails (the promise, or later
 * the stream) with PAYLOAD_TOO_LARGE past `limits.maxBytes` — counted before and after
 * decompression — MALFORMED_BODY for corrupt gzip, INVALID_ARGUMENT for a URL that is not http(s)
 * and UNAVAILABLE for a failed download, or once `options.signal` cancels it (see `sourceCancelled`). Destroying the stream
 * cancels the source.
 */
export async function openSource(source: IngestSource, limits: SourceLimits, options: OpenOptions = {}): Promise<Readable> {
  const { signal } = options;
  if (signal?.aborted) throw sourceCancelled(signal);
  const stream = await openContent(source, limits, options);
  if (signal === undefined) return stream;
  // The signal may have fired while the source was opening (a download does stop, but a body may not).
  if (signal.aborted) {
    stream.destroy();
    throw sourceCancelled(signal);
  }
  const cancel = () => stream.destroy(sourceCancelled(signal));
  signal.addEventListener('abort', cancel, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', cancel));
  return stream;
}

async function openContent(source: IngestSource, limits: SourceLimits, { onProgress, signal }: OpenOptions): Promise<Readable> {
  if (source.kind === 'file') return createReadStream(source.path);
  if (source.kind !== 'url') checkEncoding(source.hints);
  let raw: Readable;
  let totalBytes: number | undefined;
  let gzipDeclared: boolean;
  if (source.kind === 'url') {
    // The download's code is loaded on the first URL import.
    const { downloadUrl } = await import('./download-url.ts');
    const download = await downloadUrl(source.url, { timeoutMs: limits.timeoutMs, allowPrivateNetworks: limits.allowPrivateNetworks, signal });
    raw = download.body;
    totalBytes = download.totalBytes;
    // The download has already undone any Content-Encoding, after which servers' labels (a .gz name, an
    // application/gzip type) no longer describe the bytes; the bytes themselves still do.
    gzipDeclared = false;
  } else if (source.kind === 'bytes') {
    raw = Readable.from([source.bytes], { objectMode: false });
    totalBytes = source.bytes.length;
    gzipDeclared = isGzipDeclared(source.hints);
  } else {
    raw = source.stream;
    totalBytes = source.hints?.contentLength;
    gzipDeclared = isGzipDeclared(source.hints);
  }
  if (totalBytes !== undefined && totalBytes > limits.maxBytes) {
    raw.destroy();
    throw payloadTooLarge(limits.maxBytes);
  }

  const { head, stream } = await peekBytes(raw, GZIP_MAGIC.length);
  const report = onProgress && ((bytesRead: number) => onProgress({ bytesRead, totalBytes }));
  const received = pipeline(stream, new ByteLimit(limits.maxBytes, { onBytes: report }), () => {});
  if (!gzipDeclared && !hasGzipMagic(head)) return received;

  // The limit applies again after decompression, so that a small gzip bomb cannot expand unchecked.
  const content = pipeline(received, createGunzip(), new ByteLimit(limits.maxBytes, { subject: 'Decompressed payload' }), () => {});
  return mapStreamErrors(content, (error) => (isZlibError(error) ? malformedGzip(error) : error));
}

/**
 * The content of a source already held whole in memory, when it needs no decompression: readers
 * take it as it is, without the streams `openSource` sets up. Undefined for every other source.
 * Fails with PAYLOAD_TOO_LARGE past `limits.maxBytes`, as `openSource` would.
 */
export function wholeContent(source: IngestSource, limits: SourceLimits): Buffer | undefined {
  if (source.kind !== 'bytes') return undefined;
  checkEncoding(source.hints);
  if (isGzipDeclared(source.hints) || hasGzipMagic(source.bytes)) return undefined;
  if (source.bytes.length > limits.maxBytes) throw payloadTooLarge(limits.maxBytes);
  return source.bytes;
}

/** A body's Content-Encoding must be one Sluice undoes (gzip) or none: other bytes would be read as they are, as garbage. */
function checkEncoding(hints: SourceHints | undefined): void {
  const encodings = (hints?.contentEncoding ?? '').split(',').map((encoding) => encoding.trim().toLowerCase()).filter((encoding) => encoding !== '' && encoding !== 'identity');
  const unsupported = encodings.find((encoding) => encoding !== 'gzip' && encoding !== 'x-gzip');
  if (unsupported !== undefined || encodings.length > 1) {
    throw new SluiceError('UNSUPPORTED_FORMAT', `Content-Encoding "${hints?.contentEncoding}" is not supported: send the body as it is, or gzip-compressed`, { contentEncoding: hints?.contentEncoding });
  }
}

function isGzipDeclared(hints: SourceHints | undefined): boolean {
  if (hints === undefined) return false;
  const declaresGzip = (value: string | undefined) => value !== undefined && value.toLowerCase().includes('gzip');
  return declaresGzip(hints.contentEncoding) || declaresGzip(hints.contentType) || (hints.fileName?.toLowerCase().endsWith('.gz') ?? false);
}

function hasGzipMagic(head: Buffer): boolean {
  return head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

function isZlibError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

function malformedGzip(error: Error): SluiceError {
  return new SluiceError('MALFORMED_BODY', `The body is not valid gzip: ${error.message}`, null, { cause: error });
}
