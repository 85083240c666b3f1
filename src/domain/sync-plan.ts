import type { HrEmployee } from '../../connectors/types.js';
import { BitSet } from './bit-set.js';
import { type CompiledMapping, type Rejection, type SyncRecord, isRejection, toSyncRecord } from './employee-record.js';

/** What the planner needs to know of a user already in the store. */
export interface ExistingUser {
  id: string;
  seq: number;
  connectorId: string | null;
  externalId: string | null;
  emailLower: string | null;
  contentHash: string | null;
  status: 'active' | 'deactivated';
  deactivatedBy: 'sync' | 'admin' | null;
}

export interface PagePlan {
  /** New users (access none, status active). */
  creates: SyncRecord[];
  /** Existing users to write: changed fields, a link by e-mail, and/or a reactivation. */
  updates: Array<{ user: ExistingUser; record: SyncRecord; link: boolean; reactivate: boolean; changed: boolean }>;
  unchanged: number;
  /** Users whose HR record says inactive: deactivated only after a complete listing, within the threshold. */
  terminations: ExistingUser[];
  /** Inactive in HR and never synced: not created. */
  skipped: number;
  rejections: Rejection[];
  /**
   * Records whose e-mail is held by another user of the same connector not yet seen in this
   * run: that user's own record may still give the address up on a later page. The engine
   * plans these again after the last page (with `final`), when it is known.
   */
  deferred: SyncRecord[];
}

/** Cross-page memory of a run: who was seen (existing users by seq), and, in dry runs, who would have been created. */
export class RunMemory {
  readonly seen = new BitSet();
  /** Dry run only: records that would have been created (the store does not have them). */
  readonly plannedExternalIds = new Set<string>();
  readonly plannedEmails = new Set<string>();
  /**
   * Employee ids of deferred records: a record claims its id in listing order, deferred or not,
   * so a later record with the same id is the duplicate — whichever of them is planned first.
   */
  readonly deferredExternalIds = new Set<string>();
  /** connectorId: enables deferring records whose e-mail a not-yet-seen user of this connector holds. */
  constructor(readonly dryRun: boolean, readonly connectorId: string | null = null) {}
}

export interface PageLookup {
  byExternalId: ReadonlyMap<string, ExistingUser>;
  /** Users of the organization by lower-cased e-mail. */
  byEmail: ReadonlyMap<string, ExistingUser>;
}

/**
 * Pure: decide what one page of validated HR records does to the store.
 * Match by (connector, employee id), else link an unlinked user with the same e-mail,
 * else create. Never invites: there is no such outcome.
 *
 * An address given up in this page by a user whose e-mail changes may be taken by another
 * record of the same page (the engine writes updates before creates and clears moving
 * addresses first). Which users really move depends on which records are accepted, so the
 * page is planned until that set stops shrinking.
 */
export function planPage(
  records: readonly SyncRecord[],
  lookup: PageLookup,
  memory: RunMemory,
  /** Employee ids of this page's records rejected before planning: still present in HR, so never "missing". */
  rejectedIds: readonly string[] = [],
  /** the last planning of a run: nothing is deferred any more */
  final = false,
): PagePlan {
  let vacating = new Set<string>();
  for (const r of records) {
    const u = lookup.byExternalId.get(r.externalId);
    if (u && u.emailLower !== null && u.emailLower !== r.emailLower) vacating.add(u.id);
  }
  for (;;) {
    const attempt = planAttempt(records, lookup, memory, rejectedIds, vacating, final);
    const moving = new Set(attempt.plan.updates.filter((u) => u.user.emailLower !== u.record.emailLower).map((u) => u.user.id));
    const broken = [...attempt.freedBy].some((id) => !moving.has(id));
    if (!broken) {
      for (const seq of attempt.seen) memory.seen.add(seq);
      for (const id of attempt.plannedIds) memory.plannedExternalIds.add(id);
      for (const e of attempt.plannedEmails) memory.plannedEmails.add(e);
      for (const r of attempt.plan.deferred) memory.deferredExternalIds.add(r.externalId);
      return attempt.plan;
    }
    vacating = new Set([...vacating].filter((id) => moving.has(id)));
  }
}

function planAttempt(
  records: readonly SyncRecord[],
  lookup: PageLookup,
  memory: RunMemory,
  rejectedIds: readonly string[],
  vacating: ReadonlySet<string>,
  final: boolean,
): { plan: PagePlan; seen: Set<number>; plannedIds: string[]; plannedEmails: string[]; freedBy: Set<string> } {
  const plan: PagePlan = { creates: [], updates: [], unchanged: 0, terminations: [], skipped: 0, rejections: [], deferred: [] };
  const seen = new Set<number>();
  const isSeen = (seq: number) => seen.has(seq) || memory.seen.has(seq);
  // The holder's own record may come later in the listing with another address: wait for it.
  const mayMove = (holder: ExistingUser) => !final && memory.connectorId !== null && holder.connectorId === memory.connectorId && !isSeen(holder.seq);
  const plannedIds: string[] = [];
  const plannedEmails: string[] = [];
  const freedBy = new Set<string>();
  for (const id of rejectedIds) {
    const u = lookup.byExternalId.get(id);
    if (u) seen.add(u.seq);
  }
  const pageIds = new Set<string>();
  const pageEmails = new Set<string>();
  const linkedInPage = new Set<string>();

  // Deferring a record claims its id: a later record with the same id is the duplicate (the last
  // planning, of the deferred records themselves, has nothing left to compare with).
  const defer = (r: SyncRecord) => {
    plan.deferred.push(r);
    pageIds.add(r.externalId);
  };

  for (const r of records) {
    if (pageIds.has(r.externalId) || memory.plannedExternalIds.has(r.externalId) || (!final && memory.deferredExternalIds.has(r.externalId))) {
      plan.rejections.push({ externalId: r.externalId, reason: 'duplicate_employee_id', detail: 'the employee id appears more than once in the listing' });
      continue;
    }
    let user = lookup.byExternalId.get(r.externalId);
    if (user && isSeen(user.seq)) {
      plan.rejections.push({ externalId: r.externalId, reason: 'duplicate_employee_id', detail: 'the employee id appears more than once in the listing' });
      continue;
    }
    if (pageEmails.has(r.emailLower) || memory.plannedEmails.has(r.emailLower)) {
      if (user) seen.add(user.seq); // present in HR: a rejected record never deactivates its user
      plan.rejections.push({ externalId: r.externalId, reason: 'duplicate_email', detail: 'another record of this listing has the same e-mail' });
      continue;
    }
    const found = lookup.byEmail.get(r.emailLower);
    const freed = found !== undefined && vacating.has(found.id) && found.id !== user?.id;
    const holder = freed ? undefined : found;
    let link = false;
    if (user) {
      if (holder && holder.id !== user.id) {
        if (mayMove(holder)) {
          defer(r);
          continue;
        }
        seen.add(user.seq);
        plan.rejections.push({ externalId: r.externalId, reason: 'duplicate_email', detail: 'another user of the organization has this e-mail' });
        continue;
      }
    } else if (holder) {
      if (holder.connectorId === null && !linkedInPage.has(holder.id) && !isSeen(holder.seq)) {
        user = holder;
        link = true;
        linkedInPage.add(holder.id);
      } else if (mayMove(holder)) {
        defer(r);
        continue;
      } else {
        plan.rejections.push({ externalId: r.externalId, reason: 'duplicate_email', detail: 'another user of the organization has this e-mail' });
        continue;
      }
    }
    if (freed) freedBy.add(found.id);
    pageIds.add(r.externalId);
    pageEmails.add(r.emailLower);

    if (!user) {
      if (!r.active) {
        plan.skipped++;
        continue;
      }
      plan.creates.push(r);
      if (memory.dryRun) {
        plannedIds.push(r.externalId);
        plannedEmails.push(r.emailLower);
      }
      continue;
    }

    seen.add(user.seq);
    const changed = link || user.contentHash !== r.hash;
    // Sync reactivates only users that sync itself deactivated; an admin's decision stands.
    const reactivate = r.active && user.status === 'deactivated' && user.deactivatedBy === 'sync';
    if (!r.active && user.status === 'active') plan.terminations.push(user);
    if (changed || reactivate) plan.updates.push({ user, record: r, link, reactivate, changed });
    else plan.unchanged++;
  }
  return { plan, seen, plannedIds, plannedEmails, freedBy };
}

export interface DeactivationPolicy {
  maxPercent?: number;
  maxCount?: number;
}

export const DEFAULT_MAX_PERCENT = 10;

/**
 * Pure: may a run deactivate `count` of a connector's `activeBefore` users without an
 * administrator's approval? Exceeding any configured limit holds them all.
 */
export function deactivationVerdict(count: number, activeBefore: number, policy: DeactivationPolicy): { hold: boolean; reason: string | null } {
  if (count === 0) return { hold: false, reason: null };
  const maxPercent = policy.maxPercent ?? (policy.maxCount === undefined ? DEFAULT_MAX_PERCENT : undefined);
  if (policy.maxCount !== undefined && count > policy.maxCount) {
    return { hold: true, reason: `${count} deactivations exceed maxCount ${policy.maxCount}` };
  }
  if (maxPercent !== undefined) {
    const limit = (activeBefore * maxPercent) / 100;
    if (count > limit) {
      const pct = activeBefore === 0 ? 100 : Math.round((count / activeBefore) * 1000) / 10;
      return { hold: true, reason: `${count} deactivations (${pct}% of ${activeBefore} users) exceed maxPercent ${maxPercent}` };
    }
  }
  return { hold: false, reason: null };
}

/**
 * Whether the users absent from a listing are few enough to look up one by one. Far beyond the
 * threshold (more than twice its limit) the listing itself is broken — a vendor answering with
 * a fraction of the company — and thousands of look-ups would only run into the vendor's rate
 * limits: the deactivations are held for an administrator, unconfirmed, as they were before
 * confirmations existed. Within it, confirmations may bring the count under the threshold.
 */
export function worthConfirming(missing: number, activeBefore: number, policy: DeactivationPolicy): boolean {
  const maxPercent = policy.maxPercent ?? (policy.maxCount === undefined ? DEFAULT_MAX_PERCENT : undefined);
  const byCount = policy.maxCount !== undefined ? 2 * policy.maxCount : Infinity;
  const byPercent = maxPercent !== undefined ? (2 * activeBefore * maxPercent) / 100 : Infinity;
  return missing <= Math.max(MIN_CONFIRMABLE, Math.min(byCount, byPercent));
}

/** Absent users always confirmed, whatever the threshold (a small connector, a tight maxCount). */
const MIN_CONFIRMABLE = 20;

/**
 * Pure: may users absent from a full listing count as gone? Only if every record of the listing
 * could be identified. A record without an employee id (missing, or unreadable — a vendor page
 * whose records came back in another shape) may be any of the absent users, so their absence is
 * not proven: the run's deactivations wait for an administrator, as above the threshold.
 */
export function absenceVerdict(missing: number, unidentified: number): { hold: boolean; reason: string | null } {
  if (missing === 0 || unidentified === 0) return { hold: false, reason: null };
  return {
    hold: true,
    reason: `${missing} users are absent from the listing, but ${unidentified} record${unidentified === 1 ? '' : 's'} had no readable employee id: their absence is not proven`,
  };
}

export interface SyncPlan {
  creates: SyncRecord[];
  updates: PagePlan['updates'];
  unchanged: number;
  skipped: number;
  rejections: Rejection[];
  /** Users to deactivate: terminated in HR, or (complete listings only) gone from it. */
  deactivations: Array<{ user: ExistingUser; reason: 'terminated' | 'missing_from_listing' }>;
  /** Deactivations held for an administrator's approval. */
  held: boolean;
  heldReason: string | null;
  reactivations: number;
}

/**
 * Pure, whole-run planner for one connector: the same page logic the engine runs, over
 * an in-memory store. `complete` is false when the listing failed part way or was
 * incremental: then nothing is deactivated for being absent, and a failed listing
 * deactivates nothing at all.
 */
export function planSync(
  existing: readonly ExistingUser[],
  incoming: readonly HrEmployee[],
  opts: { connectorId: string; mapping: CompiledMapping; policy: DeactivationPolicy; complete: boolean; failed?: boolean },
): SyncPlan {
  const byExternalId = new Map<string, ExistingUser>();
  const byEmail = new Map<string, ExistingUser>();
  for (const u of existing) {
    if (u.connectorId === opts.connectorId && u.externalId !== null) byExternalId.set(u.externalId, u);
    if (u.emailLower !== null) byEmail.set(u.emailLower, u);
  }
  const memory = new RunMemory(true, opts.connectorId);
  const records: SyncRecord[] = [];
  const rejections: Rejection[] = [];
  const rejectedIds: string[] = [];
  for (const e of incoming) {
    const r = toSyncRecord(e, opts.mapping);
    if (isRejection(r)) {
      rejections.push(r);
      const id = (e.externalId ?? '').trim();
      if (id) rejectedIds.push(id);
    } else records.push(r);
  }
  const lookup = { byExternalId, byEmail };
  const first = planPage(records, lookup, memory, rejectedIds);
  const last = planPage(first.deferred, lookup, memory, [], true);
  const page: PagePlan = {
    creates: [...first.creates, ...last.creates],
    updates: [...first.updates, ...last.updates],
    unchanged: first.unchanged + last.unchanged,
    terminations: [...first.terminations, ...last.terminations],
    skipped: first.skipped + last.skipped,
    rejections: [...first.rejections, ...last.rejections],
    deferred: [],
  };
  const deactivations: SyncPlan['deactivations'] = [];
  if (!opts.failed) {
    for (const u of page.terminations) deactivations.push({ user: u, reason: 'terminated' });
    if (opts.complete) {
      for (const u of existing) {
        if (u.connectorId === opts.connectorId && u.status === 'active' && !memory.seen.has(u.seq)) {
          deactivations.push({ user: u, reason: 'missing_from_listing' });
        }
      }
    }
  }
  const activeBefore = existing.filter((u) => u.connectorId === opts.connectorId && u.status === 'active').length;
  const missing = deactivations.filter((d) => d.reason === 'missing_from_listing').length;
  const unidentified = rejections.filter((r) => !r.externalId).length;
  const threshold = deactivationVerdict(deactivations.length, activeBefore, opts.policy);
  const verdict = threshold.hold ? threshold : absenceVerdict(missing, unidentified);
  return {
    creates: page.creates,
    updates: page.updates,
    unchanged: page.unchanged,
    skipped: page.skipped,
    rejections: [...rejections, ...page.rejections],
    deactivations,
    held: verdict.hold,
    heldReason: verdict.reason,
    reactivations: page.updates.filter((u) => u.reactivate).length,
  };
}
