import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino';

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

export function createLogger(opts: { level?: string; destination?: DestinationStream; name?: string } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    name: opts.name ?? 'hrsync',
    redact: { paths: redactPaths(), censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options, pino.destination(2));
}

/** A logger that writes nowhere; for pure tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
