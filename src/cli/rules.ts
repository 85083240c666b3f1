import { Option, type Command } from 'commander';
import type { AppContext } from '../app/context.js';
import { AppError } from '../lib/errors.js';
import type { PreviewEntry, RuleInput, RuleRecord } from '../rules/rule-service.js';

const RULE_FILTER_KEYS = ['location', 'group', 'connector', 'status'] as const;

export interface CliHelpers {
  withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T>;
  out(s: string): void;
}

function parseRuleFilters(items: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq) : '';
    if (!(RULE_FILTER_KEYS as readonly string[]).includes(key)) throw new AppError('validation_failed', `--filter ${item}: use KEY=VALUE with KEY one of ${RULE_FILTER_KEYS.join(', ')}`);
    out[key] = item.slice(eq + 1);
  }
  return out;
}

function orgOf(ctx: AppContext, org: string | undefined): string {
  const id = org ?? (ctx.config.organizations.length === 1 ? ctx.config.organizations[0]!.id : undefined);
  if (!id) throw new AppError('validation_failed', `several organizations are configured: choose one with --org (${ctx.config.organizations.map((o) => o.id).join(', ')})`);
  return id;
}

export function formatRule(r: RuleRecord): string {
  const filter = Object.entries(r.filter).map(([k, v]) => `${k}=${v}`).join(' ') || 'everyone';
  const reminders = r.reminders ? `, remind ${r.reminders.daysBeforeExpiry} d before expiry ×${r.reminders.maxTimes}` : '';
  return `${r.id}  ${r.enabled ? 'on ' : 'off'}  ${r.name}: ${filter}, ${r.daysBefore} d before start at ${r.localTime} local, ${r.loginMethod}${r.rehires ? ', rehires too' : ''}${reminders}; ${r.planned ?? 0} planned\n`;
}

export function formatPreview(list: PreviewEntry[]): string {
  if (list.length === 0) return 'nobody to invite\n';
  return list.map((p) => `${p.at}  ${p.userId}  ${[p.firstName, p.lastName].filter(Boolean).join(' ')}  ${p.location ?? '-'}  start ${p.startDate} (${p.timeZone})\n`).join('');
}

/** `hrsync rules list|create|enable|disable|preview`: standing invitation decisions. */
export function registerRuleCommands(program: Command, { withContext, out }: CliHelpers): void {
  const rules = program.command('rules').description('invitation rules: invite joiners N days before their start date, at a local time');
  rules
    .command('list')
    .option('--org <id>', 'only this organization')
    .option('--json', 'print a JSON array', false)
    .action(async (opts: { org?: string; json: boolean }) => {
      const list = await withContext((ctx) => ctx.rules().list(opts.org));
      out(opts.json ? JSON.stringify(list) : list.map(formatRule).join('') || 'no rules\n');
    });

  const defineOptions = (c: Command) =>
    c
      .requiredOption('--name <name>', 'the rule\'s name (unique in the organization)')
      .option('--filter <key=value...>', `whom: ${RULE_FILTER_KEYS.join(', ')} (repeatable, combined with AND)`)
      .requiredOption('--days-before <n>', 'days before the start date')
      .option('--at <HH:MM>', 'the local time of day (the person\'s time zone)', '09:00')
      .addOption(new Option('--login-method <method>', 'how invitees will sign in').choices(['password', 'sso', 'magic_link']).default('password'))
      .option('--message <text>', 'a short personal note')
      .option('--rehires', 'rehired people count as joiners', false)
      .option('--remind <days:times>', 'remind N days before the link expires, at most K times (e.g. 2:1)')
      .option('--org <id>', 'the organization (default: the only one configured)')
      .option('--json', 'print JSON', false);
  type DefineOpts = { name: string; filter?: string[]; daysBefore: string; at: string; loginMethod: 'password' | 'sso' | 'magic_link'; message?: string; rehires: boolean; remind?: string; org?: string; json: boolean; enable?: boolean };
  const inputOf = (o: DefineOpts): RuleInput => {
    const remind = o.remind ? /^(\d+):(\d+)$/.exec(o.remind) : null;
    if (o.remind && !remind) throw new AppError('validation_failed', '--remind: DAYS:TIMES, e.g. 2:1');
    return {
      name: o.name,
      filter: parseRuleFilters(o.filter),
      daysBefore: Number(o.daysBefore),
      localTime: o.at,
      loginMethod: o.loginMethod,
      message: o.message ?? null,
      rehires: o.rehires,
      enabled: o.enable ?? false,
      ...(remind ? { reminders: { daysBeforeExpiry: Number(remind[1]), maxTimes: Number(remind[2]) } } : {}),
    };
  };

  defineOptions(rules.command('create').description('create a rule (switched off unless --enable: preview it first)'))
    .option('--enable', 'switch it on at once', false)
    .action(async (o: DefineOpts) => {
      const rule = await withContext((ctx) => ctx.rules().create(orgOf(ctx, o.org), inputOf(o), 'cli'));
      out(o.json ? JSON.stringify(rule) : formatRule(rule));
    });

  for (const action of ['enable', 'disable'] as const) {
    rules
      .command(`${action} <id>`)
      .option('--json', 'print JSON', false)
      .action(async (id: string, o: { json: boolean }) => {
        const rule = await withContext((ctx) => ctx.rules().setEnabled(id, action === 'enable', 'cli'));
        out(o.json ? JSON.stringify(rule) : formatRule(rule));
      });
  }

  rules
    .command('preview [id]')
    .description('who a rule (saved: its id; or described by the create options) will invite, and when')
    .option('--name <name>', 'as for create', 'preview')
    .option('--filter <key=value...>')
    .option('--days-before <n>')
    .option('--at <HH:MM>', '', '09:00')
    .addOption(new Option('--login-method <method>').choices(['password', 'sso', 'magic_link']).default('password'))
    .option('--rehires', '', false)
    .option('--org <id>')
    .option('--json', 'print JSON', false)
    .action(async (id: string | undefined, o: DefineOpts) => {
      const list = await withContext(async (ctx) => {
        if (id) {
          const rule = await ctx.rules().get(id);
          if (!rule) throw new AppError('not_found', `no invitation rule ${id}`);
          return ctx.rules().preview(rule.organizationId, rule);
        }
        if (o.daysBefore === undefined) throw new AppError('validation_failed', 'give a rule id, or --days-before and the other create options');
        return ctx.rules().preview(orgOf(ctx, o.org), inputOf(o));
      });
      out(o.json ? JSON.stringify(list) : formatPreview(list));
    });
}
