import type { SyncRunRecord } from '../sync/run-record.js';
import type { RolloutRecord } from '../invitations/rollout-service.js';
import type { UserRecord } from '../users/user-service.js';

const n = (x: number) => x.toLocaleString('en-US');

/** A run record for people: one line of counts, the reason for anything unusual, a few rejections. */
export function formatRun(run: SyncRunRecord): string {
  const c = run.counts;
  const secs = run.finishedAt ? ((new Date(run.finishedAt).getTime() - new Date(run.startedAt).getTime()) / 1000).toFixed(1) : '?';
  const lines = [
    `sync run ${run.id} (${run.connectorId}, ${run.mode}${run.dryRun ? ', dry run: nothing written' : ''}): ${run.status} in ${secs} s`,
    `  seen ${n(c.seen)} · created ${n(c.created)} · updated ${n(c.updated)} · unchanged ${n(c.unchanged)} · deactivated ${n(c.deactivated)} · reactivated ${n(c.reactivated)} · skipped ${n(c.skipped)} · rejected ${n(c.rejected)}${c.heldDeactivations ? ` · held deactivations ${n(c.heldDeactivations)}` : ''}${c.confirmedPresent ? ` · confirmed present ${n(c.confirmedPresent)}` : ''}`,
  ];
  if (run.heldReason) lines.push(`  held: ${run.heldReason}`);
  if (run.error) lines.push(`  error: ${run.error}`);
  if (run.rejected.length > 0) {
    lines.push('  rejected records:');
    for (const r of run.rejected.slice(0, 20)) lines.push(`    ${r.externalId ?? '(no id)'}: ${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
    if (c.rejected > 20) lines.push(`    … and ${n(c.rejected - 20)} more (--json shows up to 1,000)`);
  }
  if (run.examples) {
    for (const [kind, ids] of Object.entries(run.examples)) {
      if (Array.isArray(ids) && ids.length > 0) lines.push(`  would be ${kind}: ${ids.join(', ')}${ids.length >= 10 ? ', …' : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function cell(v: string | null, width: number): string {
  const s = (v ?? '').replace(/\s+/g, ' ');
  return s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width);
}

export function formatUsersTable(users: UserRecord[], withHeader: boolean): string {
  const rows: string[] = [];
  if (withHeader) rows.push(`${cell('ID', 36)}  ${cell('ORG', 12)}  ${cell('EMAIL', 32)}  ${cell('NAME', 24)}  ${cell('STATUS', 11)}  ${cell('ACCESS', 7)}  ${cell('LOCATION', 16)}  GROUPS`);
  for (const u of users) {
    rows.push(`${cell(u.id, 36)}  ${cell(u.organizationId, 12)}  ${cell(u.email, 32)}  ${cell([u.firstName, u.lastName].filter(Boolean).join(' '), 24)}  ${cell(u.status, 11)}  ${cell(u.access, 7)}  ${cell(u.location, 16)}  ${u.groups.join(', ')}`);
  }
  return rows.length ? `${rows.join('\n')}\n` : '';
}

export function formatRollout(r: RolloutRecord): string {
  const c = r.counts;
  const skipped = Object.entries(r.skippedByReason).filter(([, v]) => v).map(([k, v]) => `${k} ${n(v!)}`).join(', ');
  const lines = [
    `rollout ${r.id} (${r.organizationId}): ${r.status}, ${r.loginMethod}, send at ${r.sendAt}${r.resend ? ', resend' : ''}`,
    `  targeted ${n(c.targeted)} · pending ${n(c.pending)} · sent ${n(c.sent)} · accepted ${n(c.accepted)} · failed ${n(c.failed)} · cancelled ${n(c.cancelled)}${c.reminded ? ` · reminded ${n(c.reminded)}` : ''} · skipped ${n(c.skipped)}${skipped ? ` (${skipped})` : ''}`,
  ];
  if (r.selection.filter) lines.push(`  filter: ${Object.entries(r.selection.filter).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (r.selection.userCount) lines.push(`  users: ${n(r.selection.userCount)} chosen by id`);
  if (r.error) lines.push(`  error: ${r.error}`);
  return `${lines.join('\n')}\n`;
}
