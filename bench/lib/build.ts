/**
 * The current tree, compiled as production runs it: `tsc -p tsconfig.build.json` into
 * `<dir>/dist`, with bin/hrsync.js beside it, a package.json and a link to the repository's
 * node_modules. `node <dir>/bin/hrsync.js …` is then the installed `hrsync` command on this
 * tree's code, plain node without the tsx loader (which adds ~40 MB of RSS). The repository's
 * own dist/ is left alone: other work may be using it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface BuiltTree {
  /** the package root: package.json, bin/, dist/, node_modules → the repository's */
  dir: string;
  /** `node <bin> …` runs the CLI */
  bin: string;
  /** the compiled sources (dist/src, dist/jobs, dist/connectors) */
  dist: string;
  /** removes the node_modules link (not what it points to); the caller removes `dir` */
  unlink(): void;
}

/**
 * `source`: the tree to compile, by default this repository; another one (a copy of an older
 * state, with a node_modules link) gives before/after figures from one bench.
 */
export function buildTree(dir: string, source = REPO_ROOT): BuiltTree {
  const dist = join(dir, 'dist');
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(source, 'tsconfig.build.json'), '--outDir', dist], { cwd: source, encoding: 'utf8' });
  if (!existsSync(join(dist, 'src', 'cli', 'main.js')) || !existsSync(join(dist, 'jobs', 'workers.js'))) throw new Error(`tsc build failed:\n${r.stdout}${r.stderr}`);
  if (r.status !== 0) process.stderr.write(`(tsc reported problems, the build is used anyway)\n${r.stdout.split('\n').slice(0, 5).join('\n')}\n`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(join(source, 'bin', 'hrsync.js'), join(dir, 'bin', 'hrsync.js'));
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true })}\n`);
  const link = join(dir, 'node_modules');
  symlinkSync(join(REPO_ROOT, 'node_modules'), link, 'dir');
  return {
    dir,
    bin: join(dir, 'bin', 'hrsync.js'),
    dist,
    unlink() {
      try {
        unlinkSync(link);
      } catch {
        /* gone already */
      }
    },
  };
}
