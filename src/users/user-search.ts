/**
 * A search text over `users u`: a substring of the e-mail or the name, or the employee id
 * exactly; case- and accent-insensitive both ways (hrsync_fold: lower + unaccent, see
 * Migration20261205140000_dashboard_drafts). The same condition lists and selects users.
 */
export function searchCondition(q: string): { sql: string; params: unknown[] } {
  const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return {
    sql: `(hrsync_fold(u.email) like hrsync_fold(?) or hrsync_fold(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')) like hrsync_fold(?) or u.external_id = ?)`,
    params: [like, like, q],
  };
}
