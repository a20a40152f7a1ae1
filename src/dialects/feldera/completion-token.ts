import { FelderaError } from './errors.ts';

/**
 * A completion token names a write's place in the server's commit order (its write-log sequence,
 * which survives restarts) and the pipeline it was issued for. It is opaque to clients.
 */
export interface CompletionToken {
  pipelineId: string;
  sequence: number;
}

export function encodeToken(token: CompletionToken): string {
  return Buffer.from(JSON.stringify({ p: token.pipelineId, s: token.sequence }), 'utf8').toString('base64url');
}

export function decodeToken(text: string | undefined): CompletionToken {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text ?? '', 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const { p, s } = (decoded ?? {}) as { p?: unknown; s?: unknown };
  if (typeof p !== 'string' || typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) {
    throw new FelderaError('InvalidParam', `Invalid completion token '${text ?? ''}'`, { token: text ?? null });
  }
  return { pipelineId: p, sequence: s };
}
