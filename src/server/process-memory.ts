import { execFileSync } from 'node:child_process';
import { constrainedMemory, pid, platform } from 'node:process';
import { totalmem } from 'node:os';

/**
 * A cap on the memory the server process may allocate, so that running out of it fails a request
 * instead of getting the whole server killed by the system.
 *
 * DuckDB's `memory_limit` bounds its buffer pool, not the vectors a query builds as it runs: one
 * scalar call such as `list_transform(range(3000), x -> range(1000000))` asks for 24 GB in a single
 * step, which DuckDB can neither count nor interrupt, and no rewrite of the query can bound every
 * way a value grows (`[l, l, l, …]`, `s || s || …`). What can be bounded is the process: with a
 * limit on its data segment (RLIMIT_DATA, which on Linux counts every private writable mapping),
 * an allocation past the cap fails, DuckDB raises its "Out of Memory Error", the statement is
 * rolled back and the server answers 503 and keeps serving, where the kernel's OOM killer would
 * have ended it, with every connection and write in flight.
 */
export interface MemoryCap {
  /** The cap in force, in bytes; undefined when none was set. */
  bytes: number | undefined;
  /** Why no cap could be set, when one was asked for. */
  failure?: string;
}

/** The share of the machine's memory (or of the container's limit) the server may take by default. */
const DEFAULT_SHARE = 0.9;

/** The machine's memory, or the container's limit where one is set and lower (cgroups). */
export function availableMemory(): number {
  const total = totalmem();
  const constrained = constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < total ? constrained : total;
}

export function defaultProcessMemoryLimit(): number {
  return Math.floor(availableMemory() * DEFAULT_SHARE);
}

/**
 * DuckDB's memory limit (its buffer pool) under a cap, when none is given: the cap less room for
 * the rest of the process — Node and its buffers (about 200 MB of mappings at rest) and what DuckDB
 * allocates outside its pool as queries run (a 1 GB load at a 256 MB limit mapped 660 MB in all) —
 * of a quarter of the cap and at least 768 MiB. DuckDB's own default, 80% of the machine, would let
 * its pool alone reach the cap, and an allocation refused there fails a load that could have
 * spilled to disk instead.
 */
export function memoryLimitUnder(cap: number): string {
  const room = Math.max(768 * MiB, cap / 4);
  return `${Math.floor(Math.max(cap - room, cap / 4) / MiB)}MiB`;
}

const MiB = 1024 ** 2;

/**
 * Lowers this process's soft RLIMIT_DATA to `bytes` (the hard limit is left alone). Node has no
 * call for it, so util-linux's `prlimit` sets it on the process by its id. Only Linux counts
 * mapped memory in RLIMIT_DATA; elsewhere nothing is set and the failure says why.
 */
export function capProcessMemory(bytes: number | 'off'): MemoryCap {
  if (bytes === 'off') return { bytes: undefined };
  if (platform !== 'linux') return { bytes: undefined, failure: `a memory cap needs Linux (this is ${platform})` };
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--data=${bytes}:`], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { bytes };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'the prlimit command (util-linux) is not installed'
      : String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    return { bytes: undefined, failure: reason };
  }
}
