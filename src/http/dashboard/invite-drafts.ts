import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, sqlOne } from '../../db/sql.js';
import type { UserFilters } from './pages/users.js';

/**
 * The invite form's state, kept on the server between its steps (table
 * dashboard_invite_drafts): the form and the preview are GETs of the draft, so Back and
 * Reload never re-post, and nothing of it travels through the browser but the draft's id.
 */
export interface InviteState {
  /** the ticked users, or everyone matching the filters (resolved on the server, search text included) */
  selection: 'ids' | 'filter';
  userIds: string[];
  filters: UserFilters;
  loginMethod?: string;
  message?: string;
  when: 'now' | 'later';
  at?: string;
  tz?: string;
  resend: boolean;
}

export interface InviteDraft {
  id: string;
  state: InviteState;
  /** the one-time key of the current preview's confirm form (null until previewed) */
  confirmKey: string | null;
  previewCount: number | null;
  /** set once confirmed: the draft is spent and its pages lead to this rollout */
  rolloutId: string | null;
}

interface DraftRow { id: string; state: InviteState; confirm_key: string | null; preview_count: number | null; rollout_id: string | null }

const toDraft = (r: DraftRow): InviteDraft => ({ id: r.id, state: r.state, confirmKey: r.confirm_key, previewCount: r.preview_count, rolloutId: r.rollout_id });

/** Drafts untouched for this long are deleted as new ones come. */
const DRAFT_TTL_DAYS = 7;

export async function createDraft(em: EntityManager, organizationId: string, state: InviteState): Promise<string> {
  const id = randomUUID();
  await sql(em, `delete from dashboard_invite_drafts where id in (select id from dashboard_invite_drafts where updated_at < now() - make_interval(days => ?) limit 100)`, [DRAFT_TTL_DAYS]);
  await sql(em, `insert into dashboard_invite_drafts (id, organization_id, state) values (?, ?, ?::jsonb)`, [id, organizationId, JSON.stringify(state)]);
  return id;
}

/** The draft, this organization's only (another's reads as absent); `lock`: for update, inside a transaction. */
export async function loadDraft(em: EntityManager, organizationId: string, id: string, opts: { lock?: boolean } = {}): Promise<InviteDraft | null> {
  const r = await sqlOne<DraftRow>(
    em,
    `select id, state, confirm_key, preview_count, rollout_id from dashboard_invite_drafts where id = ? and organization_id = ?${opts.lock ? ' for update' : ''}`,
    [id, organizationId],
  );
  return r ? toDraft(r) : null;
}

/** Saves the form's values; a new preview gets a new one-time key (the old preview's confirm is stale). */
export async function saveDraft(em: EntityManager, organizationId: string, id: string, state: InviteState, opts: { preview: boolean }): Promise<void> {
  await sql(
    em,
    `update dashboard_invite_drafts set state = ?::jsonb, confirm_key = ?, updated_at = now() where id = ? and organization_id = ? and rollout_id is null`,
    [JSON.stringify(state), opts.preview ? randomUUID() : null, id, organizationId],
  );
}

export async function rotateConfirmKey(em: EntityManager, id: string): Promise<void> {
  await sql(em, `update dashboard_invite_drafts set confirm_key = ? where id = ? and rollout_id is null`, [randomUUID(), id]);
}

export async function recordPreviewCount(em: EntityManager, id: string, n: number): Promise<void> {
  await sql(em, `update dashboard_invite_drafts set preview_count = ? where id = ? and rollout_id is null`, [n, id]);
}

export async function markConfirmed(em: EntityManager, id: string, rolloutId: string): Promise<void> {
  await sql(em, `update dashboard_invite_drafts set rollout_id = ?, confirm_key = null, updated_at = now() where id = ?`, [rolloutId, id]);
}

/** The count a rollout's preview showed (scheduled filter rollouts: "about N" until they fire). */
export async function previewedCount(em: EntityManager, rolloutId: string): Promise<number | null> {
  const r = await sqlOne<{ n: number | null }>(em, `select preview_count as n from dashboard_invite_drafts where rollout_id = ? limit 1`, [rolloutId]);
  return r?.n ?? null;
}

/** previewedCount for a page of rollouts at once. */
export async function previewedCounts(em: EntityManager, rolloutIds: string[]): Promise<Map<string, number>> {
  if (rolloutIds.length === 0) return new Map();
  const rows = await sql<{ id: string; n: number | null }>(em, `select rollout_id as id, preview_count as n from dashboard_invite_drafts where rollout_id = any(?::uuid[])`, [rolloutIds]);
  return new Map(rows.filter((r) => r.n !== null).map((r) => [r.id, r.n!]));
}
