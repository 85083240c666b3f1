import { searchCondition } from '../users/user-search.js';
import type { RolloutFilter } from './rollout-types.js';

export interface Selection {
  userIds?: string[];
  filter?: RolloutFilter;
}

/**
 * The WHERE clause (over `users u`) of a selection: ids and/or filters, case-insensitive
 * names, always within the organization. Used when a rollout fires and by the dashboard's
 * preview, so both count the same people. The location and group lookups are uncorrelated
 * — one lookup, not one per user.
 */
export function selectionWhere(organizationId: string, sel: Selection): { where: string[]; params: unknown[] } {
  const where = ['u.organization_id = ?'];
  const params: unknown[] = [organizationId];
  const { userIds, filter } = sel;
  if (userIds) { where.push('u.id in (select jsonb_array_elements_text(?::jsonb)::uuid)'); params.push(JSON.stringify(userIds)); }
  if (filter?.location) { where.push('u.location_id in (select id from locations where organization_id = ? and lower(name) = lower(?))'); params.push(organizationId, filter.location); }
  if (filter?.group) { where.push(`u.id in (select gm.user_id from group_memberships gm join groups g on g.id = gm.group_id where g.organization_id = ? and lower(g.name) = lower(?))`); params.push(organizationId, filter.group); }
  if (filter?.connector) { where.push('u.connector_id = ?'); params.push(filter.connector); }
  if (filter?.access) { where.push('u.access = ?'); params.push(filter.access); }
  if (filter?.status) { where.push('u.status = ?'); params.push(filter.status); }
  if (filter?.search) {
    const s = searchCondition(filter.search);
    where.push(s.sql);
    params.push(...s.params);
  }
  return { where, params };
}

