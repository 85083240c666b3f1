/**
 * A held run's reason in words. The sync engine records it in a fixed technical form
 * (src/domain/sync-plan.ts: `2466 deactivations (49.9% of 4941 users) exceed maxPercent 10`);
 * an administrator reads "49.9 % of this connector's users would be deactivated (2,466 of
 * 4,941); the limit is 10 %." Unknown forms are shown as they are, as a sentence.
 */
const nf = new Intl.NumberFormat('en-US');

export function heldReasonInWords(reason: string | null | undefined, opts: { dryRun?: boolean } = {}): string {
  const would = opts.dryRun ? 'A real sync would deactivate' : 'This run would deactivate';
  if (!reason) return `${would} more users than the connector's limit allows.`;
  let m = /^(\d+) deactivations \(([\d.]+)% of (\d+) users\) exceed maxPercent ([\d.]+)$/.exec(reason.trim());
  if (m) {
    const [, n, pct, of, max] = m;
    return `${pct} % of this connector's users would be deactivated (${nf.format(Number(n))} of ${nf.format(Number(of))}); the limit is ${max} %.`;
  }
  m = /^(\d+) deactivations exceed maxCount (\d+)$/.exec(reason.trim());
  if (m) return `${would} ${nf.format(Number(m[1]))} users; the limit is ${nf.format(Number(m[2]))} at a time.`;
  m = /^(\d+) users are absent from the listing, but (\d+) records? had no readable employee id/.exec(reason.trim());
  if (m) return `${nf.format(Number(m[1]))} users are missing from the HR listing, but ${nf.format(Number(m[2]))} record${m[2] === '1' ? '' : 's'} in it had no readable employee id: they may be among them, so nobody is deactivated without your approval.`;
  const s = reason.trim();
  return (s.charAt(0).toUpperCase() + s.slice(1)).replace(/([^.!?])$/, '$1.');
}
