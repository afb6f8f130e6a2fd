/**
 * What the memory store tests share: whether better-sqlite3 can be loaded here (it is optional:
 * where it is not built, the SQLite cases are skipped).
 */
import { createRequire } from 'node:module';

function loadsSqlite(): boolean {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => { close(): void };
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
}

export const sqliteAvailable = loadsSqlite();
