import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULK_BODY_LIMIT, DEFAULT_BODY_LIMIT } from '../../src/http/deps.js';
import { createRolloutBody, createUserBody, emptyBody, triggerSyncBody, updateUserBody } from '../../src/http/schemas.js';
import { errorBody, startHttpService, type HttpService } from '../support/http.js';
import { employee } from '../support/store.js';

/**
 * Malformed bodies on every write route: always a 4xx with `{ error: { code, message } }`,
 * never a 5xx, and the store unchanged. Each route is aimed at a real resource in a state
 * where a body wrongly taken for valid would change something (a scheduled rollout to
 * cancel, a held run to approve, …), so "unchanged" means "refused", not "nothing to do".
 *
 * FUZZ_RUNS (default 60) and FUZZ_SEED (default fixed) widen the generated sweep.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_261_126;

let h: HttpService;
const ids = { user: '', scheduled: '', paused: '', held: '' };

interface WriteRoute {
  name: string;
  method: 'POST' | 'PATCH';
  url(): string;
  /** a body that would be taken (the fuzz starts from it and breaks it) */
  base: Record<string, unknown>;
  /** what the route takes, as the contract says (used only to leave valid inputs out of the sweep) */
  takes(body: unknown): boolean;
  /** may the body be left out (a steering call, a sync trigger, a PATCH with nothing to change)? */
  optional: boolean;
  limit: number;
}

const FAR = new Date(Date.now() + 30 * 86_400_000).toISOString();
const ok = (schema: { safeParse(v: unknown): { success: boolean } }) => (b: unknown) => schema.safeParse(b).success;
const ROUTES: WriteRoute[] = [
  { name: 'POST /api/users', method: 'POST', url: () => '/api/users', base: { organizationId: 'acme', email: 'fuzz@acme.example', firstName: 'Fuzz', groups: ['Fuzzers'], invite: { loginMethod: 'password' } }, takes: ok(createUserBody), optional: false, limit: DEFAULT_BODY_LIMIT },
  { name: 'PATCH /api/users/:id', method: 'PATCH', url: () => `/api/users/${ids.user}`, base: { roles: ['fuzzer'], location: 'Fuzzland', groups: ['Fuzz'], status: 'deactivated' }, takes: ok(updateUserBody), optional: true, limit: DEFAULT_BODY_LIMIT },
  { name: 'POST /api/rollouts', method: 'POST', url: () => '/api/rollouts', base: { organizationId: 'acme', filter: { location: 'Berlin' }, loginMethod: 'password', sendAt: FAR, message: 'hi' }, takes: ok(createRolloutBody), optional: false, limit: BULK_BODY_LIMIT },
  { name: 'POST /api/rollouts/:id/cancel', method: 'POST', url: () => `/api/rollouts/${ids.scheduled}/cancel`, base: {}, takes: ok(emptyBody), optional: true, limit: DEFAULT_BODY_LIMIT },
  { name: 'POST /api/rollouts/:id/pause', method: 'POST', url: () => `/api/rollouts/${ids.scheduled}/pause`, base: {}, takes: ok(emptyBody), optional: true, limit: DEFAULT_BODY_LIMIT },
  { name: 'POST /api/rollouts/:id/resume', method: 'POST', url: () => `/api/rollouts/${ids.paused}/resume`, base: {}, takes: ok(emptyBody), optional: true, limit: DEFAULT_BODY_LIMIT },
  { name: 'POST /api/invitations/accept', method: 'POST', url: () => '/api/invitations/accept', base: { token: 'x'.repeat(43), organizationId: 'acme' }, takes: () => false, optional: false, limit: DEFAULT_BODY_LIMIT },
  { name: 'POST /api/connectors/:id/sync', method: 'POST', url: () => '/api/connectors/acme-hr/sync', base: { dryRun: true }, takes: ok(triggerSyncBody), optional: true, limit: DEFAULT_BODY_LIMIT },
  { name: 'POST /api/sync-runs/:id/approve', method: 'POST', url: () => `/api/sync-runs/${ids.held}/approve`, base: {}, takes: ok(emptyBody), optional: true, limit: DEFAULT_BODY_LIMIT },
  { name: 'POST /api/sync-runs/:id/reject', method: 'POST', url: () => `/api/sync-runs/${ids.held}/reject`, base: {}, takes: ok(emptyBody), optional: true, limit: DEFAULT_BODY_LIMIT },
];

/** Would the route take this text as a body? (JSON object, no NUL, `__proto__` dropped — then the route's contract.) */
function taken(r: WriteRoute, text: string, contentType = 'application/json'): boolean {
  if (!/^application\/json\s*(;|$)/i.test(contentType)) return false;
  if (text.trim() === '') return r.optional;
  let nul = false;
  let v: unknown;
  try {
    v = JSON.parse(text, (k, x) => {
      if (typeof x === 'string' && x.includes('\u0000')) nul = true;
      return k === '__proto__' ? undefined : x;
    });
  } catch {
    return false;
  }
  if (nul || v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  return r.takes(v);
}

async function expectRefused(r: WriteRoute, text: string | Buffer, contentType = 'application/json', status?: number | number[]): Promise<void> {
  const res = await h.call(r.method, r.url(), { raw: text, contentType });
  const what = `${r.name} ${contentType} ${String(text).slice(0, 80)}… → ${res.statusCode} ${res.body.slice(0, 160)}`;
  expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, what).toBeLessThan(500);
  if (status !== undefined) expect([status].flat(), what).toContain(res.statusCode);
  errorBody(res);
}

beforeAll(async () => {
  const saved = process.env.ACCEPT_RATE_LIMIT_PER_MINUTE;
  process.env.ACCEPT_RATE_LIMIT_PER_MINUTE = '1000000'; // this file tests bodies, not the limit
  try {
    // hundreds of bulk requests from one token on purpose: the per-token bulk limits are test/http/bulk-limits.int.test.ts's
    h = await startHttpService({ workers: false, env: { BULK_PER_MINUTE: '100000' } });
  } finally {
    if (saved === undefined) delete process.env.ACCEPT_RATE_LIMIT_PER_MINUTE;
    else process.env.ACCEPT_RATE_LIMIT_PER_MINUTE = saved;
  }
  await h.svc.sync([1, 2, 3].map((i) => employee(i)));
  ids.user = (await h.svc.store.query<{ id: string }>(`select id from users where organization_id = 'acme' limit 1`))[0].id;
  const r = h.svc.ctx.rollouts();
  ids.scheduled = (await r.create('acme', { userIds: [ids.user], loginMethod: 'password', sendAt: FAR })).id;
  ids.paused = (await r.create('acme', { userIds: [ids.user], loginMethod: 'password', sendAt: FAR })).id;
  await r.pause(ids.paused);
  // a held run: globex's listing shrinks by half, above its 10% threshold
  const globexRows = (n: number) => Array.from({ length: n }, (_, k) => ({ ...employee(k + 1), employeeId: `G${k + 1}`, email: `g${k + 1}@globex.example`, managerId: '' }));
  expect(await h.svc.syncOther(globexRows(20))).toBe('succeeded');
  expect(await h.svc.syncOther(globexRows(10))).toBe('needs_approval');
  ids.held = (await h.svc.store.query<{ id: string }>(`select id from sync_runs where status = 'needs_approval'`))[0].id;
});
afterAll(async () => {
  await h?.close();
});

const wrongValues: unknown[] = [123, -1.5, 0, true, false, 'text', '', [], {}, [[[]]], { $gt: '' }, ['a', 1], null, 'x'.repeat(10_000)];
const DEEP = 100_000;

describe.each(ROUTES)('$name', (r) => {
  const cases: Array<[string, () => Array<{ text: string; type?: string; status?: number | number[] }>]> = [
    ['invalid JSON', () => ['{', '{"a":', "{'a':1}", '{"a":1}}', '{"a":1,}', 'undefined', 'NaN', '{"a":"\\x"}', '\ufeff{}', `${JSON.stringify(r.base)}garbage`].map((text) => ({ text, status: 400 }))],
    ['null, an array or a scalar instead of an object', () => ['null', '[]', `[${JSON.stringify(r.base)}]`, '0', '-1', '"text"', 'true'].map((text) => ({ text, status: 400 }))],
    ['a wrong content type', () => ['text/plain', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream', 'application/jsonx', 'image/png'].map((type) => ({ text: JSON.stringify(r.base), type, status: [400, 415] }))],
    ['an empty body, where one is required', () => (r.optional ? [] : ['', '   ', '{}'].map((text) => ({ text, status: 400 })))],
    ['unknown fields', () => [{ isAdmin: true }, { organization_id: 'globex' }, { constructor: { prototype: { polluted: true } } }, { ['__proto__ ']: {} }, { '': 1 }].map((extra) => ({ text: JSON.stringify({ ...r.base, ...extra }), status: 400 }))],
    ['wrong types in each field', () =>
      Object.keys(r.base).flatMap((k) => wrongValues.map((v) => JSON.stringify({ ...r.base, [k]: v }))).filter((text) => !taken(r, text)).map((text) => ({ text, status: 400 }))],
    ['a NUL character in a string', () => [...Object.keys(r.base).filter((k) => typeof r.base[k] === 'string'), 'extra'].map((k) => ({ text: JSON.stringify({ ...r.base, [k]: 'a\u0000b' }), status: 400 }))],
    ['a huge string (1.2 MB) in each field', () =>
      [...Object.keys(r.base), 'extra'].map((k) => ({ text: JSON.stringify({ ...r.base, [k]: 'x'.repeat(1_200_000) }), status: r.limit > 1_300_000 ? 400 : 413 }))],
    ['a body over the route limit', () => [{ text: JSON.stringify({ ...r.base, pad: 'x'.repeat(r.limit + 1_024) }), status: 413 }]],
    ['deep nesting (100,000 levels)', () => [
      { text: '['.repeat(DEEP) + ']'.repeat(DEEP), status: 400 },
      { text: `{"${Object.keys(r.base)[0] ?? 'x'}":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}`, status: 400 },
      { text: `${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}`, status: r.limit > 1_000_000 ? 400 : 413 },
    ]],
  ];

  it.each(cases)('refuses %s with a 4xx and the error shape, changing nothing', async (_name, make) => {
    const before = await h.snapshot();
    for (const c of make()) await expectRefused(r, c.text, c.type, c.status);
    expect(await h.snapshot()).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses generated bodies (fast-check) with a 4xx and the error shape, changing nothing', async () => {
    const before = await h.snapshot();
    const keys = Object.keys(r.base);
    const value = fc.jsonValue({ maxDepth: 3 });
    const texts: fc.Arbitrary<string>[] = [
      value.map((v) => JSON.stringify(v)), // any JSON at all
      fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), value).map(([k, v]) => JSON.stringify({ ...r.base, [k]: v })), // an extra field
      fc.string({ maxLength: 80 }), // text
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('latin1')),
    ];
    if (keys.length > 0) texts.push(fc.tuple(fc.constantFrom(...keys), value).map(([k, v]) => JSON.stringify({ ...r.base, [k]: v }))); // one field of any type
    const contentType = fc.oneof({ weight: 6, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml') });
    await fc.assert(
      fc.asyncProperty(fc.oneof(...texts), contentType, async (text, type) => {
        fc.pre(!taken(r, text, type));
        await expectRefused(r, text, type);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect(await h.snapshot()).toBe(before);
  });
});

describe('query strings and path ids', () => {
  const reads = ['/api/users', '/api/rollouts', '/api/sync-runs', '/api/connectors'];
  it('answers 4xx with the error shape to malformed ones, NUL characters included — never a 5xx', async () => {
    const before = await h.snapshot();
    const bad = ['?q=%00', '?organizationId=%00', '?organizationId=a%00b', '?limit=abc', '?limit=-1', '?limit=1e9', '?cursor=%%%', '?cursor=dTox', '?before=yesterday',
      '?status=gone', '?unknown=1', `?q=${'x'.repeat(5_000)}`, '?organizationId=', '?limit=1&limit=2'];
    for (const url of reads) {
      for (const q of bad) {
        const res = await h.call('GET', url + q);
        if (res.statusCode === 200) continue; // a filter some lists do not have, or an empty one
        expect(res.statusCode, `${url}${q}: ${res.body.slice(0, 120)}`).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, `${url}${q}`).toBeLessThan(500);
        errorBody(res);
      }
    }
    for (const path of ['/api/users/%00', '/api/rollouts/%00/cancel', '/api/sync-runs/a%00b', `/api/users/${'x'.repeat(5_000)}`, '/api/users/..%2f..%2fetc', '/api/connectors/%00/sync', '/api/users/%', '/api/users/%E0%A4%A', `/api/rollouts/${'y'.repeat(600)}/cancel`]) {
      const res = await h.call(path.endsWith('cancel') || path.endsWith('sync') ? 'POST' : 'GET', path);
      expect([400, 404, 414], `${path}: ${res.statusCode} ${res.body.slice(0, 120)}`).toContain(res.statusCode);
      errorBody(res);
    }
    expect(await h.snapshot()).toBe(before);
  });

  it('answers generated query strings (fast-check) on every list route without a 5xx', async () => {
    const param = fc.tuple(fc.constantFrom('q', 'status', 'access', 'limit', 'cursor', 'before', 'organizationId', 'connectorId', 'locationId', 'groupId', 'x'), fc.string({ unit: 'binary', maxLength: 40 }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...reads), fc.array(param, { maxLength: 4 }), async (url, params) => {
        const res = await h.call('GET', `${url}?${new URLSearchParams(params).toString()}`);
        expect(res.statusCode, `${url} ${JSON.stringify(params)}: ${res.body.slice(0, 120)}`).toBeLessThan(500);
        if (res.statusCode >= 400) errorBody(res);
      }),
      { numRuns: RUNS * 3, seed: SEED, endOnFailure: true },
    );
  });
});

describe('the targets of the sweep', () => {
  it('are still there, untouched: the scheduled rollout, the paused one, the held run, the user', async () => {
    const r = h.svc.ctx.rollouts();
    expect((await r.get(ids.scheduled))!.status).toBe('scheduled');
    expect((await r.get(ids.paused))!.status).toBe('paused');
    expect((await h.svc.store.query(`select status from sync_runs where id = $1`, [ids.held]))[0].status).toBe('needs_approval');
    expect((await h.svc.store.query(`select roles, status from users where id = $1`, [ids.user]))[0]).toEqual({ roles: [], status: 'active' });
    expect(await h.svc.store.query(`select count(*)::int as n from users where organization_id = 'acme'`)).toEqual([{ n: 3 }]);
    // and a valid call does act: the sweep's "unchanged" was a refusal, not a no-op
    const res = await h.call('POST', `/api/rollouts/${ids.scheduled}/cancel`, {});
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().status).toBe('cancelled');
  });
});
