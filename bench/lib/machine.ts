/**
 * The machine a bench ran on, and what a process used of it (Linux /proc). Benches print the
 * machine and the load average at start and end: the machine may be shared.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';

export function cpuModel(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1]!.trim();
  } catch {
    /* not Linux */
  }
  return model;
}

export function machineLine(): string {
  return `nproc ${cpus().length}, CPU ${cpuModel()}, node ${process.version}, ${process.platform}/${process.arch}`;
}

/** The 1, 5 and 15 minute load averages. */
export function loadLine(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' / ');
}

/** The PostgreSQL server's version (`server_version`). */
export async function serverVersion(adminUrl: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return (await c.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]!.v;
  } finally {
    await c.end();
  }
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set size of a process, MB (Linux /proc). */
export function rssOf(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** The largest resident set size a process has had so far (VmHWM), MB; 0 once it has exited. */
export function hwmOf(pid: number): number {
  return statusField(pid, 'VmHWM');
}

/** CPU seconds (user + system) a process has used so far (Linux /proc; 0 elsewhere). */
export function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks, USER_HZ = 100 on Linux
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every 50 ms until stopped; returns the peak (MB). */
export function rssSampler(pid: number): { stop(): number; reset(): void } {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    const r = rssOf(pid);
    if (r > peak) peak = r;
  }, 50);
  return {
    reset() {
      peak = rssOf(pid);
    },
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssOf(pid));
    },
  };
}
