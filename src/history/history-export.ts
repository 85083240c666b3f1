import { Readable } from 'node:stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { bound } from '../db/sql.js';
import { toEvent, type EventRow } from './user-history.js';

export type ExportFormat = 'csv' | 'json';

const PAGE = 2_000;

/**
 * An organization's events in [from, to), oldest first, read in keyset pages of (at, id) through
 * the (organization_id, at, id) index. A generator: the next page is read only when the reader
 * has taken the last one (so memory holds one page whatever the range's size).
 */
export async function* exportPages(em: EntityManager, organizationId: string, from: Date, to: Date): AsyncGenerator<EventRow[]> {
  let after: { at: Date; id: string } | null = null;
  for (;;) {
    const rows: EventRow[] = await bound<EventRow>(
      em,
      `select id, organization_id, user_id, at, kind, actor_type, actor_id, data from user_events
        where organization_id = ? and at >= ? and at < ?${after ? ' and (at, id) > (?, ?)' : ''}
        order by at, id limit ${PAGE}`,
      [organizationId, from, to, ...(after ? [after.at, after.id] : [])],
    );
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1];
    after = { at: last.at, id: String(last.id) };
  }
}

const CSV_HEADER = 'id,at,user_id,kind,actor_type,actor_id,data\r\n';

/** RFC 4180: quoted when needed, quotes doubled; a leading =+-@ is defused for spreadsheets. */
function csvField(v: string | null): string {
  if (v === null) return '';
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The export as a stream of text chunks (one per page), CSV with a header or one JSON array. */
export function exportStream(em: EntityManager, organizationId: string, from: Date, to: Date, format: ExportFormat): Readable {
  async function* chunks(): AsyncGenerator<string> {
    let first = true;
    if (format === 'csv') yield CSV_HEADER;
    else yield '[';
    for await (const rows of exportPages(em, organizationId, from, to)) {
      let out = '';
      for (const r of rows) {
        if (format === 'csv') {
          const e = toEvent(r);
          out += `${e.id},${e.at},${e.userId},${csvField(e.kind)},${csvField(e.actor.type)},${csvField(e.actor.id)},${csvField(JSON.stringify(e.data))}\r\n`;
        } else {
          out += `${first ? '' : ','}\n${JSON.stringify(toEvent(r))}`;
          first = false;
        }
      }
      yield out;
    }
    if (format === 'json') yield first ? ']\n' : '\n]\n';
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
}
