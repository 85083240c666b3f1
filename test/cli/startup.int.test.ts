import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/store.js';

/**
 * Found by bench/scale.bench.ts: every `hrsync sync <id>` (one process per connector, as a cron
 * script over 1,000 organizations runs it) loaded the whole service first — HTTP server,
 * dashboard, Bull Board, MJML, nodemailer, node-cron — about 40% of its start time and memory.
 */

/** Every module URL `hrsync <args>` resolves, recorded by a module resolve hook. */
function modulesLoadedBy(args: string[]): string[] {
  const dir = tempDir('hrsync-imports-');
  const out = join(dir, 'modules.txt');
  writeFileSync(out, '');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(out, r.url + '\\n');
  return r;
}
`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { out: ${JSON.stringify(out)} } });
`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, '--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(out, 'utf8').split('\n').filter(Boolean);
}

describe('hrsync command start-up', () => {
  it('loads the service (HTTP server, dashboard, Bull Board, mail templates, cron) for `start` only, not for the other commands', () => {
    const loaded = modulesLoadedBy(['--version']);
    const has = (part: string) => loaded.some((url) => url.includes(part));
    // What every command needs is there: the recorder works.
    expect(has('/node_modules/commander/')).toBe(true);
    expect(has('/src/app/context.')).toBe(true);
    expect(has('/src/sync/sync-engine.')).toBe(true);
    // What only `start` needs is not.
    for (const part of ['/src/cli/start.', '/src/http/', '/jobs/workers.', '/node_modules/fastify/', '/node_modules/@bull-board/', '/node_modules/mjml/', '/node_modules/nodemailer/', '/node_modules/node-cron/']) {
      expect(has(part), `${part} loaded by hrsync --version`).toBe(false);
    }
  });
});
