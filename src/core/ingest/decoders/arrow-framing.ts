import { constants } from 'node:buffer';
import { CompressionType, Message, MessageHeader, compressionRegistry } from 'apache-arrow';
import { SluiceError } from '../../errors.ts';

/**
 * The message framing of an Arrow IPC stream, followed byte by byte before apache-arrow reads it.
 * apache-arrow trusts a message's length prefix and waits for that many bytes, so a body that is not
 * Arrow at all (a CSV's first four bytes read as 1.8 GB of metadata) would be buffered whole; and a
 * stream cut inside a length prefix reads as a clean end. Following the framing here rejects both
 * early, with a message that says where the stream went wrong.
 *
 * Each message is `[0xFFFFFFFF] [int32 metadata length] [metadata] [body]` (pre-1.0 writers leave
 * out the 0xFFFFFFFF); a zero length is the end-of-stream marker, which is optional: a stream may
 * also just end between messages.
 */

const CONTINUATION = 0xffffffff;
/** An Arrow IPC file starts with `ARROW1` and two bytes of padding, then holds a stream. */
const FILE_MAGIC = Buffer.from('ARROW1\0\0');
/** Metadata is a small flatbuffer (a schema, or one batch's buffer layout); a larger length is garbage. */
const MAX_METADATA_BYTES = 64 * 1024 * 1024;

type Phase = 'prefix' | 'length' | 'metadata' | 'body' | 'ended';

const describeBytes = (bytes: Uint8Array): string =>
  [...bytes.subarray(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');

const malformed = (message: string): SluiceError => new SluiceError('MALFORMED_BODY', `The Arrow IPC stream is malformed: ${message}`);

class ArrowFraming {
  private phase: Phase = 'prefix';
  private needed = 4;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private bodyLeft = 0;
  /** 1-based number of the message being read. */
  private message = 1;
  private messageStart = 0;
  private position = 0;

  /** `file`: the bytes followed are an Arrow IPC file's, after its leading magic. */
  constructor(private readonly file: boolean) {
    this.position = this.messageStart = file ? FILE_MAGIC.length : 0;
  }

  get ended(): boolean {
    return this.phase === 'ended';
  }

  /**
   * Whether bytes may follow the end-of-stream marker: a file's footer does. In a stream they would
   * be data never read (a second stream written after the first, say), so they are refused.
   */
  refuseTrailing(bytes: number): void {
    if (!this.file && bytes > 0) throw malformed(`bytes follow its end-of-stream marker, which ends at byte ${this.position}; send one stream per request`);
  }

  /** Follows one chunk; returns how many of its bytes belong to the stream (all, until the end-of-stream marker). */
  follow(chunk: Buffer): number {
    let at = 0;
    while (at < chunk.length && this.phase !== 'ended') {
      const wanted = this.phase === 'body' ? this.bodyLeft : this.needed - this.heldBytes;
      const step = Math.min(wanted, chunk.length - at);
      if (this.phase !== 'body') this.held.push(chunk.subarray(at, at + step));
      at += step;
      this.position += step;
      if (this.phase === 'body') {
        this.bodyLeft -= step;
        if (this.bodyLeft === 0) this.expectMessage();
        continue;
      }
      this.heldBytes += step;
      if (this.heldBytes < this.needed) continue;
      const bytes = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      this.advance(bytes);
    }
    return at;
  }

  /** Checks that the stream ended where a message may end. */
  finish(): void {
    if (this.position === 0) throw malformed('the body is empty');
    if (this.phase === 'ended' || (this.phase === 'prefix' && this.heldBytes === 0 && this.message > 1)) return;
    const where = this.message === 1 ? 'inside its schema message' : `inside message ${this.message}, which starts at byte ${this.messageStart}`;
    throw malformed(`it is truncated: it ends after ${this.position} bytes, ${where}`);
  }

  private expectMessage(): void {
    this.message += 1;
    this.messageStart = this.position;
    this.phase = 'prefix';
    this.needed = 4;
  }

  private advance(bytes: Buffer): void {
    if (this.phase === 'prefix') {
      const value = bytes.readUInt32LE(0);
      if (value === CONTINUATION) this.phase = 'length';
      else this.expectMetadata(value | 0, bytes);
    } else if (this.phase === 'length') {
      this.expectMetadata(bytes.readInt32LE(0), bytes);
    } else {
      this.readMetadata(bytes);
    }
  }

  private expectMetadata(length: number, bytes: Buffer): void {
    if (length === 0) {
      if (this.message === 1) throw malformed('it ends before its schema message');
      this.phase = 'ended';
      return;
    }
    if (length < 0 || length > MAX_METADATA_BYTES) {
      throw malformed(
        this.message === 1
          ? `it does not start with an Arrow message (first bytes: ${describeBytes(bytes)}); the body is not an Arrow IPC stream`
          : `message ${this.message} (at byte ${this.messageStart}) has an invalid metadata length ${length}`,
      );
    }
    this.phase = 'metadata';
    this.needed = length;
  }

  private readMetadata(bytes: Buffer): void {
    let message: Message;
    try {
      message = Message.decode(bytes);
      if (message.isRecordBatch() || message.isDictionaryBatch()) checkCompression(message);
    } catch (error) {
      if (error instanceof SluiceError) throw error;
      throw malformed(`message ${this.message} (at byte ${this.messageStart}) has unreadable metadata: ${(error as Error).message}`);
    }
    if (!(message.isSchema() || message.isRecordBatch() || message.isDictionaryBatch())) {
      // apache-arrow would skip such a message without reading its body, and read the body as messages.
      const kind = message.headerType === MessageHeader.NONE ? 'has unreadable metadata' : `is a ${MessageHeader[message.headerType] ?? 'unknown'} message`;
      throw malformed(`message ${this.message} (at byte ${this.messageStart}) ${kind}; a stream holds a schema, dictionaries and record batches`);
    }
    if (this.message === 1 && !message.isSchema()) {
      throw malformed(
        this.file
          ? `it is an Arrow IPC file whose messages do not start with a schema (the schema is only in its footer, as apache-arrow for JavaScript writes files); send the Arrow IPC stream format`
          : `it must start with a schema message, not a ${MessageHeader[message.headerType]} message`,
      );
    }
    if (message.bodyLength < 0 || message.bodyLength > constants.MAX_LENGTH) {
      throw malformed(`message ${this.message} declares a body of ${message.bodyLength} bytes; send record batches under ${constants.MAX_LENGTH} bytes`);
    }
    this.bodyLeft = message.bodyLength;
    if (this.bodyLeft === 0) this.expectMessage();
    else this.phase = 'body';
  }
}

/** apache-arrow decompresses only with codecs an application registers; Node has none for LZ4 or ZSTD. */
function checkCompression(message: Message<MessageHeader.RecordBatch> | Message<MessageHeader.DictionaryBatch>): void {
  const header = message.header();
  const compression = 'data' in header ? header.data.compression : header.compression;
  if (compression === null || compression === undefined || compressionRegistry.get(compression.type)?.decode !== undefined) return;
  const name = CompressionType[compression.type] ?? String(compression.type);
  throw new SluiceError('UNSUPPORTED_FORMAT', `Arrow IPC streams compressed with ${name} are not supported; send uncompressed buffers`, { compression: name });
}

/**
 * Passes the bytes of an Arrow IPC stream (or file) on to apache-arrow while checking their framing:
 * throws MALFORMED_BODY as soon as the bytes cannot be an Arrow stream, and stops at the
 * end-of-stream marker (what follows it in a file, its footer, is not read; in a stream, anything
 * is refused).
 */
export async function* followArrowFraming(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // The first 8 bytes tell a stream from a file, whose leading magic apache-arrow must not see: it
  // would read a file whole to find its footer. Most writers put a file's schema before its batches
  // too, so after the magic a file reads as a stream.
  let framing: ArrowFraming | undefined;
  let head = Buffer.alloc(0);
  // The bytes up to the marker are held back until the rest of the body is read (to see that a
  // stream ends there): apache-arrow stops reading at the marker.
  let last: Buffer | undefined;
  for await (const chunk of chunks) {
    if (framing?.ended) {
      framing.refuseTrailing(chunk.length);
      continue;
    }
    let bytes = chunk;
    if (framing === undefined) {
      head = Buffer.concat([head, chunk]);
      if (head.length < FILE_MAGIC.length) continue;
      const file = head.subarray(0, FILE_MAGIC.length).equals(FILE_MAGIC);
      framing = new ArrowFraming(file);
      bytes = file ? head.subarray(FILE_MAGIC.length) : head;
    }
    const length = framing.follow(bytes);
    if (framing.ended) {
      framing.refuseTrailing(bytes.length - length);
      last = bytes.subarray(0, length);
    } else if (length > 0) yield bytes.subarray(0, length);
  }
  if (framing === undefined) {
    framing = new ArrowFraming(false);
    framing.follow(head);
  }
  framing.finish();
  if (last !== undefined && last.length > 0) yield last;
}
