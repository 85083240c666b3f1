/**
 * What a finished rollout left, judged against what the SMTP server received: who never got a
 * message (lost), who got more than one (duplicated), and invariants checked in SQL.
 */
import type { Rig } from './rig.js';

export interface RolloutVerdict {
  status: string;
  targeted: number;
  sentCount: number;
  /** targeted users whose address received nothing */
  lost: number;
  /** messages beyond the first per targeted user */
  duplicated: number;
  /** users who got more than one message */
  usersWithDuplicates: number;
  /** links received that do not work: per user, token hashes received other than the one their invitation holds */
  deadLinks: number;
  violations: number;
  /** each violation kind with its count (only kinds that occurred) */
  violationKinds: Record<string, number>;
  /** invitation status → count */
  statuses: Record<string, number>;
}

/**
 * Invariants: the rollout `completed`; every invitation `sent` with its user `invited`; every
 * stored link works (its hash is among the tokens that user received: the last link a
 * duplicated user got is the valid one); no message without a link; no message to anyone
 * outside the rollout. `otherRecipients` are addresses some other rollout of the same rig may
 * legitimately have written to.
 */
export async function judgeRollout(rig: Rig, rolloutId: string, opts: { otherRecipients?: Set<string> } = {}): Promise<RolloutVerdict> {
  const [rollout] = await rig.query<{ status: string; targeted: number }>(`select status, targeted from rollouts where id = $1`, [rolloutId]);
  const rows = await rig.query<{ email: string; status: string; token_hash: string | null; access: string }>(
    `select lower(u.email) as email, i.status, i.token_hash, u.access from invitations i join users u on u.id = i.user_id where i.rollout_id = $1`,
    [rolloutId],
  );
  const statuses: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  const bump = (k: string, n = 1) => {
    if (n > 0) kinds[k] = (kinds[k] ?? 0) + n;
  };
  let lost = 0;
  let duplicated = 0;
  let usersWithDuplicates = 0;
  let deadLinks = 0;
  const targetedEmails = new Set<string>();
  for (const r of rows) {
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    targetedEmails.add(r.email);
    const got = rig.mail.byRecipient.get(r.email);
    if (!got || got.count === 0) lost++;
    else if (got.count > 1) {
      duplicated += got.count - 1;
      usersWithDuplicates++;
    }
    deadLinks += countDeadLinks(got?.hashes, r.status === 'sent' ? r.token_hash : null);
    if (r.status !== 'sent') bump(`invitation_${r.status}`);
    else if (!r.token_hash || !got?.hashes.has(r.token_hash)) bump('link_not_working');
    if (r.access !== 'invited') bump(`user_access_${r.access}`);
  }
  if (rollout?.status !== 'completed') bump(`rollout_${rollout?.status ?? 'missing'}`);
  if ((rollout?.targeted ?? -1) !== rows.length) bump('targeted_mismatch');
  bump('message_without_link', rig.mail.noToken);
  bump('dead_link', deadLinks);
  let strangers = 0;
  for (const [to, r] of rig.mail.byRecipient) if (!targetedEmails.has(to) && !opts.otherRecipients?.has(to)) strangers += r.count;
  bump('message_to_someone_not_targeted', strangers);
  return {
    status: rollout?.status ?? 'missing',
    targeted: rollout?.targeted ?? 0,
    sentCount: statuses.sent ?? 0,
    lost,
    duplicated,
    usersWithDuplicates,
    deadLinks,
    violations: Object.values(kinds).reduce((a, b) => a + b, 0),
    violationKinds: kinds,
    statuses,
  };
}

export function kindsText(kinds: Record<string, number>): string {
  const e = Object.entries(kinds);
  return e.length ? e.map(([k, n]) => `${k} ${n}`).join(', ') : 'none';
}

/**
 * Links a user received that would not be accepted now: every distinct token (by hash) they
 * got, except the one their sent invitation holds. Every copy of an invitation carries the same
 * token, so a re-sent message adds no dead link; a fresh token per re-send would add one.
 */
export function countDeadLinks(received: Set<string> | undefined, validHash: string | null): number {
  if (!received) return 0;
  let dead = 0;
  for (const h of received) if (h !== validHash) dead++;
  return dead;
}
