import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { loadConfig, type AppConfig } from '../../src/config/load.js';
import { syncConfigToStore } from '../../src/db/config-store.js';
import { openStore, type Orm } from '../../src/db/orm.js';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestStore {
  url: string;
  orm: Orm;
  em(): EntityManager;
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * One test store for a whole file (from the file's `beforeAll`), what each test started (fake
 * servers) stopped after it, and a counter for ids unique within the file. Registers the hooks.
 */
export function storePerFile(): { readonly store: TestStore; cleanups: Array<() => Promise<void>>; next(): number } {
  let store: TestStore | undefined;
  let seq = 0;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    store = await createTestStore();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  afterAll(async () => {
    await store?.drop();
  });
  return {
    get store() {
      if (!store) throw new Error('the test store exists from beforeAll on');
      return store;
    },
    cleanups,
    next: () => ++seq,
  };
}

/** A database of its own for one test file: created, migrated, dropped afterwards. */
export async function createTestStore(): Promise<TestStore> {
  const name = `hrsync_t_${Date.now()}_${randomBytes(4).toString('hex')}`;
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const orm = await openStore(url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    url,
    orm,
    em: () => orm.em.fork() as EntityManager,
    async query<T>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as T[];
    },
    async drop() {
      await pool.end();
      await orm.close(true);
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

export function tempDir(prefix = 'hrsync-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a config file and loads it the way the app does. */
export function configFor(databaseUrl: string, fileConfig: unknown, env: Record<string, string> = {}): AppConfig {
  const dir = tempDir('hrsync-config-');
  const path = join(dir, 'hrsync.config.yaml');
  writeFileSync(path, stringify(fileConfig));
  return loadConfig({ HRSYNC_CONFIG: path, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', ...env }, dir);
}

export async function applyConfig(store: TestStore, config: AppConfig): Promise<void> {
  await syncConfigToStore(store.em(), config);
}

export interface Row {
  employeeId: string;
  email: string;
  firstName: string;
  lastName: string;
  jobTitle: string;
  department: string;
  location: string;
  managerId: string;
  status: string;
  startDate: string;
  endDate: string;
}

export const COLUMNS: Array<keyof Row> = ['employeeId', 'email', 'firstName', 'lastName', 'jobTitle', 'department', 'location', 'managerId', 'status', 'startDate', 'endDate'];

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv(rows: Array<Partial<Row>>, opts: { eol?: string; bom?: boolean } = {}): string {
  const eol = opts.eol ?? '\n';
  const lines = [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => csvCell(r[c] ?? '')).join(','))];
  return `${opts.bom ? '\uFEFF' : ''}${lines.join(eol)}${eol}`;
}

/** An employee row with sensible values; `i` makes it unique. */
export function employee(i: number, over: Partial<Row> = {}): Row {
  return {
    employeeId: `E${i}`,
    email: `person${i}@acme.example`,
    firstName: `First${i}`,
    lastName: `Last${i}`,
    jobTitle: 'Engineer',
    department: i % 2 === 0 ? 'Engineering' : 'Finance',
    location: i % 3 === 0 ? 'Berlin' : 'Munich',
    managerId: i > 1 ? 'E1' : '',
    status: 'active',
    startDate: '2024-01-15',
    endDate: '',
    ...over,
  };
}

export function employees(n: number, from = 1): Row[] {
  return Array.from({ length: n }, (_, k) => employee(from + k));
}

export function writeCsv(dir: string, name: string, rows: Array<Partial<Row>>, opts?: { eol?: string; bom?: boolean }): string {
  const path = join(dir, name);
  writeFileSync(path, toCsv(rows, opts));
  return path;
}
