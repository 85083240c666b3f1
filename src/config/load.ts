import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { findConnector, connectorTypes } from '../../connectors/registry.js';
import { AppError } from '../lib/errors.js';
import { packageRoot } from '../lib/paths.js';
import { loadHttpSettings, MIN_ADMIN_TOKEN_LENGTH, type HttpSettings } from './http-settings.js';
import { interpolateEnv, type InterpolationProblem } from './interpolate.js';
import { fileConfigSchema, type ConnectorConfig, type FileConfig, type OrganizationConfig } from './schema.js';

export interface AppConfig {
  /** Where the organizations came from: a file path, or 'built-in demo'. */
  readonly source: string;
  readonly organizations: readonly OrganizationConfig[];
  readonly sync: FileConfig['sync'];
  readonly invitations: FileConfig['invitations'];
  readonly history: FileConfig['history'];
  /** BullMQ key prefix, a Redis Cluster hash tag */
  readonly queuePrefix: string;
  /** How long a job's lock lasts: a job whose worker died is taken up again after this (QUEUE_LOCK_MS). */
  readonly queueLockMs: number;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly port: number;
  readonly adminToken: string | null;
  readonly smtpUrl: string | null;
  readonly outboxDir: string;
  readonly mailFrom: string;
  readonly appUrl: string;
  readonly logLevel: string;
  /** Proxies, cookies, metrics and request limits of the HTTP face (src/config/http-settings.ts). */
  readonly http: HttpSettings;
}

/**
 * How often one YAML anchor may be used (yaml's guard against alias bombs counts uses, weighted by
 * the aliases inside; its default, 100, refused a config of 1,000 organizations sharing one
 * `mapping: *standard`, or written by a YAML library, which makes anchors of repeated objects).
 */
const MAX_YAML_ALIASES = 100_000;

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/hrsync';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The organization and connector used when no config file exists: the demo export in fixtures/. */
export function demoConfig(): unknown {
  return {
    organizations: [
      {
        id: 'demo',
        name: 'Demo Organization',
        connectors: [
          {
            id: 'demo-file',
            type: 'file',
            options: { path: resolve(packageRoot(), 'fixtures/demo/employees.csv') },
            mapping: { location: 'location', group: 'department' },
          },
        ],
      },
    ],
  };
}

export function formatZodIssues(err: ZodError, prefix = ''): string[] {
  return err.issues.map((issue) => {
    let path = prefix;
    for (const p of issue.path) {
      path += typeof p === 'number' ? `[${p}]` : path ? `.${String(p)}` : String(p);
    }
    const msg = /received undefined/.test(issue.message) ? 'required' : issue.message;
    return `${path || '(root)'}: ${msg}`;
  });
}

/**
 * Reads, interpolates and validates the configuration once; every problem is reported at
 * once with its path. Returns a frozen object.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): AppConfig {
  let raw: unknown;
  let source: string;
  let baseDir: string;
  const explicit = env.HRSYNC_CONFIG;
  const candidate = explicit ? resolve(cwd, explicit) : resolve(cwd, 'hrsync.config.yaml');
  if (existsSync(candidate)) {
    source = candidate;
    baseDir = dirname(candidate);
    try {
      raw = parseYaml(readFileSync(candidate, 'utf8'), { maxAliasCount: MAX_YAML_ALIASES });
    } catch (err) {
      throw new AppError('config_invalid', `${candidate}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  } else if (explicit) {
    throw new AppError('config_not_found', `HRSYNC_CONFIG points to ${candidate}, which does not exist`);
  } else {
    source = 'built-in demo';
    baseDir = packageRoot();
    raw = demoConfig();
  }

  const interpolationProblems: InterpolationProblem[] = [];
  const interpolated = interpolateEnv(raw, env, '', interpolationProblems);
  const problems = interpolationProblems.map((p) => `${p.path}: ${p.message}`);

  const parsed = fileConfigSchema.safeParse(interpolated);
  if (!parsed.success) problems.push(...formatZodIssues(parsed.error));

  // Connector-level checks run on the raw structure too, so that one run reports every problem.
  const rawOrgs = parsed.success ? parsed.data.organizations : asArray((interpolated as { organizations?: unknown })?.organizations);
  const seen = new Map<string, string>();
  const orgIds = new Set<string>();
  rawOrgs.forEach((org: any, oi: number) => {
    if (!org || typeof org !== 'object') return;
    if (typeof org.id === 'string') {
      if (orgIds.has(org.id)) problems.push(`organizations[${oi}].id: duplicate organization id "${org.id}"`);
      orgIds.add(org.id);
    }
    asArray(org.connectors).forEach((c: any, ci: number) => {
      if (!c || typeof c !== 'object') return;
      const path = `organizations[${oi}].connectors[${ci}]`;
      if (typeof c.id === 'string') {
        const other = seen.get(c.id);
        if (other) problems.push(`${path}.id: connector id "${c.id}" is already used at ${other} (ids are unique across organizations)`);
        seen.set(c.id, path);
      }
      if (typeof c.type !== 'string') return;
      const connector = findConnector(c.type);
      if (!connector) {
        problems.push(`${path}.type: unknown connector type "${c.type}" (known: ${connectorTypes().join(', ')})`);
        return;
      }
      const opts = connector.configSchema.safeParse(c.options ?? {});
      if (!opts.success) problems.push(...formatZodIssues(opts.error as ZodError, `${path}.options`));
      else if (parsed.success) {
        const o = opts.data as Record<string, unknown>;
        if (c.type === 'file' && typeof o.path === 'string' && !isAbsolute(o.path)) o.path = resolve(baseDir, o.path);
        (c as ConnectorConfig).options = o;
      }
    });
  });

  const appUrl = env.APP_URL || `http://localhost:${Number(env.PORT ?? 3000)}`;
  const http = loadHttpSettings(env, appUrl);
  problems.push(...http.problems);
  if (env.HRSYNC_ADMIN_TOKEN && env.HRSYNC_ADMIN_TOKEN.length < MIN_ADMIN_TOKEN_LENGTH) {
    problems.push(`HRSYNC_ADMIN_TOKEN: must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (generate one with: openssl rand -base64 32)`);
  }

  if (problems.length > 0) {
    throw new AppError('config_invalid', `invalid configuration (${source}):\n  ${problems.join('\n  ')}`, { details: problems });
  }
  const data = parsed.data!;

  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AppError('config_invalid', `invalid configuration: PORT: must be a port number, got "${env.PORT}"`);
  }
  const invitations = { ...data.invitations };
  const envNumber = (name: string, key: keyof typeof invitations) => {
    const v = env[name];
    if (v === undefined || v === '') return;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new AppError('config_invalid', `invalid configuration: ${name}: must be a non-negative number, got "${v}"`);
    invitations[key] = n;
  };
  envNumber('INVITE_BATCH_SIZE', 'batchSize');
  envNumber('INVITE_RATE_PER_SECOND', 'ratePerSecond');
  envNumber('INVITE_CONCURRENCY', 'concurrency');
  envNumber('INVITE_TOKEN_TTL_DAYS', 'tokenTtlDays');
  const prefix = env.HRSYNC_QUEUE_PREFIX || 'hrsync';
  const config: AppConfig = {
    source,
    organizations: data.organizations,
    sync: data.sync,
    invitations,
    history: data.history,
    queuePrefix: prefix.startsWith('{') ? prefix : `{${prefix}}`,
    queueLockMs: Math.max(1_000, Number(env.QUEUE_LOCK_MS) || 30_000),
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    redisUrl: env.REDIS_URL || DEFAULT_REDIS_URL,
    port,
    adminToken: env.HRSYNC_ADMIN_TOKEN || null,
    smtpUrl: env.SMTP_URL || null,
    outboxDir: resolve(cwd, env.OUTBOX_DIR || './outbox'),
    mailFrom: env.MAIL_FROM || 'hrsync <no-reply@hrsync.local>',
    appUrl,
    logLevel: env.LOG_LEVEL || 'info',
    http: http.settings,
  };
  return deepFreeze(config);
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

export function findConnectorConfig(config: AppConfig, connectorId: string): { org: OrganizationConfig; connector: ConnectorConfig } | null {
  for (const org of config.organizations) {
    for (const connector of org.connectors) if (connector.id === connectorId) return { org, connector };
  }
  return null;
}
