/**
 * `npm run chaos [-- --quick] [-- --only <name> …]`: runs every chaos scenario under
 * bench/chaos/ one after another, prints each result, and writes
 * bench/results/chaos-<YYYY-MM-DD>.json and .md (`--quick`: chaos-<date>-quick.*, so that a
 * smoke run never overwrites the day's real figures). Exit status 1 if any result is not ok
 * (or a scenario threw, or a scenario module could not be loaded).
 *
 * Scenario modules are found by listing this directory: every `*.ts` here except run.ts and
 * scenario.ts exports `scenarios: ChaosScenario[]` (see scenario.ts). A new module joins
 * without an edit here.
 *
 * Results of the same day are merged: a run with `--only` replaces the rows of the scenarios
 * it ran and keeps the others', so scenarios run one at a time still make one file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChaosResult, ChaosScenario } from './scenario.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, '..', 'results');

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  loadavgAtStart: number[];
}

/** One stored row: the scenario's result with the scenario's name and when and how it ran. */
export type StoredResult = ChaosResult & { name: string; quick: boolean; startedAt: string; loadavgAtStart: number[] };

export interface ChaosReport {
  date: string;
  quick: boolean;
  /** the machine of the latest run (each row keeps its own load average) */
  machine: Machine;
  updatedAt: string;
  results: StoredResult[];
}

export function parseArgs(argv: string[]): { quick: boolean; only: string[] } {
  const only: string[] = [];
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only') {
      const v = argv[++i];
      if (!v) throw new Error('--only needs a scenario name');
      only.push(...v.split(',').filter(Boolean));
    } else if (a.startsWith('--only=')) only.push(...a.slice(7).split(',').filter(Boolean));
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run chaos [-- --quick] [-- --only <name> ...]\n');
      process.exit(0);
    } else throw new Error(`unknown argument "${a}" (known: --quick, --only <name>)`);
  }
  return { quick, only };
}

/** The scenario modules of a directory: every .ts but run.ts, scenario.ts, tests and declarations. */
export function scenarioFiles(dir = HERE): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts') && e.name !== 'run.ts' && e.name !== 'scenario.ts')
    .map((e) => join(dir, e.name))
    .sort();
}

export async function loadScenarios(files: string[]): Promise<{ scenarios: Array<ChaosScenario & { file: string }>; errors: Array<{ file: string; error: string }> }> {
  const scenarios: Array<ChaosScenario & { file: string }> = [];
  const errors: Array<{ file: string; error: string }> = [];
  for (const file of files) {
    try {
      const mod = (await import(pathToFileURL(file).href)) as { scenarios?: ChaosScenario[] };
      if (!Array.isArray(mod.scenarios)) {
        errors.push({ file, error: 'exports no `scenarios` array' });
        continue;
      }
      for (const s of mod.scenarios) scenarios.push({ ...s, run: s.run.bind(s), file });
    } catch (err) {
      errors.push({ file, error: (err as Error).stack ?? String(err) });
    }
  }
  const seen = new Set<string>();
  for (const s of scenarios) {
    if (seen.has(s.name)) errors.push({ file: s.file, error: `scenario name "${s.name}" is used twice` });
    seen.add(s.name);
  }
  return { scenarios, errors };
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

export function machine(): Machine {
  return { cpu: cpuModel(), cores: cpus().length, node: process.version, loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100) };
}

const fmt = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US'));

export function resultLine(r: ChaosResult): string {
  return (
    `${r.ok ? 'ok  ' : 'FAIL'} [${r.table}] ${r.scenario}: faults ${r.faults}, expected ${fmt(r.expected)}, lost ${fmt(r.lost)}, ` +
    `duplicated ${fmt(r.duplicated)}${r.duplicateBound !== null ? ` (bound ${fmt(r.duplicateBound)})` : ''}, ${r.deadLinks !== undefined ? `dead links ${fmt(r.deadLinks)}, ` : ''}violations ${fmt(r.violations)}, ` +
    `recovery ${r.recoverySeconds === null ? '–' : `${r.recoverySeconds} s`}, ${r.seconds} s` + (r.notes ? `\n     ${r.notes}` : '')
  );
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One table per `table` value, in the order the tables first appear; notes listed under each table. */
export function toMarkdown(report: ChaosReport): string {
  const m = report.machine;
  const out: string[] = [
    `# hrsync chaos — ${report.date}${report.quick ? ' (quick sizes)' : ''}`,
    '',
    `machine: ${m.cores} cores, ${m.cpu}, node ${m.node}; load average (1/5/15 min) at the start of the latest run ${m.loadavgAtStart.join(' / ')}  `,
    `updated ${report.updatedAt}; \`npm run chaos${report.quick ? ' -- --quick' : ''}\` (bench/chaos/run.ts). The machine is shared: timings move with other work.`,
    '',
  ];
  const tables = [...new Set(report.results.map((r) => r.table))];
  for (const t of tables) {
    const rows = report.results.filter((r) => r.table === t);
    out.push(`## ${t}`, '', '| scenario | faults | expected | lost | duplicated (bound) | violations | recovery s | seconds | ok |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |');
    for (const r of rows) {
      const dup = `${fmt(r.duplicated)}${r.duplicateBound !== null ? ` (≤ ${fmt(r.duplicateBound)})` : ''}`;
      out.push(`| ${cell(r.scenario)} | ${r.faults} | ${fmt(r.expected)} | ${fmt(r.lost)} | ${dup} | ${fmt(r.violations)} | ${r.recoverySeconds === null ? '–' : r.recoverySeconds} | ${r.seconds} | ${r.ok ? '✓' : '✗'} |`);
    }
    const notes = rows.filter((r) => r.notes);
    if (notes.length) {
      out.push('');
      for (const r of rows) {
        out.push(`- **${cell(r.scenario)}** (\`${r.name}\`, started ${r.startedAt}, load ${r.loadavgAtStart.join(' / ')})${r.notes ? `: ${cell(r.notes)}` : ''}`);
      }
    }
    out.push('');
  }
  return out.join('\n');
}

/** Today's report with `fresh` merged in: rows of the scenarios that ran now replace their older rows. */
export function mergeReport(previous: ChaosReport | null, fresh: StoredResult[], ran: Set<string>, m: Machine, date: string, quick: boolean): ChaosReport {
  const kept = (previous?.results ?? []).filter((r) => !ran.has(r.name));
  return { date, quick, machine: m, updatedAt: new Date().toISOString(), results: [...kept, ...fresh] };
}

async function main(): Promise<number> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const m = machine();
  process.stdout.write(`chaos${quick ? ' (quick)' : ''}: ${m.cores} cores, ${m.cpu}, node ${m.node}, load ${m.loadavgAtStart.join(' / ')}\n`);
  const { scenarios, errors } = await loadScenarios(scenarioFiles());
  for (const e of errors) process.stderr.write(`chaos: ${e.file}: ${e.error}\n`);
  const unknown = only.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length) {
    process.stderr.write(`chaos: no scenario named ${unknown.join(', ')} (known: ${scenarios.map((s) => s.name).join(', ') || 'none'})\n`);
    return 1;
  }
  const chosen = only.length ? scenarios.filter((s) => only.includes(s.name)) : scenarios;
  const fresh: StoredResult[] = [];
  const log = (line: string) => process.stdout.write(`${line}\n`);
  for (const s of chosen) {
    const startedAt = new Date().toISOString();
    const load = loadavg().map((l) => Math.round(l * 100) / 100);
    log(`\n▶ ${s.name} [${s.table}] (${s.file.slice(HERE.length + 1)}), load ${load.join(' / ')}`);
    const t = Date.now();
    let results: ChaosResult[];
    try {
      results = await s.run({ quick, log });
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      process.stderr.write(`chaos: ${s.name} threw: ${(err as Error).stack ?? msg}\n`);
      results = [{
        table: s.table, scenario: `${s.name} (threw)`, faults: 0, expected: 0, lost: 0, duplicated: 0, duplicateBound: null, violations: 1,
        recoverySeconds: null, seconds: Math.round((Date.now() - t) / 100) / 10, ok: false, notes: `threw: ${msg.split('\n')[0]}`,
      }];
    }
    for (const r of results) {
      log(resultLine(r));
      fresh.push({ ...r, name: s.name, quick, startedAt, loadavgAtStart: load });
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(RESULTS, { recursive: true });
  const base = join(RESULTS, `chaos-${date}${quick ? '-quick' : ''}`);
  let previous: ChaosReport | null = null;
  if (existsSync(`${base}.json`)) {
    try {
      previous = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as ChaosReport;
    } catch {
      previous = null;
    }
  }
  const report = mergeReport(previous, fresh, new Set(chosen.map((s) => s.name)), m, date, quick);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, toMarkdown(report));
  log(`\nwritten ${base}.json and .md`);
  const failed = fresh.filter((r) => !r.ok);
  if (failed.length) log(`${failed.length} of ${fresh.length} results not ok`);
  // A module that could not be loaded fails the run unless it was not asked for (--only).
  return failed.length > 0 || (errors.length > 0 && only.length === 0) ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`chaos: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
