import type { Column } from '../catalog/model.ts';
import { jsonInput, jsonLine, jsonLinesFile, jsonTextsInMemory, type JsonDecodeOptions, type JsonText } from './decoders/json-input.ts';
import { openSpool, type SpoolWriter } from './sources/spool-writer.ts';
import type { JsonIngestOptions } from './ingest.ts';
import type { StagedInput } from './staged-input.ts';

/** JSON values up to this size are held in memory; a larger batch is spooled to a file. */
const IN_MEMORY_JSON_BYTES = 8 * 1024 * 1024;

/** The JSON values of one write, gathered as they are split out of a stream, in bounded memory. */
export class JsonBatch {
  private readonly values: JsonText[] = [];
  private spool: SpoolWriter | undefined;
  /** Characters of value text gathered. */
  bytes = 0;
  count = 0;

  constructor(
    private readonly spoolDir: string,
    /** Receives the removal of the spool file, once there is one. */
    private readonly cleanups: Array<() => Promise<void>>,
  ) {}

  async add(value: JsonText): Promise<void> {
    this.count += 1;
    this.bytes += value.text.length;
    if (this.spool) return this.spool.write(jsonLine(value));
    this.values.push(value);
    if (this.bytes > IN_MEMORY_JSON_BYTES) {
      this.spool = await openSpool(this.spoolDir, 'jsonl', this.cleanups);
      for (const held of this.values.splice(0)) await this.spool.write(jsonLine(held));
    }
  }

  /** The batch as a write's input; no value may be added after. */
  async input(columns: Column[], options: JsonDecodeOptions): Promise<StagedInput> {
    if (!this.spool) return jsonInput(jsonTextsInMemory(this.values), columns, options);
    await this.spool.close();
    return jsonInput(jsonLinesFile(this.spool.path), columns, options);
  }
}

/** How the values of an ingest with these options are decoded. */
export function jsonDecodeOptions(options: JsonIngestOptions): JsonDecodeOptions {
  return {
    format: options.updateFormat, caseInsensitive: options.caseInsensitive, positional: options.positional,
    ...(options.scalarColumn !== undefined && { scalarColumn: options.scalarColumn }),
    ...(options.atomicArrays && { atomicArrays: true }),
  };
}
