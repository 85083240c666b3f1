/** Pure rule of invitation reminders. No I/O, no clock. */

/**
 * When the next reminder of an invitation is due: K reminders spread evenly over the last N
 * days before the link expires (the first N days before it), none once K were sent.
 */
export function reminderDueAt(expiresAt: Date, sent: number, policy: { daysBefore: number; maxTimes: number }): Date | null {
  if (policy.maxTimes <= 0 || sent >= policy.maxTimes) return null;
  const window = policy.daysBefore * 86_400_000;
  return new Date(expiresAt.getTime() - window + Math.floor((sent * window) / policy.maxTimes));
}
