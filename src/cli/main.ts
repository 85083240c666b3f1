import { Command, CommanderError, Option } from 'commander';
import { createContext, type AppContext } from '../app/context.js';
import { loadConfig } from '../config/load.js';
import { ensureDatabase, openStore } from '../db/orm.js';
import { AppError, errorMessage, isAppError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import type { SyncProgress } from '../sync/sync-engine.js';
import { listUsers } from '../users/user-service.js';
import { formatRun, formatUsersTable } from './format.js';
import { runStart } from './start.js';

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
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('the service: initial syncs, scheduled syncs, health endpoints (more roles arrive with the HTTP API and the queues)')
    .addOption(new Option('--role <role>', 'which part of the service this process runs').choices(['all', 'api', 'worker', 'scheduler']).default('all'))
    .action(async (opts: { role: 'all' | 'api' | 'worker' | 'scheduler' }) => {
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
    .description('run one sync of a connector now, to the end (or: sync approve|reject <runId>)')
    .argument('<connectorId>', 'the connector to sync, or "approve" / "reject"')
    .argument('[runId]', 'with approve / reject: the run that needs approval')
    .option('--dry-run', 'plan only: report what would change, write nothing', false)
    .option('--full', 'force a full listing even where incremental sync is configured', false)
    .option('--json', 'print the run record as one JSON object', false)
    .action(async (first: string, runId: string | undefined, opts: { dryRun: boolean; json: boolean; full: boolean }) => {
      if (first === 'approve' || first === 'reject') {
        if (!runId) throw new AppError('validation_failed', `usage: hrsync sync ${first} <runId>`);
        const run = await withContext((ctx) => (first === 'approve' ? ctx.sync.approve(runId, 'cli') : ctx.sync.reject(runId, 'cli')));
        out(opts.json ? JSON.stringify(run) : formatRun(run));
        return;
      }
      if (runId) throw new AppError('validation_failed', `unexpected argument "${runId}" (usage: hrsync sync <connectorId> [--dry-run] [--json])`);
      const progress = progressPrinter(!opts.json && process.stderr.isTTY === true);
      const run = await withContext((ctx) =>
        ctx.sync.run({ connectorId: first, dryRun: opts.dryRun, full: opts.full, trigger: 'manual', onProgress: progress.onProgress }),
      );
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
  void sync;

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
          const known = await ctx.em().getConnection().execute('select 1 from organizations where id = ?', [opts.org]);
          if (known.length === 0) throw new AppError('organization_not_found', `no organization "${opts.org}"`);
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
