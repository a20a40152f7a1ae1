import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSecret } from './auth/token-store.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * The configured admin token, else the one stored in the data directory, else a new one stored
 * there (readable by the owner only). `generated` tells the caller to show it, once.
 */
export async function resolveAdminToken(dataDir: string, configured: string | undefined): Promise<{ token: string; generated: boolean }> {
  if (configured) return { token: configured, generated: false };
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    if (stored) return { token: stored, generated: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = generateSecret();
  await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, generated: true };
}
