import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { auditMark, auditStderr, LOG_AUDIT_ENV } from './log-audit.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `hrsync …` from source in a child process, with its own environment. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}src/cli/run.ts`, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...auditEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    auditMark({ childPid: child.pid, args });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      auditStderr(child.pid, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

export { ROOT };

/** The log audit's directory (test/support/log-audit.ts), passed on so the child's log lines are audited too. */
export function auditEnv(): Record<string, string> {
  const dir = process.env[LOG_AUDIT_ENV];
  return dir ? { [LOG_AUDIT_ENV]: dir } : {};
}

/** Starts `hrsync …` as a long-running child (e.g. `start --role worker`); the caller kills it. */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}src/cli/run.ts`, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...auditEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  auditMark({ childPid: child.pid, args });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  child.on('close', () => auditStderr(child.pid, stderr));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return {
    child,
    exited,
    stderr: () => stderr,
    /** Resolves once the child printed `text` on stderr. */
    async waitFor(text: string, timeoutMs = 30_000): Promise<void> {
      const end = Date.now() + timeoutMs;
      while (!stderr.includes(text)) {
        if (Date.now() > end) throw new Error(`child did not print "${text}" in ${timeoutMs} ms; stderr: ${stderr.slice(-500)}`);
        if (child.exitCode !== null) throw new Error(`child exited ${child.exitCode}; stderr: ${stderr.slice(-500)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
