import { resolve } from 'node:path';
import { DEFAULT_QUERY_CONNECTIONS, DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_RESULT_MEMORY_BYTES } from './storage/duckdb/duckdb-storage.ts';

/**
 * Every setting of the server: its type, default, description, command-line flag and environment
 * variable, in one place. `loadConfig` validates them once at start.
 */
interface OptionSpec<T> {
  description: string;
  env: string;
  flag?: string;
  default: T;
  parse: (raw: string) => T;
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port "${raw}"`);
  return port;
}

/** The bytes in a size unit, told by its first letter (`b`, `KB`, `MiB`, `gigabytes` …), in powers of 1024. */
function unitBytes(unit: string): number {
  return 1024 ** 'bkmgt'.indexOf(unit[0]!.toLowerCase());
}

function parseBytes(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|tb|t)?$/i.exec(raw.trim());
  if (!match) throw new Error(`invalid size "${raw}" (use a number of bytes or 10MB, 8GB …)`);
  return Math.floor(Number(match[1]) * unitBytes(match[2] ?? 'b'));
}

function parsePositiveInt(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`invalid positive integer "${raw}"`);
  return value;
}

/** A positive integer up to `max`, past which the setting cannot work (`why` says so). */
const positiveIntUpTo = (max: number, why: string) => (raw: string): number => {
  const value = parsePositiveInt(raw);
  if (value > max) throw new Error(`${value} is more than ${max}: ${why}`);
  return value;
};

/** A time in milliseconds: Node's timers hold at most 2^31 - 1 (about 24.8 days), and fire at once past it. */
const parseMilliseconds = positiveIntUpTo(2 ** 31 - 1, "a timer holds at most 2147483647 ms (24.8 days)");

/** A size of at least `min` bytes. */
const bytesAtLeast = (min: number) => (raw: string): number => {
  const bytes = parseBytes(raw);
  if (bytes < min) throw new Error(`"${raw}" is less than the least that works, ${min} bytes`);
  return bytes;
};

/** A yes or no: true, false, 1, 0, yes or no, in any case. */
function parseFlag(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new Error(`invalid flag "${raw}" (use true or false)`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseLogLevel(raw: string): string {
  if (!LOG_LEVELS.includes(raw)) throw new Error(`invalid log level "${raw}" (use ${LOG_LEVELS.join(', ')})`);
  return raw;
}

const optional = (raw: string): string | undefined => (raw === '' ? undefined : raw);

/**
 * A size as DuckDB's settings take it (`2GB`, `512MiB`, `1.5 GB`), checked here: DuckDB refuses
 * another with nothing but "Failed to set config".
 */
function parseDuckDBSize(raw: string): string | undefined {
  if (raw === '') return undefined;
  const unit = '(b|bytes?|k|kb|kib|kilobytes?|m|mb|mib|megabytes?|g|gb|gib|gigabytes?|t|tb|tib|terabytes?)';
  if (!new RegExp(`^\\s*\\d+(\\.\\d+)?\\s*${unit}\\s*$`, 'i').test(raw)) throw new Error(`invalid size "${raw}" (use a number with a unit: 2GB, 512MiB …)`);
  return raw;
}

/** DuckDB's memory limit: a size of at least 24MB, below which a block of its own (16 MiB) leaves no room for a write, or its rollback. */
function parseMemoryLimit(raw: string): string | undefined {
  const size = parseDuckDBSize(raw);
  if (size === undefined) return undefined;
  const [, number, unit] = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)/i.exec(size)!;
  if (Number(number) * unitBytes(unit!) < 24 * 1000 ** 2) throw new Error(`"${raw}" is less than the least DuckDB works with, 24MB`);
  return size;
}

export const CONFIG_OPTIONS = {
  host: { description: 'Address to listen on', env: 'SLUICE_HOST', flag: '--host', default: '127.0.0.1', parse: String },
  port: { description: 'Port to listen on', env: 'SLUICE_PORT', flag: '--port', default: 8080, parse: parsePort },
  dataDir: { description: 'Directory holding the database, spool files and the generated admin token', env: 'SLUICE_DATA_DIR', flag: '--data', default: './data', parse: String },
  adminToken: { description: 'Admin token; generated at first start and stored in the data directory when unset', env: 'SLUICE_ADMIN_TOKEN', default: undefined as string | undefined, parse: optional },
  logLevel: { description: 'Log level (fatal, error, warn, info, debug, trace, silent)', env: 'SLUICE_LOG_LEVEL', flag: '--log-level', default: 'info', parse: parseLogLevel },
  maxRequestBodyBytes: { description: 'Largest streamed request body or multipart file (413 above)', env: 'SLUICE_MAX_BODY_BYTES', default: 10 * 1024 ** 3, parse: bytesAtLeast(1) },
  maxRowWriteBytes: { description: 'Largest body of a Catalyzed row write (413 above); streamed Arrow IPC bodies are bounded by SLUICE_MAX_BODY_BYTES only', env: 'SLUICE_MAX_ROW_WRITE_BYTES', default: 100 * 1024 ** 2, parse: bytesAtLeast(1) },
  memoryLimit: { description: "DuckDB's memory limit (e.g. 2GB); DuckDB's default when unset", env: 'SLUICE_MEMORY_LIMIT', default: undefined as string | undefined, parse: parseMemoryLimit },
  processMemoryLimit: {
    description: "Memory the whole server process may allocate (e.g. 8GB, or off): past it a query or write fails with a 503 instead of the system killing the server; 90% of the machine's memory (or of the container's limit) when unset. Keep it above SLUICE_MEMORY_LIMIT",
    env: 'SLUICE_PROCESS_MEMORY_LIMIT', default: undefined as number | 'off' | undefined,
    // Below 512MB the process cannot start: Node, DuckDB and the thread stacks take nearly that much.
    parse: (raw: string): number | 'off' => (raw.trim().toLowerCase() === 'off' ? 'off' : bytesAtLeast(512 * 1024 ** 2)(raw)),
  },
  checkpointThreshold: {
    description: "Write-ahead log size past which a commit checkpoints (e.g. 256MB): larger makes checkpoints rarer, so fewer writes wait for one, at the cost of a longer replay after a crash; DuckDB's 16MB when unset",
    env: 'SLUICE_CHECKPOINT_THRESHOLD', default: undefined as string | undefined, parse: parseDuckDBSize,
  },
  threads: { description: 'DuckDB worker threads; the number of cores when unset', env: 'SLUICE_THREADS', default: undefined as number | undefined, parse: positiveIntUpTo(1024, 'each thread takes memory of its own, and DuckDB aborts when it cannot have it') },
  queryTimeoutMs: {
    description: "How long a query may take, its wait for a connection and the sending of its result included, before it is stopped (503, retryable)",
    env: 'SLUICE_QUERY_TIMEOUT_MS', default: DEFAULT_QUERY_TIMEOUT_MS, parse: parseMilliseconds,
  },
  queryConnections: { description: 'Queries DuckDB runs at once; more wait for a free connection (within their time limit)', env: 'SLUICE_QUERY_CONNECTIONS', default: DEFAULT_QUERY_CONNECTIONS, parse: parsePositiveInt },
  queriesPerToken: {
    description: 'Queries one token may run at once (more wait, within their time limit), so that one client cannot take every query connection; one fewer than SLUICE_QUERY_CONNECTIONS when unset',
    env: 'SLUICE_QUERIES_PER_TOKEN', default: undefined as number | undefined, parse: parsePositiveInt,
  },
  resultMemoryBytes: {
    description: "Memory one query's result may take in the server while it is converted and sent; a row larger than this, or a bounded result (Catalyzed maxRows) holding more, fails the query with a 400",
    env: 'SLUICE_RESULT_MEMORY', default: DEFAULT_RESULT_MEMORY_BYTES, parse: parseBytes,
  },
  maxExportBytes: {
    description: "Largest Parquet query result (Tinybird FORMAT Parquet, Feldera format=parquet), written to the data directory before it is sent; half the disk's free space when unset",
    env: 'SLUICE_MAX_EXPORT_BYTES', default: undefined as number | undefined, parse: parseBytes,
  },
  pausedIngressTimeoutMs: { description: 'How long a push to a paused Feldera pipeline waits for it to resume before answering 503', env: 'SLUICE_PAUSED_INGRESS_TIMEOUT_MS', default: 30_000, parse: parseMilliseconds },
  allowPrivateUrls: { description: 'Whether URL imports may reach loopback, private and reserved addresses (the server\'s own network)', env: 'SLUICE_ALLOW_PRIVATE_URLS', default: false, parse: parseFlag },
  maxPendingWrites: { description: 'Writes that may wait for one table before more are refused with 429 (retryable) instead of being held in memory', env: 'SLUICE_MAX_PENDING_WRITES', default: 10_000, parse: parsePositiveInt },
  idempotencyRetentionHours: { description: 'How long idempotency keys and their responses are kept', env: 'SLUICE_IDEMPOTENCY_RETENTION_HOURS', default: 48, parse: positiveIntUpTo(876_000, 'a hundred years is as long as the write log keeps a key') },
} satisfies Record<string, OptionSpec<unknown>>;

type Options = typeof CONFIG_OPTIONS;
export type Config = { [K in keyof Options]: Options[K]['default'] };

/**
 * Builds the config from defaults, then the environment, then explicit overrides (command-line
 * flags or a test's options), and resolves the data directory to an absolute path.
 */
export function loadConfig(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_OPTIONS) as [keyof Config, OptionSpec<unknown>][]) {
    const override = overrides[key];
    const raw = env[spec.env];
    if (override !== undefined) config[key] = override;
    else if (raw !== undefined && raw !== '') {
      try {
        config[key] = spec.parse(raw);
      } catch (error) {
        throw new Error(`${spec.env}: ${(error as Error).message}`);
      }
    } else config[key] = spec.default;
  }
  const result = config as Config;
  result.dataDir = resolve(result.dataDir);
  return result;
}

export { parseBytes, parsePort };
