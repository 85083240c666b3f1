/**
 * The log audit: every log line the test suite produces, greped for secrets and personal data.
 *
 * How lines get here: src/lib/logger.ts writes every logger's lines (createLogger() and
 * silentLogger alike) at debug level to `$HRSYNC_LOG_AUDIT_DIR/<pid>.ndjson` when that variable
 * is set. test/support/global-setup.ts sets it for the whole run (vitest's worker processes
 * inherit it), test/support/cli.ts passes it on to the `hrsync` child processes it spawns, and
 * test/support/log-audit-setup.ts writes a marker line before each test so that a hit can be
 * traced to the test (and the child process to the test that spawned it).
 *
 * After the run, global-setup's teardown calls auditLogDir(): any hit fails `npm test` with
 * the file, line, rule and test of each. The plain-text stderr of those child processes is
 * audited too (`<pid>.stderr.log`). Run it by hand on a kept directory with
 * `npx tsx test/support/log-audit.ts <dir>`.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_AUDIT_ENV } from '../../src/lib/logger.js';

export { LOG_AUDIT_ENV };

export interface AuditRule {
  id: string;
  what: string;
  pattern: RegExp;
  /** A match that is not a finding (e.g. an already redacted value). */
  allow?: (match: RegExpExecArray) => boolean;
}

const TOKEN_CHARS = 'A-Za-z0-9_-';
const redacted = (v: string | undefined) => v === undefined || v === '[redacted]' || /^\*+$/.test(v);

/** Key names whose values must never appear in a log line, whatever the nesting (redaction covers two levels). */
const SECRET_KEYS = [
  'password', 'passwd', 'apiKey', 'api_key', 'token', 'accessToken', 'access_token', 'refreshToken', 'refresh_token',
  'clientSecret', 'client_secret', 'secret', 'authorization', 'cookie', 'set-cookie', 'smtpUrl', 'databaseUrl', 'adminToken',
  'email', 'recipient',
];

export const RULES: readonly AuditRule[] = [
  {
    id: 'email',
    what: 'an e-mail address',
    pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g,
    // The one exception: a Message-ID hrsync generated (src/mail/mime.ts createMessageId), `<uuid@sender-domain>`,
    // also in outbox file names. Its local part is random and its domain is MAIL_FROM's: no person in it.
    allow: (m) => /^(?:\d{8}T\d{9}Z-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}@/.test(m[0]),
  },
  {
    id: 'hrsync-api-token',
    what: 'an hrsync API token (hrs_…)',
    pattern: new RegExp(`hrs_[${TOKEN_CHARS}]{16,}`, 'g'),
  },
  {
    id: 'admin-token',
    what: 'the admin token of the tests (admin-<hex>)',
    pattern: /\badmin-[0-9a-f]{32}\b/g,
  },
  {
    id: 'personio-bearer',
    what: 'a Personio bearer token of the fake server (papi-<hex>)',
    pattern: /\bpapi-[0-9a-f]{32}\b/g,
  },
  {
    id: 'vendor-credential',
    what: 'a vendor API key, secret or service user of the tests (bhr-…, papi-…, hbtok_…, SERVICE-…, tok_…)',
    pattern: /\b(?:(?:bhr|papi|hbtok|tok)[-_][A-Za-z0-9_-]{6,}|SERVICE-[A-Z0-9-]{3,})/g,
  },
  {
    id: 'random-token',
    what: 'a random token (32+ base64url characters, mixed case, digits, 18+ distinct characters: accept tokens, generated admin tokens)',
    pattern: new RegExp(`(?<![${TOKEN_CHARS}])[${TOKEN_CHARS}]{32,}(?![${TOKEN_CHARS}])`, 'g'),
    allow: (m) => {
      // a migration's name (src/db/migrations: Migration<yyyyMMddHHmmss>_<snake_case>), logged when applied
      if (/^Migration\d{14}_[a-z0-9_]+$/.test(m[0])) return true;
      // UUIDs are ids, not secrets: what is left without them (e.g. an outbox file's time stamp) decides
      const rest = m[0].replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '');
      // random: mixed case and digits, and many distinct characters (a random 32-character
      // base64url string has about 25)
      return !(rest.length >= 32 && /[A-Z]/.test(rest) && /[a-z]/.test(rest) && /[0-9]/.test(rest) && new Set(rest).size >= 18);
    },
  },
  {
    id: 'url-password',
    what: 'a URL with a password (SMTP, database, Redis)',
    pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@"'<>]*:([^\s/@"'<>]+)@/gi,
    allow: (m) => redacted(m[1]),
  },
  {
    id: 'url-secret-parameter',
    what: 'a token or key in a query string (accept links, vendor URLs)',
    pattern: /[?&](?:token|access_token|api_?key|client_secret|secret|password|sig|signature)=([^&\s"'#\\]+)/gi,
    allow: (m) => redacted(decodeURIComponentSafe(m[1])),
  },
  {
    id: 'authorization',
    what: 'an Authorization credential (Bearer / Basic)',
    pattern: /\b(?:Bearer|Basic)\s+([A-Za-z0-9._~+/=-]{6,})/gi,
    allow: (m) => redacted(m[1]) || !(/[0-9]/.test(m[1]) || m[1].length >= 20),
  },
  {
    id: 'secret-field',
    what: 'a sensitive field logged unredacted (token, password, apiKey, authorization, email, …)',
    pattern: new RegExp(`"(${SECRET_KEYS.join('|')})"\\s*:\\s*"((?:[^"\\\\]|\\\\.)+)"`, 'gi'),
    allow: (m) => redacted(m[2]),
  },
];

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface AuditHit {
  file: string;
  line: number;
  rule: string;
  /** The line with the secret masked, shortened. */
  excerpt: string;
  /** The test that was running (or that spawned the child process), when known. */
  during?: string;
}

export interface AuditReport {
  dir: string;
  files: number;
  lines: number;
  hits: AuditHit[];
}

/** Marker lines (written by the audit's own support, not by hrsync) carry this key first. */
const MARK = 'hrsyncAudit';

/** Writes a marker line into this process's audit file (a no-op outside the audit). */
export function auditMark(data: Record<string, unknown>, env: Record<string, string | undefined> = process.env): void {
  const dir = env[LOG_AUDIT_ENV];
  if (!dir) return;
  try {
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `${process.pid}.ndjson`), `${JSON.stringify({ [MARK]: true, ...data })}\n`);
  } catch {
    // the audit must never break a test
  }
}

/**
 * Registers exact secret values (tokens the tests create, accept tokens they read from
 * e-mails…): a log line containing one is a hit whatever its shape. A no-op outside the audit.
 */
export function auditSecrets(...values: Array<string | null | undefined>): void {
  const dir = process.env[LOG_AUDIT_ENV];
  if (!dir) return;
  const ok = values.filter((v): v is string => typeof v === 'string' && v.length >= 8 && !/\s/.test(v));
  if (ok.length === 0) return;
  try {
    mkdirSync(join(dir, 'known-secrets'), { recursive: true });
    appendFileSync(join(dir, 'known-secrets', `${process.pid}.txt`), `${ok.join('\n')}\n`);
  } catch {
    // the audit must never break a test
  }
}

/**
 * The plain-text lines a child process wrote on stderr (its one-line errors, banners): for
 * a service, stderr is its log stream too. Its pino lines are in its own audit file already.
 */
export function auditStderr(pid: number | undefined, text: string, env: Record<string, string | undefined> = process.env): void {
  const dir = env[LOG_AUDIT_ENV];
  if (!dir || !pid) return;
  const lines = text.split(/\r?\n|\r/).filter((l) => l.trim() !== '' && !l.startsWith('{"level":'));
  if (lines.length === 0) return;
  try {
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `${pid}.stderr.log`), `${lines.join('\n')}\n`);
  } catch {
    // the audit must never break a test
  }
}

function mask(line: string, start: number, end: number, rule: string): string {
  const value = line.slice(start, end);
  const shown = `${line.slice(Math.max(0, start - 80), start)}«${rule}: ${value.slice(0, 4)}…(${value.length})»${line.slice(end, end + 80)}`;
  return shown.replace(/\s+/g, ' ');
}

function knownSecrets(dir: string): string[] {
  const sub = join(dir, 'known-secrets');
  let names: string[];
  try {
    names = readdirSync(sub);
  } catch {
    return [];
  }
  const all = new Set<string>();
  for (const n of names) for (const v of readFileSync(join(sub, n), 'utf8').split('\n')) if (v) all.add(v);
  return [...all];
}

/** Audits one line; returns its hits (rule and masked excerpt). */
export function auditLine(line: string, secrets: readonly string[] = []): Array<{ rule: string; excerpt: string }> {
  const hits: Array<{ rule: string; excerpt: string }> = [];
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = rule.pattern.exec(line))) {
      if (m[0].length === 0) rule.pattern.lastIndex++;
      else if (!rule.allow?.(m)) {
        hits.push({ rule: rule.id, excerpt: mask(line, m.index, m.index + m[0].length, rule.id) });
        break; // one hit per rule and line is enough
      }
    }
  }
  for (const s of secrets) {
    const at = line.indexOf(s);
    if (at >= 0) {
      hits.push({ rule: 'known-secret', excerpt: mask(line, at, at + s.length, 'known-secret') });
      break;
    }
  }
  return hits;
}

/** Reads every `<pid>.ndjson` (and `<pid>.stderr.log`) of an audit directory and greps each line with every rule. */
export function auditLogDir(dir: string): AuditReport {
  const secrets = knownSecrets(dir);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ndjson') || f.endsWith('.stderr.log')).sort();
  // who spawned which child process, during which test
  const spawnedBy = new Map<string, string>();
  const report: AuditReport = { dir, files: files.length, lines: 0, hits: [] };
  const texts = new Map<string, string>();
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    texts.set(f, text);
    let test: string | undefined;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`{"${MARK}"`)) continue;
      const m = JSON.parse(line) as { childPid?: number; args?: string[]; test?: string };
      if (m.test) test = m.test;
      if (m.childPid) spawnedBy.set(String(m.childPid), `\`hrsync ${(m.args ?? []).join(' ')}\` (pid ${m.childPid}) spawned during ${test ?? f}`);
    }
  }
  for (const f of files) {
    const pid = f.split('.')[0];
    let during: string | undefined = spawnedBy.get(pid);
    const lines = texts.get(f)!.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!line) continue;
      if (line.startsWith(`{"${MARK}"`)) {
        const m = JSON.parse(line) as { test?: string };
        if (m.test && !spawnedBy.has(pid)) during = m.test;
        continue;
      }
      report.lines++;
      for (const h of auditLine(line, secrets)) report.hits.push({ file: join(dir, f), line: i + 1, rule: h.rule, excerpt: h.excerpt, during });
    }
  }
  return report;
}

const count = (n: number, what: string, plural = `${what}s`) => `${n} ${n === 1 ? what : plural}`;

export function formatReport(report: AuditReport, max = 60): string {
  const scope = `${count(report.lines, 'log line')} from ${count(report.files, 'file')}`;
  if (report.hits.length === 0) return `log audit: ${scope}, no secret or personal data found`;
  const byRule = new Map<string, number>();
  for (const h of report.hits) byRule.set(h.rule, (byRule.get(h.rule) ?? 0) + 1);
  const out = [
    `log audit FAILED: ${count(report.hits.length, 'hit')} in ${scope} (${[...byRule].map(([r, n]) => `${r}: ${n}`).join(', ')})`,
    `lines kept in ${report.dir}`,
  ];
  for (const h of report.hits.slice(0, max)) {
    out.push(`  ${h.file}:${h.line}  [${h.rule}]${h.during ? `  during ${h.during}` : ''}`);
    out.push(`      ${h.excerpt.slice(0, 300)}`);
  }
  if (report.hits.length > max) out.push(`  … and ${report.hits.length - max} more`);
  out.push('rules:', ...RULES.map((r) => `  ${r.id}: ${r.what}`), '  known-secret: a value the tests registered with auditSecrets()');
  return out.join('\n');
}

/** Audit directories left by earlier runs that failed (or died) more than a day ago. */
export function staleAuditDirs(parent: string, prefix: string, olderThanMs = 86_400_000): string[] {
  const cutoff = Date.now() - olderThanMs;
  const out: string[] = [];
  for (const n of readdirSync(parent)) {
    if (!n.startsWith(prefix)) continue;
    try {
      if (statSync(join(parent, n)).mtimeMs < cutoff) out.push(join(parent, n));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

// `npx tsx test/support/log-audit.ts <dir>`: audit a kept directory by hand.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? process.env[LOG_AUDIT_ENV];
  if (!dir) {
    process.stderr.write('usage: tsx test/support/log-audit.ts <audit dir>\n');
    process.exit(1);
  }
  const report = auditLogDir(dir);
  process.stderr.write(`${formatReport(report, 1000)}\n`);
  process.exit(report.hits.length > 0 ? 1 : 0);
}
