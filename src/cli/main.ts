import { Command, InvalidArgumentError } from 'commander';
import { CONFIG_OPTIONS, loadConfig, parseBytes, parsePort } from '../config.ts';
import { capProcessMemory, defaultProcessMemoryLimit, memoryLimitUnder } from '../server/process-memory.ts';
import { startServer } from '../server/serve.ts';

const program = new Command('sluice').description('Sluice: data ingestion and real-time analytics over HTTP');

// Standard output may lose its reader (`sluice serve | head -1`): what is written to it then is
// dropped, and the server goes on. Unhandled, the broken pipe ended the process, whose exit then
// waited forever to flush the log lines still queued for it.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

program
  .command('serve')
  .description('start the HTTP server')
  .option(`${CONFIG_OPTIONS.host.flag} <host>`, `${CONFIG_OPTIONS.host.description} (env ${CONFIG_OPTIONS.host.env}, default ${CONFIG_OPTIONS.host.default})`)
  .option(`${CONFIG_OPTIONS.port.flag} <port>`, `${CONFIG_OPTIONS.port.description} (env ${CONFIG_OPTIONS.port.env}, default ${CONFIG_OPTIONS.port.default})`, (raw) => {
    try {
      return parsePort(raw);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  })
  .option(`${CONFIG_OPTIONS.dataDir.flag} <dir>`, `${CONFIG_OPTIONS.dataDir.description} (env ${CONFIG_OPTIONS.dataDir.env}, default ${CONFIG_OPTIONS.dataDir.default})`)
  .option(`${CONFIG_OPTIONS.logLevel.flag} <level>`, `${CONFIG_OPTIONS.logLevel.description} (env ${CONFIG_OPTIONS.logLevel.env}, default ${CONFIG_OPTIONS.logLevel.default})`)
  .addHelpText('after', () => {
    const settings = Object.values(CONFIG_OPTIONS).filter((option) => !('flag' in option));
    return `\nSettings taken from the environment only:\n${settings.map((option) => `  ${option.env.padEnd(36)}${option.description}`).join('\n')}\n`;
  })
  .action(async (options: { host?: string; port?: number; data?: string; logLevel?: string }) => {
    const config = loadConfig({
      ...(options.host !== undefined && { host: options.host }),
      ...(options.port !== undefined && { port: options.port }),
      ...(options.data !== undefined && { dataDir: options.data }),
      ...(options.logLevel !== undefined && { logLevel: options.logLevel }),
    });
    // Before DuckDB opens: every allocation the server makes counts against the cap.
    const memoryCap = capProcessMemory(config.processMemoryLimit ?? defaultProcessMemoryLimit());
    if (memoryCap.bytes !== undefined) config.memoryLimit ??= memoryLimitUnder(memoryCap.bytes);
    const server = await startServer(config);
    const log = server.app.log;
    if (memoryCap.failure) log.warn(`no process memory cap (SLUICE_PROCESS_MEMORY_LIMIT): ${memoryCap.failure}; a query that builds a huge value may get the server killed by the system`);
    else if (memoryCap.bytes !== undefined) {
      log.info({ bytes: memoryCap.bytes, duckdbMemoryLimit: config.memoryLimit }, 'process memory capped');
      const duckdbLimit = bytesOrUndefined(config.memoryLimit!);
      if (duckdbLimit !== undefined && duckdbLimit >= memoryCap.bytes) {
        log.warn(`SLUICE_MEMORY_LIMIT (${config.memoryLimit}) is not below SLUICE_PROCESS_MEMORY_LIMIT (${memoryCap.bytes} bytes): a large load may fail where it could have spilled to disk`);
      }
    }
    if (server.core.generatedAdminToken) {
      // Shown once, on the terminal only; it is kept in the data directory for later starts.
      process.stdout.write(`\nGenerated admin token (stored in ${config.dataDir}/admin-token):\n\n  ${server.core.generatedAdminToken}\n\n`);
    }
    // One plain line whatever the log level, for people and for scripts that wait for the server.
    process.stdout.write(`Sluice is serving on ${server.url} (data in ${config.dataDir})\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: finishing queued writes');
      server.close().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    void server.failed.then((error) => {
      log.fatal({ err: error }, 'the database engine failed and cannot go on in this process: exiting, so that a restart reopens the database and replays its write-ahead log, which holds every acknowledged write');
      process.exit(EXIT_STORAGE_FAILED);
    });
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

/** The exit status after the database engine failed (sysexits' EX_TEMPFAIL: a restart recovers). */
const EXIT_STORAGE_FAILED = 75;

/** A size as DuckDB's settings take it (`2GB`), in bytes; undefined for the forms only DuckDB reads (`80%`, `2GiB`). */
function bytesOrUndefined(size: string): number | undefined {
  try {
    return parseBytes(size);
  } catch {
    return undefined;
  }
}

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`sluice: ${(error as Error).message}\n`);
  process.exit(1);
});
