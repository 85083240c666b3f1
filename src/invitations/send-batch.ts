import type { EntityManager } from '@mikro-orm/postgresql';
import { cancelUnreachable, claimChunk, recordChunk, resetInFlight, unfail, type ClaimedInvitation } from '../db/invitation-repository.js';
import { sql, sqlOne } from '../db/sql.js';
import type { Logger } from '../lib/logger.js';
import { describeSenderFault, SameRefusalStreak, toMailSendError, type MailSendError } from '../mail/mail-send-error.js';
import { completeIfDone } from './rollout-complete.js';
import type { MailPort, RolloutContext, RolloutRow } from './rollout-types.js';

export interface BatchResult {
  sent: number;
  failed: number;
  /** The batch stopped before its end: paused, cancelled, another sender has it, shutting down. */
  stopped: boolean;
}

/**
 * The mail server is away or busy (no connection, timeouts, 4xx): the batch's unsent messages
 * are back to pending with their tokens, and the batch should run again later. The queue
 * processor waits without spending an attempt (jobs/invitations/processor.ts).
 */
export class MailServerUnavailableError extends Error {
  override readonly name = 'MailServerUnavailableError';
  constructor(readonly reason: string) {
    super(`mail server unavailable: ${reason}`);
  }
}

/**
 * Sends the pending invitations of one batch, a chunk at a time. Each message is claimed with
 * a guarded update (pending → sending, only while the rollout runs), sent, then marked sent,
 * so a retried or duplicated batch never sends a `sent` invitation again, and a message sent
 * again after a crash carries the token (the link) of its first copy.
 *
 * Mail faults, by scope (src/mail/mail-send-error.ts):
 * - the recipient's: that invitation fails;
 * - the sender's (5xx to MAIL FROM, authentication, TLS; or the same refusal for
 *   `pauseAfterSameRefusals` different recipients in a row): the rollout pauses with the reason
 *   in `rollouts.error`, the messages go back to pending, nobody fails;
 * - the server's (away, 4xx): the messages go back to pending and MailServerUnavailableError is thrown.
 */
export async function sendBatch(ctx: RolloutContext, id: string, batch: number, mail: MailPort, opts: { signal?: AbortSignal; log?: Logger } = {}): Promise<BatchResult> {
  const log = opts.log ?? ctx.deps.log.child({ rolloutId: id, batch });
  const lockBatch = ctx.deps.lockBatch;
  if (!lockBatch) return sendHeld(ctx, id, batch, mail, { ...opts, log });
  let lock = await lockBatch(id, batch);
  if (!lock) {
    // Another run of this batch is sending it (its job was queued again while it ran): it
    // finishes the batch; what it leaves, the reconciler queues again.
    log.info('batch is being sent by another run; this one stops');
    return { sent: 0, failed: 0, stopped: true };
  }
  try {
    return await sendHeld(ctx, id, batch, mail, {
      ...opts,
      log,
      // The lock's session dropped (a database restart): take the lock again before the next
      // chunk, or stop if another run took the batch meanwhile.
      stillHeld: async () => {
        if (lock!.held) return true;
        await lock!.release();
        lock = await lockBatch(id, batch);
        return lock !== null;
      },
    });
  } finally {
    await lock?.release();
  }
}

async function sendHeld(
  ctx: RolloutContext,
  id: string,
  batch: number,
  mail: MailPort,
  opts: { signal?: AbortSignal; log: Logger; stillHeld?: () => Promise<boolean> },
): Promise<BatchResult> {
  const { log } = opts;
  const em = ctx.deps.orm.em.fork() as EntityManager;
  const rollout = await sqlOne<RolloutRow & { organization_name: string }>(
    em,
    `select r.*, o.name as organization_name from rollouts r join organizations o on o.id = r.organization_id where r.id = ?`,
    [id],
  );
  if (!rollout) return { sent: 0, failed: 0, stopped: true };
  // We hold this batch (its lock, and its job): messages left `sending` were in flight when an earlier run died.
  await resetInFlight(em, id, batch);
  await cancelUnreachable(em, id, batch);
  const streak = new SameRefusalStreak(ctx.settings.pauseAfterSameRefusals);
  let sent = 0;
  let failed = 0;
  for (;;) {
    if (opts.signal?.aborted) return { sent, failed, stopped: true };
    if (opts.stillHeld && !(await opts.stillHeld())) return { sent, failed, stopped: true };
    const n = ctx.settings.chunkSize;
    await ctx.deps.rateLimit?.(n);
    const expiresAt = new Date(Date.now() + ctx.settings.tokenTtlMs);
    const claimed = await claimChunk(em, id, batch, n, expiresAt);
    if (claimed.length === 0) break;
    const results = await Promise.allSettled(claimed.map((c) => mail.send(messageOf(c, rollout, expiresAt))));
    const outcome = sortOutcomes(claimed, results, streak);
    if (outcome.streakHit) {
      // Earlier chunks' members of the streak were recorded failed: they were the sender's fault too.
      await unfail(em, outcome.streakEarlier);
    }
    await recordChunk(em, { sent: outcome.ok, failed: outcome.bad, back: outcome.back });
    sent += outcome.ok.length;
    failed += outcome.bad.length;
    if (outcome.bad.length > 0) log.warn({ invitationIds: outcome.bad.map((b) => b.id), reasons: outcome.bad.map((b) => b.error) }, 'invitations failed: address refused');
    if (outcome.senderFault) {
      await pauseForSenderFault(em, id, outcome.senderFault, log);
      return { sent, failed, stopped: true };
    }
    if (outcome.serverFault) {
      log.warn({ sent, failed, reason: outcome.serverFault.reason, responseCode: outcome.serverFault.responseCode }, 'mail server unavailable; the batch waits for it');
      throw new MailServerUnavailableError(outcome.serverFault.reason);
    }
  }
  await completeIfDone(ctx, id);
  log.debug({ sent, failed }, 'batch done');
  return { sent, failed, stopped: false };
}

function messageOf(c: ClaimedInvitation, rollout: RolloutRow & { organization_name: string }, expiresAt: Date) {
  return {
    invitationId: c.id,
    to: c.email,
    firstName: c.first_name,
    lastName: c.last_name,
    organizationName: rollout.organization_name,
    loginMethod: rollout.login_method,
    message: rollout.message,
    token: c.token,
    expiresAt,
  };
}

interface Outcomes {
  ok: Array<{ id: string; user_id: string }>;
  bad: Array<{ id: string; error: string }>;
  back: Array<{ id: string; error: string }>;
  senderFault: MailSendError | null;
  serverFault: MailSendError | null;
  streakHit: boolean;
  /** members of the streak sent in earlier chunks (already recorded failed) */
  streakEarlier: string[];
}

/**
 * Sorts a chunk's results by whose fault each failure was. Once the streak of identical
 * refusals is reached, its members (here and in earlier chunks) and every later refusal of the
 * chunk go back to pending: the rollout pauses, and nobody fails for the sender's fault.
 */
function sortOutcomes(claimed: ClaimedInvitation[], results: PromiseSettledResult<void>[], streak: SameRefusalStreak): Outcomes {
  const o: Outcomes = { ok: [], bad: [], back: [], senderFault: null, serverFault: null, streakHit: false, streakEarlier: [] };
  const inChunk = new Set(claimed.map((c) => c.id));
  results.forEach((r, k) => {
    const c = claimed[k]!;
    if (r.status === 'fulfilled') {
      if (!o.streakHit) streak.push(c.id, c.email, null);
      o.ok.push({ id: c.id, user_id: c.user_id });
      return;
    }
    const e = toMailSendError(r.reason);
    if (e.scope === 'recipient') {
      if (o.streakHit) {
        o.back.push({ id: c.id, error: 'sender_refused' });
      } else if (streak.push(c.id, c.email, e)) {
        o.streakHit = true;
        o.senderFault ??= e;
        const members = new Set(streak.members);
        o.back.push(...o.bad.filter((b) => members.has(b.id)).map((b) => ({ id: b.id, error: 'sender_refused' })), { id: c.id, error: 'sender_refused' });
        o.bad = o.bad.filter((b) => !members.has(b.id));
        o.streakEarlier = streak.members.filter((m) => !inChunk.has(m));
      } else {
        o.bad.push({ id: c.id, error: e.reason });
      }
    } else if (e.scope === 'sender') {
      o.senderFault ??= e;
      o.back.push({ id: c.id, error: e.reason });
    } else {
      o.serverFault ??= e;
      o.back.push({ id: c.id, error: e.reason });
    }
  });
  return o;
}

/** The mail server refuses us: the rollout pauses with the reason; resuming it (after the fix) sends to everyone. */
async function pauseForSenderFault(em: EntityManager, id: string, e: MailSendError, log: Logger): Promise<void> {
  const reason = describeSenderFault(e);
  const rows = await sql(
    em,
    `update rollouts set status = 'paused', paused_from = status, error = ?, updated_at = now() where id = ? and status = 'running' returning id`,
    [reason, id],
  );
  if (rows.length > 0) log.error({ reason: e.reason, responseCode: e.responseCode, enhancedCode: e.enhancedCode, command: e.command }, 'mail server refuses the sender: rollout paused');
}
