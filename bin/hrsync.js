#!/usr/bin/env node
// Entry point of the `hrsync` command: runs the compiled CLI (built by `npm ci` via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  process.stderr.write('hrsync: not built yet: run `npm run build` (npm ci does it for you)\n');
  process.exit(1);
}
const { main } = await import(compiled.href);
await main(process.argv);
