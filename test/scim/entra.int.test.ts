import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, GROUP, PATCH_OP, startScim, USER, type ScimHarness } from './harness.js';

/**
 * The requests Microsoft Entra ID's provisioning service sends to a SCIM endpoint, in the order
 * it sends them (learn.microsoft.com, "Tutorial: Develop and plan provisioning for a SCIM
 * endpoint", user and group operations), replayed against /scim/v2, with the store checked
 * after each step.
 */
let h: ScimHarness;
let userId = '';
let managerId = '';
let groupId = '';

const USER_NAME = 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1';
const EMAIL = 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com';

async function storeUser(id: string) {
  const [u] = await h.store.query<{ email: string; first_name: string; last_name: string; status: string; access: string; deactivated_by: string | null; manager_id: string | null; attributes: Record<string, string | null>; connector_id: string }>(
    `select email, first_name, last_name, status, access, deactivated_by, manager_id, attributes, connector_id from users where id = $1`,
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

describe('Entra ID provisioning a user', () => {
  it('GET /Users?filter=userName eq … finds nobody before the user exists', async () => {
    const res = await h.call('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${USER_NAME}"`)}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.json).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] });
  });

  it('POST /Users creates the user, with access none (never invited), as a run with trigger scim', async () => {
    const res = await h.call('POST', '/scim/v2/Users', {
      schemas: [USER, ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: USER_NAME,
      active: true,
      emails: [{ primary: true, type: 'work', value: EMAIL }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
      [ENTERPRISE]: { employeeNumber: '100009', department: 'Human Resources US' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json).toMatchObject({ userName: USER_NAME, externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef', active: true, emails: [{ value: EMAIL, primary: true }], [ENTERPRISE]: { employeeNumber: '100009', department: 'Human Resources US' } });
    userId = res.json.id;
    expect(res.headers.location).toBe(`http://hrsync.test/scim/v2/Users/${userId}`);
    const u = await storeUser(userId);
    expect(u).toMatchObject({ email: EMAIL, first_name: 'givenName', last_name: 'familyName', status: 'active', access: 'none', connector_id: 'acme-scim' });
    const runs = await h.store.query<{ trigger: string; status: string; counts: { created: number } }>(`select trigger, status, counts from sync_runs where connector_id = 'acme-scim'`);
    expect(runs).toEqual([{ trigger: 'scim', status: 'succeeded', counts: expect.objectContaining({ created: 1 }) }]);
    // the department became a group, as in a pull
    const groups = await h.store.query<{ name: string }>(`select g.name from group_memberships m join groups g on g.id = m.group_id where m.user_id = $1`, [userId]);
    expect(groups).toEqual([{ name: 'Human Resources US' }]);
    expect(await h.store.query(`select 1 from invitations`)).toEqual([]);
  });

  it('GET /Users/:id and the filter find the user', async () => {
    const byId = await h.call('GET', `/scim/v2/Users/${userId}`);
    expect(byId.statusCode).toBe(200);
    expect(byId.json.id).toBe(userId);
    const byName = await h.call('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${USER_NAME.toUpperCase()}"`)}`);
    expect(byName.json.totalResults).toBe(1);
    expect(byName.json.Resources[0].id).toBe(userId);
    const byExternal = await h.call('GET', `/scim/v2/Users?filter=${encodeURIComponent('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`);
    expect(byExternal.json.Resources.map((r: { id: string }) => r.id)).toEqual([userId]);
  });

  it('a second POST of the same userName is a 409 uniqueness', async () => {
    const res = await h.call('POST', '/scim/v2/Users', { schemas: [USER], userName: USER_NAME, emails: [{ value: 'other@testuser.com', type: 'work', primary: true }] });
    expect(res.statusCode).toBe(409);
    expect(res.json).toMatchObject({ status: '409', scimType: 'uniqueness' });
  });

  it('PATCH with path filters (emails[type eq "work"].value, name.familyName) updates the same user', async () => {
    const res = await h.call('PATCH', `/scim/v2/Users/${userId}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json.emails[0].value).toBe('updatedEmail@microsoft.com');
    const u = await storeUser(userId);
    expect(u).toMatchObject({ email: 'updatedEmail@microsoft.com', last_name: 'updatedFamilyName', status: 'active', access: 'none' });
    expect((await h.store.query(`select 1 from users where organization_id = 'acme'`)).length).toBe(1);
  });

  it('PATCH replace userName (single-valued) keeps the user and its id', async () => {
    const res = await h.call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }] });
    expect(res.statusCode).toBe(200);
    expect(res.json).toMatchObject({ id: userId, userName: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' });
  });

  it('PATCH add enterprise manager (Entra sends the manager id bare or as [{ value }])', async () => {
    const m = await h.call('POST', '/scim/v2/Users', { schemas: [USER], userName: 'manager@testuser.com', externalId: 'mgr-1', active: true, emails: [{ primary: true, type: 'work', value: 'manager@testuser.com' }] });
    expect(m.statusCode).toBe(201);
    managerId = m.json.id;
    const res = await h.call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: managerId }] });
    expect(res.statusCode).toBe(200);
    expect(res.json[ENTERPRISE].manager.value).toBe(managerId);
    expect((await storeUser(userId)).manager_id).toBe(managerId);
    const again = await h.call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'manager', value: [{ $ref: null, value: managerId }] }] });
    expect(again.statusCode).toBe(200);
    expect((await storeUser(userId)).manager_id).toBe(managerId);
  });

  it('PATCH active "False" (a string, as Entra sends it) disables: deactivated by sync, access none', async () => {
    const res = await h.call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect(res.statusCode).toBe(200);
    expect(res.json.active).toBe(false);
    expect(await storeUser(userId)).toMatchObject({ status: 'deactivated', deactivated_by: 'sync', access: 'none' });
  });

  it('PATCH active true re-enables the user, still without inviting', async () => {
    const res = await h.call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: true }] });
    expect(res.statusCode).toBe(200);
    expect(res.json.active).toBe(true);
    expect(await storeUser(userId)).toMatchObject({ status: 'active', deactivated_by: null, access: 'none' });
    expect(await h.store.query(`select 1 from invitations`)).toEqual([]);
  });

  it('DELETE deactivates the user and erases nothing; the resource is gone for SCIM', async () => {
    const res = await h.call('DELETE', `/scim/v2/Users/${userId}`);
    expect(res.statusCode).toBe(204);
    const u = await storeUser(userId);
    expect(u).toMatchObject({ status: 'deactivated', deactivated_by: 'sync', email: 'updatedEmail@microsoft.com' });
    expect((await h.call('GET', `/scim/v2/Users/${userId}`)).statusCode).toBe(404);
    const list = await h.call('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"')}`);
    expect(list.json.totalResults).toBe(0);
  });

  it('a POST of the deleted user again brings the same user back (matched by e-mail), not a duplicate', async () => {
    const res = await h.call('POST', '/scim/v2/Users', { schemas: [USER], userName: 'back@testuser.com', active: true, emails: [{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }] });
    expect(res.statusCode).toBe(201);
    expect(res.json.id).toBe(userId);
    expect(await storeUser(userId)).toMatchObject({ status: 'active', access: 'none' });
  });
});

describe('Entra ID provisioning a group', () => {
  it('GET /Groups?excludedAttributes=members&filter=displayName eq … finds nothing, then POST creates it', async () => {
    const none = await h.call('GET', `/scim/v2/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "displayName"')}`);
    expect(none.json.totalResults).toBe(0);
    const res = await h.call('POST', '/scim/v2/Groups', { externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', id: 'c4b4ea9a-4d2f-40b0-b10e-1d4cd1f4c03b', displayName: 'displayName', meta: { resourceType: 'Group' }, members: [], schemas: [GROUP] });
    expect(res.statusCode).toBe(201);
    groupId = res.json.id;
    expect(groupId).not.toBe('c4b4ea9a-4d2f-40b0-b10e-1d4cd1f4c03b');
    expect(await h.store.query(`select name from groups where id = $1 and organization_id = 'acme'`, [groupId])).toEqual([{ name: 'displayName' }]);
  });

  it('GET /Groups/:id?excludedAttributes=members, PATCH replace displayName', async () => {
    const g = await h.call('GET', `/scim/v2/Groups/${groupId}?excludedAttributes=members`);
    expect(g.statusCode).toBe(200);
    expect(g.json.members).toBeUndefined();
    const res = await h.call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' }] });
    expect(res.statusCode).toBe(204);
    expect(await h.store.query(`select name from groups where id = $1`, [groupId])).toEqual([{ name: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' }]);
  });

  it('PATCH add and remove members (value lists)', async () => {
    const add = await h.call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: userId }, { $ref: null, value: managerId }] }] });
    expect(add.statusCode).toBe(204);
    const members = async () => (await h.store.query<{ user_id: string }>(`select user_id from group_memberships where group_id = $1 order by user_id`, [groupId])).map((r) => r.user_id);
    expect(await members()).toEqual([userId, managerId].sort());
    const filtered = await h.call('GET', `/scim/v2/Groups?filter=${encodeURIComponent(`members[value eq "${userId}"]`)}`);
    expect(filtered.json.Resources.map((r: { id: string }) => r.id)).toContain(groupId);
    const remove = await h.call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: managerId }] }] });
    expect(remove.statusCode).toBe(204);
    expect(await members()).toEqual([userId]);
    // nobody was deactivated or invited by group changes
    expect((await storeUser(managerId)).status).toBe('active');
  });

  it('DELETE /Groups/:id removes the group and its SCIM memberships; the users stay', async () => {
    const res = await h.call('DELETE', `/scim/v2/Groups/${groupId}`);
    expect(res.statusCode).toBe(204);
    expect(await h.store.query(`select 1 from groups where id = $1`, [groupId])).toEqual([]);
    expect((await h.call('GET', `/scim/v2/Groups/${groupId}`)).statusCode).toBe(404);
    expect((await storeUser(userId)).status).toBe('active');
  });
});
