import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/lib/paths.js';

/**
 * The import rules of style.md (.dependency-cruiser.cjs), run by dependency-cruiser: the
 * tree keeps them, and each rule fails on a small tree built to break it, so a rule that
 * stopped matching (a renamed folder, a typo in a pattern) is noticed.
 */
const run = promisify(execFile);
const ROOT = packageRoot();
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

async function cruise(cwd: string, paths: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, '--config', CONFIG, '--output-type', 'err', ...paths], { cwd });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hrsync-deps-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('the dependency rules', () => {
  it('hold for the source tree', async () => {
    const { code, out } = await cruise(ROOT, ['src', 'jobs', 'connectors']);
    expect(out).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it.each([
    ['no-circular', { 'src/http/app.ts': `import { x } from './routes/users.js';\nexport const scope = x;\n`, 'src/http/routes/users.ts': `import { scope } from '../app.js';\nexport const x = 1; export const y = scope;\n` }],
    ['composition-root-only-knows-jobs', { 'src/http/routes/connectors.ts': `import { q } from '../../../jobs/queues.js';\nexport const r = q;\n`, 'jobs/queues.ts': 'export const q = 1;\n' }],
    ['jobs-not-faces', { 'jobs/workers.ts': `import { c } from '../src/app/context.js';\nexport const w = c;\n`, 'src/app/context.ts': 'export const c = 1;\n' }],
    ['sync-never-invites', { 'src/sync/engine.ts': `import { invite } from '../invitations/service.js';\nexport const e = invite;\n`, 'src/invitations/service.ts': 'export const invite = 1;\n' }],
    ['connectors-know-only-hr-records', { 'connectors/acme/index.ts': `import { store } from '../../src/db/store.js';\nexport const c = store;\n`, 'src/db/store.ts': 'export const store = 1;\n' }],
    ['domain-is-pure', { 'src/domain/plan.ts': `import { readFileSync } from 'node:fs';\nexport const p = readFileSync;\n` }],
  ])('fail on a tree that breaks %s', async (rule, files) => {
    const dir = tree(files as Record<string, string>);
    const { code, out } = await cruise(dir, ['src', ...(Object.keys(files).some((f) => f.startsWith('jobs/')) ? ['jobs'] : []), ...(Object.keys(files).some((f) => f.startsWith('connectors/')) ? ['connectors'] : [])]);
    expect(code).not.toBe(0);
    expect(out).toContain(`error ${rule}:`);
  });
});
