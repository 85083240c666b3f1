import cron from 'node-cron';

/** Times as the dashboard shows and reads them. Pure, apart from nextRun's use of node-cron. */

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-11-26 18:04 UTC`: the server's rendering; the browser script shows local time on top. */
export function formatUtc(iso: string | Date | null | undefined, opts: { seconds?: boolean } = {}): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${opts.seconds ? `${base}:${pad(d.getUTCSeconds())}` : base} UTC`;
}

/** `1 h 5 min`, `42 s`, `850 ms`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `in 3 h 5 min` / `4 min ago`, relative to now. */
export function formatRelative(iso: string | Date, now: Date = new Date()): string {
  const diff = new Date(iso).getTime() - now.getTime();
  const s = Math.round(Math.abs(diff) / 1000);
  if (s < 1) return 'now';
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const text = s < 60 ? `${s} s` : m < 60 ? `${m} min` : h < 48 ? `${h} h${m % 60 ? ` ${m % 60} min` : ''}` : `${Math.floor(h / 24)} d`;
  return diff > 0 ? `in ${text}` : `${text} ago`;
}

export function formatCount(n: number | null | undefined): string {
  return (n ?? 0).toLocaleString('en-US');
}

/** Is this an IANA time zone name the runtime knows? */
export function isTimeZone(tz: string): boolean {
  if (!tz || tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

let zones: string[] | null = null;
/** Every time zone the runtime knows, UTC first. */
export function timeZones(): string[] {
  if (!zones) {
    const list = (Intl as unknown as { supportedValuesOf?(k: string): string[] }).supportedValuesOf?.('timeZone') ?? [];
    zones = ['UTC', ...list.filter((z) => z !== 'UTC')];
  }
  return zones;
}

/** The offset of `timeZone` from UTC at `instant`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(instant))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * A wall-clock time (`2026-11-26T09:30` or with `:ss`, as `<input type="datetime-local">`
 * sends it) in an IANA time zone → the instant. A time that does not exist (skipped by a
 * DST change) moves forward by the gap; an ambiguous one takes the earlier instant. Null
 * when the text or the zone is not valid.
 */
export function zonedTimeToUtc(local: string, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?$/.exec(local.trim());
  if (!m || !isTimeZone(timeZone)) return null;
  const [y, mo, d, h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (new Date(wall).getUTCDate() !== d) return null; // 31 February
  // Two candidates: the wall time minus the offset before and after it; take the earliest that maps back.
  const candidates = [wall - zoneOffsetMs(wall - 86_400_000, timeZone), wall - zoneOffsetMs(wall + 86_400_000, timeZone), wall - zoneOffsetMs(wall, timeZone)];
  const exact = candidates.filter((c) => c + zoneOffsetMs(c, timeZone) === wall).sort((a, b) => a - b);
  if (exact.length > 0) return new Date(exact[0]);
  // In a gap (clocks jumped forward): read with the offset before the jump, i.e. moved forward by the gap.
  return new Date(wall - zoneOffsetMs(wall - 86_400_000, timeZone));
}

/** The instant as `YYYY-MM-DDTHH:mm:ss` wall-clock time in a zone (the inverse of zonedTimeToUtc). */
export function utcToZonedLocal(instant: Date, timeZone: string): string {
  const t = instant.getTime() + zoneOffsetMs(instant.getTime(), timeZone);
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** When a node-cron schedule fires next (in its time zone), or null for none / an invalid expression. */
export function nextRun(schedule: string | null | undefined, timeZone?: string | null): Date | null {
  if (!schedule || !cron.validate(schedule)) return null;
  let task: ReturnType<typeof cron.createTask> | null = null;
  try {
    task = cron.createTask(schedule, () => undefined, { timezone: timeZone ?? undefined });
    return task.getNextRuns(1)[0] ?? null;
  } catch {
    return null;
  } finally {
    void task?.destroy();
  }
}
