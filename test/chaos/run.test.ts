import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeReport, parseArgs, resultLine, scenarioFiles, toMarkdown, type StoredResult } from '../../bench/chaos/run.js';
import { tempDir } from '../support/store.js';

const row = (over: Partial<StoredResult>): StoredResult => ({
  name: 'worker-kill', quick: false, startedAt: '2026-11-27T00:00:00.000Z', loadavgAtStart: [1, 2, 3],
  table: 'worker SIGKILL', scenario: '20,000-user rollout', faults: 5, expected: 20_000, lost: 0, duplicated: 42, duplicateBound: 500,
  violations: 0, recoverySeconds: 6.5, seconds: 120, ok: true, notes: 'a | note',
  ...over,
});

describe('the chaos runner (bench/chaos/run.ts)', () => {
  it('takes --quick and repeated --only', () => {
    expect(parseArgs([])).toEqual({ quick: false, only: [] });
    expect(parseArgs(['--quick', '--only', 'worker-kill', '--only', 'redis-restart'])).toEqual({ quick: true, only: ['worker-kill', 'redis-restart'] });
    expect(parseArgs(['--only=a,b'])).toEqual({ quick: false, only: ['a', 'b'] });
    expect(() => parseArgs(['--only'])).toThrow(/needs a scenario name/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument/);
  });

  it('finds every scenario module of the directory, whoever wrote it, but not itself, scenario.ts, tests or helpers in subfolders', () => {
    const dir = tempDir('hrsync-chaos-dir-');
    for (const f of ['run.ts', 'scenario.ts', 'zeta.ts', 'alpha.ts', 'types.d.ts', 'alpha.test.ts', 'notes.md']) writeFileSync(join(dir, f), '');
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'rig.ts'), '');
    expect(scenarioFiles(dir).map((f) => f.slice(dir.length + 1))).toEqual(['alpha.ts', 'zeta.ts']);
    const here = scenarioFiles().map((f) => f.split('/').pop());
    expect(here).toEqual(expect.arrayContaining(['worker-kill.ts', 'redis.ts']));
    expect(here).not.toContain('run.ts');
    expect(here).not.toContain('scenario.ts');
  });

  it('writes one markdown table per table value, with the bound beside the duplicates', () => {
    const md = toMarkdown({
      date: '2026-11-27', quick: false, updatedAt: 'now',
      machine: { cpu: 'AMD EPYC', cores: 2, node: 'v20', loadavgAtStart: [1, 2, 3] },
      results: [row({}), row({ name: 'redis-restart', table: 'Redis restart', scenario: '(a) mid-rollout', duplicated: 0, duplicateBound: 0, ok: false }), row({ name: 'x', table: 'HR API chaos', duplicateBound: null, recoverySeconds: null })],
    });
    expect(md.match(/^## /gm)).toHaveLength(3);
    expect(md).toContain('| scenario | faults | expected | lost | duplicated (bound) | violations | recovery s | seconds | ok |');
    expect(md).toContain('| 20,000-user rollout | 5 | 20,000 | 0 | 42 (≤ 500) | 0 | 6.5 | 120 | ✓ |');
    expect(md).toContain('| (a) mid-rollout | 5 | 20,000 | 0 | 0 (≤ 0) | 0 | 6.5 | 120 | ✗ |');
    expect(md).toContain('| 42 | 0 | – | 120 | ✓ |');
    expect(md).toContain('a \\| note');
    expect(resultLine(row({}))).toMatch(/^ok {3}\[worker SIGKILL\] 20,000-user rollout: faults 5, expected 20,000, lost 0, duplicated 42 \(bound 500\)/);
  });

  it('merges a day’s runs: a scenario run again replaces its own rows and keeps the others’', () => {
    const machine = { cpu: 'c', cores: 2, node: 'v20', loadavgAtStart: [0, 0, 0] };
    const before = mergeReport(null, [row({}), row({ name: 'pg-restart-sync', table: 'PostgreSQL restart' })], new Set(['worker-kill', 'pg-restart-sync']), machine, '2026-11-27', false);
    const after = mergeReport(before, [row({ duplicated: 7 })], new Set(['worker-kill']), machine, '2026-11-27', false);
    expect(after.results.map((r) => [r.name, r.duplicated])).toEqual([['pg-restart-sync', 42], ['worker-kill', 7]]);
  });
});
