/**
 * Limits for DuckDB's CSV reader over spooled files. A record longer than the line limit is
 * rejected (and quarantined with DuckDB's reason), not truncated. DuckDB reads in buffers that must
 * hold a whole line; it sizes them from the line limit unless told, so both are set: a large line
 * limit alone makes every scan ask for gigabytes.
 */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
const BUFFER_BYTES = 2 * MAX_LINE_BYTES;

export const DUCKDB_LINE_LIMITS = `max_line_size = ${MAX_LINE_BYTES}, buffer_size = ${BUFFER_BYTES}`;
