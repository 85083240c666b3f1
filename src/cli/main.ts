import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { scopeSchema } from '../config/schema.js';
import type { ScopeRules } from '../domain/scope.js';
import { packageRoot } from '../lib/paths.js';
import { createContext, type AppContext } from '../app/context.js';
import { createToken, listTokens, revokeToken, type TokenScope } from '../auth/tokens.js';
import { webhookStats } from '../webhooks/webhook-stats.js';
import { loadConfig } from '../config/load.js';
import { ensureDatabase, openStore } from '../db/orm.js';
import { isUuid } from '../domain/uuid.js';
import { sqlOne } from '../db/sql.js';
import { AppError, errorMessage, isAppError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { ON_DEMAND_MAX, syncEmployeesNow } from '../sync/on-demand.js';
import type { SyncProgress } from '../sync/sync-engine.js';
import { listUsers } from '../users/user-service.js';
import { formatRollout, formatRun, formatUsersTable } from './format.js';
import { classifyUsers, userIdsOfEmployees } from './invitees.js';
import { registerRuleCommands } from './rules.js';

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** Exit statuses: 0 ok; 1 error; 2 sync run failed; 3 sync run needs approval. */
export const EXIT = { ok: 0, error: 1, runFailed: 2, needsApproval: 3 } as const;

class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

/** CLI commands log warnings and errors only, unless LOG_LEVEL says otherwise. */
async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  const ctx = await createContext({ env });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

function progressPrinter(enabled: boolean): { onProgress?: (p: SyncProgress) => void; done(): void } {
  if (!enabled) return { done() {} };
  let last = 0;
  let printed = false;
  return {
    onProgress(p) {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      printed = true;
      process.stderr.write(`\rsyncing: ${p.seen.toLocaleString('en-US')} records seen, ${p.rate.toLocaleString('en-US')}/s, ${(p.elapsedMs / 1000).toFixed(1)} s   `);
    },
    done() {
      if (printed) process.stderr.write('\n');
    },
  };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('hrsync')
    .description('Syncs employees from HR systems into the user store without inviting them; rollouts invite them deliberately.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('the service: queue workers, scheduled syncs, HTTP; or one role of it per process')
    .addOption(new Option('--role <role>', 'which part of the service this process runs').choices(['all', 'api', 'worker', 'scheduler']).default('all'))
    .action(async (opts: { role: 'all' | 'api' | 'worker' | 'scheduler' }) => {
      // The service's parts (HTTP server, dashboard, Bull Board, mail templates, workers, cron) are
      // loaded by `start` only: every other command, e.g. a `hrsync sync` per connector from a
      // script, starts in about half the time and memory without them.
      const { runStart } = await import('./start.js');
      await runStart(opts.role);
    });

  program
    .command('migrate')
    .description('create the database if missing and apply migrations')
    .action(async () => {
      const config = loadConfig();
      const log = createLogger({ level: config.logLevel });
      const created = await ensureDatabase(config.databaseUrl);
      const orm = await openStore(config.databaseUrl, log);
      const executed = await orm.getMigrator().getExecutedMigrations();
      await orm.close(true);
      out(`${created ? 'database created; ' : ''}migrations up to date (${executed.length} applied)`);
    });

  const sync = program
    .command('sync')
    .description('run one sync of a connector now, to the end; or approve / reject a held run')
    .usage('<connectorId> [options] | approve <runId> | reject <runId>')
    .argument('[connectorId]', 'the connector to sync')
    .option('--connector <id>', 'the connector to sync, when it is named "approve" or "reject"')
    .option('--dry-run', 'plan only: report what would change, write nothing', false)
    .option('--full', 'force a full listing even where incremental sync is configured', false)
    .option('--scope-file <path>', 'with --dry-run: plan with the scoping rules in this YAML/JSON file ({ include, exclude }) instead of the connector\'s')
    .option('--employee <id...>', `only these employees (ids at the HR system, at most ${ON_DEMAND_MAX}), looked up by id now: no listing (trigger on_demand)`)
    .option('--json', 'print the run record as one JSON object', false)
    .action(async (positional: string | undefined, opts: { connector?: string; dryRun: boolean; json: boolean; full: boolean; employee?: string[]; scopeFile?: string }) => {
      if (positional && opts.connector) throw new AppError('validation_failed', `name the connector once: "${positional}" or --connector ${opts.connector}`);
      const connectorId = opts.connector ?? positional;
      if (!connectorId) throw new AppError('validation_failed', 'usage: hrsync sync <connectorId> | hrsync sync approve|reject <runId>');
      if (opts.employee && (opts.dryRun || opts.full)) throw new AppError('validation_failed', '--employee applies what HR says of those people now: it cannot be combined with --dry-run or --full');
      if (opts.scopeFile && !opts.dryRun) throw new AppError('validation_failed', '--scope-file shows what a scope would do: use it with --dry-run (then save the scope in the configuration)');
      const scope = opts.scopeFile ? readScopeFile(opts.scopeFile) : undefined;
      const progress = progressPrinter(!opts.json && !opts.employee && process.stderr.isTTY === true);
      const employees = opts.employee;
      const run = await withContext(async (ctx) => {
        const r = employees
          ? (await syncEmployeesNow({ em: ctx.em, config: ctx.config, log: ctx.log, onFinished: ctx.onFinished }, connectorId, employees)).run
          : await ctx.sync.run({ connectorId, dryRun: opts.dryRun, full: opts.full, trigger: 'manual', onProgress: progress.onProgress, scope });
        // As the sync job's hook does: the organization's invitation rules and leavers follow what the run wrote.
        if (!r.dryRun && r.status !== 'failed') {
          try {
            await ctx.rules().evaluateOrganization(r.organizationId);
            await ctx.leavers().evaluate(r.organizationId);
          } catch (err) {
            ctx.log.warn({ organizationId: r.organizationId, err: errorMessage(err) }, 'rules not re-planned after the sync; the worker\'s daily evaluation will');
          }
        }
        return r;
      });
      progress.done();
      out(opts.json ? JSON.stringify(run) : formatRun(run));
      if (run.status === 'failed') {
        if (!opts.json) process.stderr.write(`hrsync: sync ${run.id} failed: ${run.error}\n`);
        throw new ExitCode(EXIT.runFailed);
      }
      if (run.status === 'needs_approval') {
        if (!opts.json) process.stderr.write(`hrsync: sync ${run.id} needs approval: ${run.heldReason}; approve with: hrsync sync approve ${run.id}\n`);
        throw new ExitCode(EXIT.needsApproval);
      }
    });
  for (const decision of ['approve', 'reject'] as const) {
    sync
      .command(decision)
      .description(decision === 'approve' ? 'apply the deactivations a run held back' : 'discard the deactivations a run held back')
      .argument('<runId>', 'the run that needs approval')
      // sync's own --json is recognised after the subcommand too: read both
      .option('--json', 'print the run record as one JSON object')
      .action(async (runId: string, _opts: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<{ json?: boolean }>();
        if (!isUuid(runId)) throw new AppError('validation_failed', `"${runId}" is not a run id (to sync a connector named "${decision}": hrsync sync --connector ${decision})`);
        const run = await withContext((ctx) => (decision === 'approve' ? ctx.sync.approve(runId, 'cli') : ctx.sync.reject(runId, 'cli')));
        out(opts.json ? JSON.stringify(run) : formatRun(run));
      });
  }

  const connectors = program.command('connectors').description('the configured HR connectors');
  connectors
    .command('check')
    .description('check that a connector\'s credentials and permissions work, without syncing')
    .argument('<connectorId>')
    .option('--json', 'print the result as JSON', false)
    .action(async (connectorId: string, opts: { json: boolean }) => {
      const [result, hooks] = await withContext(async (ctx) => [await ctx.sync.checkConnector(connectorId), (await webhookStats(ctx.em(), [connectorId])).get(connectorId) ?? null] as const);
      out(opts.json ? JSON.stringify({ ...result, webhooks: hooks }) : `${connectorId} (${result.type}): connection and credentials ok (${result.tookMs} ms)${hooks ? `\nwebhooks: last event ${hooks.lastEventAt ?? 'never'}, ${hooks.accepted} accepted, ${hooks.rejected} rejected signatures` : ''}`);
    });

  program
    .command('invite')
    .description('create a rollout: invite users now or at a chosen time (nothing else ever invites)')
    .option('--user <user...>', 'users by user id, e-mail or employee id (repeatable)')
    .option('--filter <key=value...>', 'users by location, group, connector, access, status (repeatable; combined with AND, and with --user)')
    .option('--org <id>', 'the organization (default: the only one configured)')
    .option('--at <iso8601>', 'send at this time instead of now')
    .addOption(new Option('--login-method <method>', 'how invitees will sign in').choices(['password', 'sso', 'magic_link']).default('password'))
    .option('--message <text>', 'a short personal note (plain text, at most 500 characters)')
    .option('--resend', 're-invite users invited before who have not accepted (their old link stops working)', false)
    .option('--json', 'print the rollout as JSON', false)
    .action(async (opts: { user?: string[]; filter?: string[]; org?: string; at?: string; loginMethod: 'password' | 'sso' | 'magic_link'; message?: string; resend: boolean; json: boolean }) => {
      if (!opts.user && !opts.filter) throw new AppError('validation_failed', 'name the invitees: --user ID|EMAIL|EMPLOYEE_ID … and/or --filter KEY=VALUE …');
      const filter = opts.filter ? parseFilters(opts.filter) : undefined;
      let sendAt: string | undefined;
      if (opts.at) {
        const d = new Date(opts.at);
        if (Number.isNaN(d.getTime())) throw new AppError('validation_failed', `--at: not an ISO 8601 time: "${opts.at}"`);
        sendAt = d.toISOString();
      }
      const given = classifyUsers(opts.user ?? []);
      if (opts.user && given.userIds.length + given.emails.length + given.employeeIds.length === 0) throw new AppError('validation_failed', '--user: empty');
      const rollout = await withContext(async (ctx) => {
        const org = opts.org ?? (ctx.config.organizations.length === 1 ? ctx.config.organizations[0].id : undefined);
        if (!org) throw new AppError('validation_failed', `several organizations are configured: choose one with --org (${ctx.config.organizations.map((o) => o.id).join(', ')})`);
        const ids = [...new Set([...given.userIds, ...(await userIdsOfEmployees(ctx.em(), org, given.employeeIds))])];
        return ctx.rollouts().create(org, {
          ...(ids.length ? { userIds: ids } : {}),
          ...(given.emails.length ? { emails: given.emails } : {}),
          ...(filter ? { filter } : {}),
          loginMethod: opts.loginMethod,
          message: opts.message ?? null,
          sendAt,
          resend: opts.resend,
        }, { createdBy: 'cli' });
      });
      out(opts.json ? JSON.stringify(rollout) : formatRollout(rollout));
    });

  registerRuleCommands(program, { withContext, out });

  const rollouts = program.command('rollouts').description('inspect or steer rollouts');
  for (const action of ['show', 'cancel', 'pause', 'resume'] as const) {
    rollouts
      .command(action)
      .description(action === 'show' ? 'status and counters of a rollout' : `${action} a rollout (takes effect between messages)`)
      .argument('<rolloutId>')
      .option('--json', 'print the rollout as JSON', false)
      .action(async (id: string, opts: { json: boolean }) => {
        const rollout = await withContext(async (ctx) => {
          const svc = ctx.rollouts();
          if (action === 'show') {
            const r = await svc.get(id);
            if (!r) throw new AppError('rollout_not_found', `no rollout ${id}`);
            return r;
          }
          return svc[action](id);
        });
        out(opts.json ? JSON.stringify(rollout) : formatRollout(rollout));
      });
  }
  rollouts
    .command('list')
    .description('recent rollouts')
    .option('--org <id>', 'only this organization')
    .option('--json', 'print a JSON array', false)
    .action(async (opts: { org?: string; json: boolean }) => {
      const list = await withContext((ctx) => ctx.rollouts().list({ organizationId: opts.org }));
      out(opts.json ? JSON.stringify(list) : list.map(formatRollout).join('') || 'no rollouts\n');
    });

  const tokens = program.command('tokens').description('API tokens of organizations (stored hashed)');
  tokens
    .command('create')
    .description('print a new API token for one organization (shown once; the last line of stdout is the token alone)')
    .requiredOption('--org <id>', 'the organization the token acts for')
    .option('--name <name>', 'what the token is for')
    .option('--scope <scope...>', 'what the token may be used for: api (default) and/or scim (the SCIM 2.0 endpoint /scim/v2)')
    .action(async (opts: { org: string; name?: string; scope?: TokenScope[] }) => {
      const { token, record } = await withContext((ctx) => createToken(ctx.em(), opts.org, opts.name, opts.scope ?? ['api']));
      process.stderr.write(`token ${record.id} for organization ${record.organizationId} (store it now: it is not shown again)\n`);
      out(token);
    });
  tokens
    .command('list')
    .option('--org <id>', 'only this organization')
    .option('--json', 'print JSON', false)
    .action(async (opts: { org?: string; json: boolean }) => {
      const list = await withContext((ctx) => listTokens(ctx.em(), opts.org));
      out(opts.json ? JSON.stringify(list) : list.map((t) => `${t.id}  ${t.organizationId}  ${t.hint}  ${t.name ?? ''}  ${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}`).join('\n') || 'no tokens');
    });
  tokens
    .command('revoke')
    .argument('<tokenId>')
    .action(async (id: string) => {
      const t = await withContext((ctx) => revokeToken(ctx.em(), id));
      out(`token ${t.id} revoked`);
    });

  const users = program.command('users').description('the user store');
  users
    .command('list')
    .description('list users with their access and employment state')
    .option('--org <id>', 'only this organization')
    .option('--status <status>', 'active | deactivated')
    .option('--access <access>', 'none | invited | active')
    .option('--json', 'print a JSON array of users', false)
    .action(async (opts: { org?: string; json: boolean; status?: 'active' | 'deactivated'; access?: 'none' | 'invited' | 'active' }) => {
      await withContext(async (ctx) => {
        if (opts.org && !ctx.config.organizations.some((o) => o.id === opts.org)) {
          const known = await sqlOne(ctx.em(), 'select 1 from organizations where id = ?', [opts.org]);
          if (!known) throw new AppError('organization_not_found', `no organization "${opts.org}"`);
        }
        let cursor: string | undefined;
        let first = true;
        if (opts.json) process.stdout.write('[');
        do {
          const page = await listUsers(ctx.em(), { organizationId: opts.org, status: opts.status, access: opts.access, cursor, limit: 1000 });
          if (opts.json) {
            for (const u of page.users) {
              process.stdout.write(`${first ? '' : ','}\n${JSON.stringify(u)}`);
              first = false;
            }
          } else {
            process.stdout.write(formatUsersTable(page.users, first));
            first = false;
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        if (opts.json) process.stdout.write(first ? ']\n' : '\n]\n');
      });
    });

  return program;
}

/** A scope file: `{ include, exclude }`, or a connector's `scope:` block as it would be saved. */
function readScopeFile(path: string): ScopeRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('validation_failed', `--scope-file: cannot read ${path}: ${errorMessage(err)}`);
  }
  const raw = parseYaml(text) as Record<string, unknown> | null;
  const body = raw && typeof raw === 'object' && 'scope' in raw ? raw.scope : raw;
  const parsed = scopeSchema.safeParse(body ?? {});
  if (!parsed.success) throw new AppError('validation_failed', `--scope-file ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return { include: parsed.data.include, exclude: parsed.data.exclude };
}

const FILTER_KEYS = ['location', 'group', 'connector', 'access', 'status'] as const;

function parseFilters(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq) : '';
    if (!(FILTER_KEYS as readonly string[]).includes(key)) throw new AppError('validation_failed', `--filter ${item}: use KEY=VALUE with KEY one of ${FILTER_KEYS.join(', ')}`);
    out[key] = item.slice(eq + 1);
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = handleError(err);
  }
}

function handleError(err: unknown): number {
  if (err instanceof ExitCode) return err.code;
  if (err instanceof CommanderError) {
    // commander has already printed usage problems; help and version exit 0
    return err.exitCode === 0 ? 0 : EXIT.error;
  }
  if (isAppError(err)) {
    process.stderr.write(`hrsync: ${err.message}\n`);
    return EXIT.error;
  }
  if (err && typeof err === 'object' && 'issues' in err) {
    process.stderr.write(`hrsync: invalid input: ${errorMessage(err)}\n`);
    return EXIT.error;
  }
  process.stderr.write(`hrsync: unexpected error: ${errorMessage(err)}\n`);
  if (process.env.LOG_LEVEL === 'debug' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return EXIT.error;
}
