#!/usr/bin/env node
// Entry point of the `hrsync` command: runs the compiled CLI (built by `npm ci` via `prepare`).
// In a checkout, a dist/ older than the sources would run yesterday's code: refuse, and say how to fix it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  process.stderr.write('hrsync: not built yet: run `npm run build` (npm ci does it for you)\n');
  process.exit(1);
}

/** The most recently changed TypeScript source (a production image ships dist/ without sources: none). */
function newestSource() {
  let newest = null;
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const mtime = statSync(p).mtimeMs;
        if (!newest || mtime > newest.mtime) newest = { path: p.slice(root.length), mtime };
      }
    }
  };
  for (const d of ['src', 'jobs', 'connectors']) walk(`${root}${d}`);
  return newest;
}

if (process.env.HRSYNC_SKIP_BUILD_CHECK !== '1') {
  const source = newestSource();
  if (source && source.mtime > statSync(fileURLToPath(compiled)).mtimeMs) {
    process.stderr.write(`hrsync: dist/ is older than the sources (${source.path} changed since the build): run \`npm run build\`, or \`npm run hrsync:dev -- <args>\` to run the sources\n`);
    process.exit(1);
  }
}
const { main } = await import(compiled.href);
await main(process.argv);
