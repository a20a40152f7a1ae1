import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DuckDBStorage, Transaction } from '../../storage/duckdb/duckdb-storage.ts';
import type { NameChange } from '../catalog/catalog.ts';
import { CATALOG_SCHEMA } from '../catalog/migrations.ts';
import { checkName } from '../catalog/table-ddl.ts';
import { SluiceError } from '../errors.ts';
import { newId } from '../ids.ts';
import { Mutex } from '../mutex.ts';
import type { Principal, Scope } from './scopes.ts';

/** The JWT library, loaded on the first JWT a server meets (many never do). */
const loadJose = () => import('jose');

export interface StoredToken {
  id: string;
  name: string;
  scopes: Scope[];
  properties: Record<string, unknown>;
  createdAt: Date;
}

/**
 * Reads the scopes of a JWT's payload. Each dialect knows its own notation (Tinybird writes
 * `{type: 'DATASOURCES:READ', resource: 'events'}`); the first parser that understands the payload wins.
 */
export type JwtScopeParser = (payload: Record<string, unknown>) => Scope[] | undefined;

const ADMIN_PRINCIPAL_ID = 'admin';

/**
 * The latest expiration a signed token may carry, in Unix seconds: 9999-12-31T23:59:59Z, the last
 * second an ISO date writes with four digits. Past about 8.64e12 a JavaScript Date is invalid.
 */
export const MAX_TOKEN_EXPIRATION_SECONDS = 253_402_300_799;

/** Why a token cannot expire at `seconds` (Unix time), or undefined when it can. */
export function tokenExpirationProblem(seconds: number, now = Date.now()): string | undefined {
  if (!Number.isInteger(seconds) || seconds * 1000 <= now) return 'must be a Unix time (whole seconds) in the future';
  if (seconds > MAX_TOKEN_EXPIRATION_SECONDS) return `must be at most ${MAX_TOKEN_EXPIRATION_SECONDS} (9999-12-31T23:59:59Z)`;
  return undefined;
}

/**
 * Tokens and their scopes. Secrets are stored as SHA-256 hashes only: tokens are 256-bit random
 * strings, so a fast hash is enough to make a stolen database useless for authentication.
 * JWTs signed (HS256) with the admin token are accepted as well.
 */
export class TokenStore {
  private readonly byHash = new Map<string, StoredToken>();
  private readonly jwtScopeParsers: JwtScopeParser[] = [];
  private readonly adminHash: Buffer;
  private readonly jwtKey: Uint8Array;
  private readonly changes = new Mutex();

  private constructor(
    private readonly storage: DuckDBStorage,
    adminToken: string,
  ) {
    this.adminHash = hashBuffer(adminToken);
    this.jwtKey = new TextEncoder().encode(adminToken);
  }

  static async open(storage: DuckDBStorage, adminToken: string): Promise<TokenStore> {
    const store = new TokenStore(storage, adminToken);
    for (const row of await storage.query(`SELECT * FROM ${CATALOG_SCHEMA}.tokens`)) {
      store.byHash.set(String(row['secret_hash']), {
        id: String(row['id']), name: String(row['name']), scopes: JSON.parse(String(row['scopes'])) as Scope[],
        properties: JSON.parse(String(row['properties'])) as Record<string, unknown>, createdAt: row['created_at'] as Date,
      });
    }
    return store;
  }

  addJwtScopeParser(parser: JwtScopeParser): void {
    this.jwtScopeParsers.push(parser);
  }

  /** The principal a secret stands for, or undefined when it stands for none. */
  async authenticate(secret: string): Promise<Principal | undefined> {
    const hash = hashBuffer(secret);
    if (timingSafeEqual(hash, this.adminHash)) return { tokenId: ADMIN_PRINCIPAL_ID, name: 'admin', scopes: [{ action: 'admin' }] };
    const stored = this.byHash.get(hash.toString('hex'));
    if (stored) return { tokenId: stored.id, name: stored.name, scopes: stored.scopes };
    if (secret.split('.').length === 3) return this.authenticateJwt(secret);
    return undefined;
  }

  private async authenticateJwt(jwt: string): Promise<Principal | undefined> {
    let payload: Record<string, unknown>;
    try {
      const { jwtVerify } = await loadJose();
      ({ payload } = await jwtVerify(jwt, this.jwtKey, { algorithms: ['HS256'] }));
    } catch {
      return undefined;
    }
    for (const parse of this.jwtScopeParsers) {
      const scopes = parse(payload);
      if (scopes) return { tokenId: `jwt:${String(payload['name'] ?? payload['sub'] ?? 'anonymous')}`, name: String(payload['name'] ?? payload['sub'] ?? 'jwt'), scopes };
    }
    return undefined;
  }

  /**
   * A JWT signed with the admin token, carrying `payload` (whose scopes a registered parser reads
   * back) and expiring at `expiresAtSeconds` (Unix time). Nothing is stored: the signature is the token's authority.
   */
  async signJwt(payload: Record<string, unknown>, expiresAtSeconds: number): Promise<string> {
    const problem = tokenExpirationProblem(expiresAtSeconds);
    if (problem) throw new SluiceError('INVALID_ARGUMENT', `A token's expiration time ${problem}`, { expiration: expiresAtSeconds, max: MAX_TOKEN_EXPIRATION_SECONDS });
    const { SignJWT } = await loadJose();
    return new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(expiresAtSeconds).sign(this.jwtKey);
  }

  list(): StoredToken[] {
    return [...this.byHash.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  find(name: string): StoredToken | undefined {
    return this.list().find((token) => token.name === name);
  }

  /** Creates a token; its secret is returned here, once, and never stored. */
  async create(name: string, scopes: Scope[], properties: Record<string, unknown> = {}): Promise<{ token: StoredToken; secret: string }> {
    return this.changes.run(async () => {
      checkName(name, 'token');
      if (this.find(name)) throw new SluiceError('TOKEN_EXISTS', `Token "${name}" already exists`, { token: name });
      const secret = generateSecret();
      const hash = hashBuffer(secret).toString('hex');
      const token: StoredToken = { id: newId(), name, scopes, properties, createdAt: new Date() };
      await this.storage.transaction(async (tx) => {
        await tx.run(`INSERT INTO ${CATALOG_SCHEMA}.tokens VALUES (?, ?, ?, ?, ?, ?)`, [
          token.id, name, hash, JSON.stringify(scopes), JSON.stringify(properties), token.createdAt.toISOString(),
        ]);
        tx.afterCommit(() => this.byHash.set(hash, token));
      });
      return { token, secret };
    });
  }

  /**
   * Scopes follow the namespaces and tables they name: a rename carries them to the new name, a drop
   * removes them, so that a later table or namespace given the old name is not reached through them.
   * Runs inside the transaction that makes the change. (A JWT names what it reaches in its payload,
   * which cannot follow.)
   */
  async followNameChange(tx: Transaction, change: NameChange): Promise<void> {
    for (const [hash, token] of this.byHash) {
      const scopes = token.scopes.flatMap((scope) => retarget(scope, change));
      if (JSON.stringify(scopes) === JSON.stringify(token.scopes)) continue;
      await tx.run(`UPDATE ${CATALOG_SCHEMA}.tokens SET scopes = ? WHERE id = ?`, [JSON.stringify(scopes), token.id]);
      tx.afterCommit(() => this.byHash.set(hash, { ...token, scopes }));
    }
  }

  async delete(name: string): Promise<void> {
    await this.changes.run(async () => {
      const entry = [...this.byHash.entries()].find(([, token]) => token.name === name);
      if (!entry) throw new SluiceError('TOKEN_NOT_FOUND', `Token "${name}" does not exist`, { token: name });
      await this.storage.transaction(async (tx) => {
        await tx.run(`DELETE FROM ${CATALOG_SCHEMA}.tokens WHERE id = ?`, [entry[1].id]);
        tx.afterCommit(() => this.byHash.delete(entry[0]));
      });
    });
  }
}

/** A scope after a namespace or table it names was renamed (carried to the new name) or dropped (gone). */
function retarget(scope: Scope, change: NameChange): Scope[] {
  if (scope.action === 'admin' || scope.namespace !== change.namespace) return [scope];
  if (change.table !== undefined && scope.table !== change.table) return [scope];
  if (change.to === undefined) return [];
  return [{ ...scope, ...change.to }];
}

export function generateSecret(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

function hashBuffer(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
