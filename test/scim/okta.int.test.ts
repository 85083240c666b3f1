import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PATCH_OP, startScim, USER, type ScimHarness } from './harness.js';

/**
 * The requests Okta sends to a SCIM 2.0 application (developer.okta.com, "SCIM 2.0 protocol
 * reference" and "Build a SCIM provisioning integration"), replayed in its order against
 * /scim/v2 with globex's token: Okta deactivates rather than deletes, replaces without a path,
 * and PUTs whole users.
 */
let h: ScimHarness;
let userId = '';
let groupId = '';
const call = (m: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) => h.call(m, url, body, h.tokens.globex);

async function storeUser(id: string) {
  const [u] = await h.store.query<{ organization_id: string; email: string; first_name: string; last_name: string; status: string; access: string; deactivated_by: string | null }>(
    `select organization_id, email, first_name, last_name, status, access, deactivated_by from users where id = $1`,
    [id],
  );
  return u;
}

beforeAll(async () => {
  h = await startScim();
});
afterAll(async () => {
  await h?.close();
});

describe('Okta provisioning a user', () => {
  it('checks the user does not exist (filter with startIndex and count), then creates it with access none', async () => {
    const none = await call('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "test.user@okta.local"')}&startIndex=1&count=100`);
    expect(none.json).toMatchObject({ totalResults: 0, startIndex: 1, Resources: [] });
    const res = await call('POST', '/scim/v2/Users', {
      schemas: [USER],
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      password: '1mz050nq',
      active: true,
    });
    expect(res.statusCode).toBe(201);
    userId = res.json.id;
    expect(res.json).toMatchObject({ userName: 'test.user@okta.local', displayName: 'Test User', active: true });
    expect(res.body).not.toContain('1mz050nq');
    expect(await storeUser(userId)).toMatchObject({ organization_id: 'globex', email: 'test.user@okta.local', status: 'active', access: 'none' });
  });

  it('GET /Users/:id, then PUT the whole user with a new name', async () => {
    const got = await call('GET', `/scim/v2/Users/${userId}`);
    expect(got.statusCode).toBe(200);
    const res = await call('PUT', `/scim/v2/Users/${userId}`, {
      schemas: [USER],
      id: userId,
      userName: 'test.user@okta.local',
      name: { givenName: 'Another', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Another User',
      externalId: '00ujl29u0le5T6Aj10h7',
      active: true,
      meta: got.json.meta,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json.name.givenName).toBe('Another');
    expect(await storeUser(userId)).toMatchObject({ first_name: 'Another', status: 'active', access: 'none' });
  });

  it('deactivates with a replace without a path carrying { active: false }', async () => {
    const res = await call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(res.statusCode).toBe(200);
    expect(res.json.active).toBe(false);
    expect(await storeUser(userId)).toMatchObject({ status: 'deactivated', deactivated_by: 'sync', access: 'none' });
    const runs = await h.store.query<{ counts: { deactivated: number } }>(`select counts from sync_runs where connector_id = 'globex-scim' and (counts->>'deactivated')::int > 0`);
    expect(runs).toHaveLength(1);
  });

  it('reactivates with { active: true }, and inviting is still nobody’s business but an administrator’s', async () => {
    const res = await call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(res.statusCode).toBe(200);
    expect(await storeUser(userId)).toMatchObject({ status: 'active', access: 'none' });
    expect(await h.store.query(`select 1 from invitations`)).toEqual([]);
    expect(await h.store.query(`select 1 from rollouts`)).toEqual([]);
  });

  it('a replace without a path may carry several attributes (name.familyName, displayName)', async () => {
    const res = await call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { 'name.familyName': 'Renamed', displayName: 'Another Renamed' } }] });
    expect(res.statusCode).toBe(200);
    expect(await storeUser(userId)).toMatchObject({ last_name: 'Renamed' });
  });
});

describe('Okta pushing a group', () => {
  it('creates the group, renames it with a replace without a path, adds and removes a member, deletes it', async () => {
    const res = await call('POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Test SCIMv2', members: [] });
    expect(res.statusCode).toBe(201);
    groupId = res.json.id;
    const found = await call('GET', `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "Test SCIMv2"')}&startIndex=1&count=100`);
    expect(found.json.Resources.map((g: { id: string }) => g.id)).toEqual([groupId]);

    const rename = await call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { id: groupId, displayName: 'Test SCIMv2 Updated' } }] });
    expect(rename.statusCode).toBe(204);
    expect(await h.store.query(`select name from groups where id = $1`, [groupId])).toEqual([{ name: 'Test SCIMv2 Updated' }]);

    const add = await call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: userId, display: 'test.user@okta.local' }] }] });
    expect(add.statusCode).toBe(204);
    const g = await call('GET', `/scim/v2/Groups/${groupId}`);
    expect(g.json.members.map((m: { value: string }) => m.value)).toEqual([userId]);

    const remove = await call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }] });
    expect(remove.statusCode).toBe(204);
    expect(await h.store.query(`select 1 from group_memberships where group_id = $1`, [groupId])).toEqual([]);

    expect((await call('DELETE', `/scim/v2/Groups/${groupId}`)).statusCode).toBe(204);
    expect(await h.store.query(`select 1 from groups where id = $1`, [groupId])).toEqual([]);
    expect((await storeUser(userId)).status).toBe('active');
  });
});
