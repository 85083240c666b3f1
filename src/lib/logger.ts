import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino';
import { createRequire } from 'node:module';
import type { PrettyOptions } from 'pino-pretty';

export type { Logger };

/**
 * Field names whose values never reach a log line. Paths are pino redact paths;
 * `*.x` covers one level of nesting, which is how we log (data first, flat objects).
 */
export const SENSITIVE_KEYS = [
  'password', 'apiKey', 'api_key', 'token', 'accessToken', 'access_token', 'refreshToken',
  'clientSecret', 'client_secret', 'secret', 'authorization', 'Authorization', 'cookie',
  'email', 'smtpUrl', 'databaseUrl', 'redisUrl',
];

export function redactPaths(keys: readonly string[] = SENSITIVE_KEYS): string[] {
  const paths: string[] = [];
  for (const k of keys) {
    paths.push(k, `*.${k}`, `*.*.${k}`);
  }
  paths.push('req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'config.headers.Authorization');
  return paths;
}

/**
 * The log audit (see docs/security.md): when this variable names a directory, every logger
 * of the process — `createLogger()` ones and `silentLogger` — also writes each line at
 * debug level, NDJSON, to `<dir>/<pid>.ndjson`; the test suite greps those files for
 * secrets and personal data afterwards. Unset (production, library use): no effect.
 */
export const LOG_AUDIT_ENV = 'HRSYNC_LOG_AUDIT_DIR';
const AUDIT_LEVEL = 'debug';

/** One synchronous append-only file per process and directory (a SIGKILLed process loses no line). */
function auditDestination(env: Record<string, string | undefined> = process.env): DestinationStream | null {
  const dir = env[LOG_AUDIT_ENV];
  if (!dir) return null;
  // on globalThis: test runners may load this module more than once per process
  const g = globalThis as { [k: symbol]: Map<string, DestinationStream> | undefined };
  const key = Symbol.for('hrsync.logAuditDestinations');
  const cache = (g[key] ??= new Map());
  let dest = cache.get(dir);
  if (!dest) {
    mkdirSync(dir, { recursive: true });
    dest = pino.destination({ dest: join(dir, `${process.pid}.ndjson`), append: true, sync: true });
    cache.set(dir, dest);
  }
  return dest;
}

function baseOptions(level: string, name: string): LoggerOptions {
  return {
    level,
    name,
    redact: { paths: redactPaths(), censor: '[redacted]' },
    base: { pid: process.pid },
  };
}

/**
 * How log lines look on stderr: `LOG_FORMAT=json|pretty` when set, else human-readable
 * (pino-pretty) on a terminal and one JSON object per line anywhere else (files, pipes,
 * log collectors). The audit file (above) is always JSON.
 */
export function logFormat(env: Record<string, string | undefined>, isTTY: boolean): 'json' | 'pretty' {
  const f = env.LOG_FORMAT;
  if (f === 'json' || f === 'pretty') return f;
  return isTTY ? 'pretty' : 'json';
}

function consoleDestination(): DestinationStream {
  if (logFormat(process.env, process.stderr.isTTY === true) === 'json') return pino.destination(2);
  // loaded only for a terminal: pipes and production pay nothing for it
  const pretty = createRequire(import.meta.url)('pino-pretty') as (o: PrettyOptions) => DestinationStream;
  return pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' });
}

export function createLogger(opts: { level?: string; destination?: DestinationStream; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const name = opts.name ?? 'hrsync';
  const audit = auditDestination();
  if (!audit) return pino(baseOptions(level, name), opts.destination ?? consoleDestination());
  // Audited: the logger runs at debug (or lower); the usual destination still gets only `level`.
  const values = pino.levels.values;
  const streams: pino.StreamEntry[] = [{ level: AUDIT_LEVEL, stream: audit }];
  if (level !== 'silent') streams.push({ level: level as pino.Level, stream: opts.destination ?? consoleDestination() });
  const lowest = (values[level] ?? Infinity) < values[AUDIT_LEVEL] ? level : AUDIT_LEVEL;
  return pino(baseOptions(lowest, name), pino.multistream(streams));
}

/**
 * A logger that writes nowhere; for pure tests and library use. Under the log audit it
 * writes (only) to the audit file, with the same redaction as every other logger.
 */
export const silentLogger: Logger = auditDestination() ? createLogger({ level: 'silent', name: 'hrsync' }) : pino({ level: 'silent' });
