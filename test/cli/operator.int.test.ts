import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { logFormat } from '../../src/lib/logger.js';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/store.js';

const run = promisify(execFile);

describe('log format', () => {
  it.each([
    [{}, true, 'pretty'],
    [{}, false, 'json'],
    [{ LOG_FORMAT: 'json' }, true, 'json'],
    [{ LOG_FORMAT: 'pretty' }, false, 'pretty'],
    [{ LOG_FORMAT: 'yaml' }, false, 'json'],
  ] as const)('with %o and a terminal: %s, writes %s', (env, tty, expected) => {
    expect(logFormat(env, tty)).toBe(expected);
  });

  const logOneLine = join(tempDir('hrsync-log-'), 'log.ts');
  writeFileSync(logOneLine, `import { createLogger } from '${ROOT}src/lib/logger.ts';\ncreateLogger().info({ runId: 'r-1', email: 'someone@acme.example' }, 'sync finished');\n`);
  const node = ['--import', 'tsx', logOneLine];

  it('writes one JSON object per line into a pipe, with secrets redacted', async () => {
    const { stderr } = await run(process.execPath, node, { cwd: ROOT, env: { PATH: process.env.PATH } });
    const line = JSON.parse(stderr.trim());
    expect(line).toMatchObject({ msg: 'sync finished', runId: 'r-1', email: '[redacted]' });
  });

  let hasScript = true;
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
  } catch {
    hasScript = false;
  }
  it.skipIf(!hasScript)('writes human-readable lines on a terminal, with secrets redacted', async () => {
    // script(1) gives the child a pseudo-terminal
    const cmd = [process.execPath, ...node].map((a) => `'${a}'`).join(' ');
    const { stdout } = await run('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH, TERM: 'dumb' } });
    const plain = stdout.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/\d\d:\d\d:\d\d\.\d{3}\] INFO: sync finished/);
    expect(plain).toContain('runId: "r-1"');
    expect(plain).toContain('email: "[redacted]"');
    expect(plain).not.toContain('someone@acme.example');
    expect(plain).not.toContain('{"level"');
  });
});

describe('bin/hrsync.js', () => {
  /** A copy of bin/ beside a stand-in dist/ and one source file, with chosen modification times. */
  function install(sourceAge: 'older' | 'newer'): string {
    const dir = tempDir('hrsync-bin-');
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'dist/src/cli'), { recursive: true });
    mkdirSync(join(dir, 'src/sync'), { recursive: true });
    copyFileSync(join(ROOT, 'bin/hrsync.js'), join(dir, 'bin/hrsync.js'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    writeFileSync(join(dir, 'dist/src/cli/main.js'), `export async function main(argv) { process.stdout.write('ran ' + argv.slice(2).join(' ') + '\\n'); }\n`);
    writeFileSync(join(dir, 'src/sync/sync-engine.ts'), 'export {};\n');
    const built = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'dist/src/cli/main.js'), built, built);
    const changed = new Date(built.getTime() + (sourceAge === 'newer' ? 30_000 : -30_000));
    utimesSync(join(dir, 'src/sync/sync-engine.ts'), changed, changed);
    return dir;
  }

  it('refuses to run a dist/ older than the sources, naming the changed file and the fix in one line', async () => {
    const dir = install('newer');
    const err = await run(process.execPath, [join(dir, 'bin/hrsync.js'), 'sync', 'acme'], { env: { PATH: process.env.PATH } }).then(() => ({ code: 0, stdout: '', stderr: '' }), (e: { code: number; stdout: string; stderr: string }) => e);
    expect(err.code).toBe(1);
    expect(err.stdout).toBe('');
    expect(err.stderr.trim().split('\n')).toHaveLength(1);
    expect(err.stderr).toContain('src/sync/sync-engine.ts');
    expect(err.stderr).toContain('npm run build');
  });

  it('runs a dist/ built after the last change, and one shipped without sources', async () => {
    const dir = install('older');
    expect((await run(process.execPath, [join(dir, 'bin/hrsync.js'), 'sync', 'acme'])).stdout).toBe('ran sync acme\n');
    const image = install('newer');
    execFileSync('rm', ['-r', join(image, 'src')]);
    expect((await run(process.execPath, [join(image, 'bin/hrsync.js'), 'migrate'])).stdout).toBe('ran migrate\n');
  });
});
