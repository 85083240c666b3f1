import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type RunningWorkers } from '../../jobs/workers.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { createToken, revokeToken, TokenVerifier } from '../../src/auth/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { utcToZonedLocal } from '../../src/http/dashboard/time.js';
import { silentLogger } from '../../src/lib/logger.js';
import { packageRoot } from '../../src/lib/paths.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { chromiumForTests } from '../support/chromium.js';
import { waitFor } from '../support/service.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { configFor, createTestStore, employee, tempDir, toCsv, type Row, type TestStore } from '../support/store.js';

/**
 * The dashboard end to end, in a real headless Chromium (Debian's, driven by
 * playwright-core) against the app listening on 127.0.0.1, with running workers, a real
 * PostgreSQL store, Redis queues and an SMTP sink. Two organizations: acme (a connector
 * with a schedule) and globex (default deactivation threshold, so a big drop is held).
 *
 * Screenshots of the main pages go to a temporary folder; with UPDATE_SCREENSHOTS=1 they
 * replace docs/screenshots/*.png.
 *
 * Without Chromium the file is skipped (and test/support/global-setup.ts says so in one
 * line); under CI it fails instead (test/support/chromium.ts).
 */
const CHROMIUM = chromiumForTests();
const SHOTS = process.env.UPDATE_SCREENSHOTS ? join(packageRoot(), 'docs', 'screenshots') : tempDir('hrsync-shots-');

let store: TestStore;
let ctx: AppContext;
let workers: RunningWorkers;
let app: FastifyInstance;
let sink: SmtpSink;
let browser: Browser;
let base: string;
let prefix: string;
const adminToken = `admin-${randomBytes(16).toString('hex')}`;
let acmeToken: string;
let acmeExport: string;
let globexExport: string;

async function sync(connectorId: 'acme-hr' | 'globex-hr', rows: Array<Partial<Row>>): Promise<string> {
  writeFileSync(connectorId === 'acme-hr' ? acmeExport : globexExport, toCsv(rows));
  const run = await ctx.sync.run({ connectorId });
  return run.status;
}

beforeAll(async () => {
  if (!CHROMIUM) return;
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  launching.catch(() => undefined);
  mkdirSync(SHOTS, { recursive: true });
  sink = await startSmtpSink();
  store = await createTestStore();
  const dir = tempDir('hrsync-dash-');
  acmeExport = join(dir, 'acme.csv');
  globexExport = join(dir, 'globex.csv');
  writeFileSync(acmeExport, toCsv([]));
  writeFileSync(globexExport, toCsv([]));
  prefix = testPrefix();
  const organizations = [
    { id: 'acme', name: 'Acme <GmbH> & "Co"', connectors: [{ id: 'acme-hr', type: 'file', schedule: '0 */4 * * *', timezone: 'Europe/Berlin', options: { path: acmeExport }, deactivation: { maxPercent: 100 } }] },
    { id: 'globex', name: 'Globex', connectors: [{ id: 'globex-hr', type: 'file', options: { path: globexExport } }] },
  ];
  const env = {
    REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, SMTP_URL: sink.url, APP_URL: 'http://hrsync.test', HRSYNC_ADMIN_TOKEN: adminToken,
    INVITE_RATE_PER_SECOND: '0', QUEUE_LOCK_MS: '4000',
  };
  ctx = await createContext({ config: configFor(store.url, { organizations, invitations: { reconcileEverySeconds: 1 } }, env), log: silentLogger });
  workers = await startWorkers(ctx);
  // Built the way `hrsync start` builds it (src/cli/start.ts).
  app = await buildApp({
    config: ctx.config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: workers.rollouts, queues: ctx.queues(), enqueueSync: ctx.enqueueSync,
    tokens: new TokenVerifier(ctx.em, ctx.config.adminToken, 0),
    readiness: async () => ({ postgres: 'ok', redis: 'ok' }),
  });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  acmeToken = (await createToken(ctx.em(), 'acme', 'dashboard e2e')).token;

  // acme: 12 employees, then E6 (in Berlin) leaves: Berlin has 3 active users and 1 deactivated.
  const acme = Array.from({ length: 12 }, (_, k) => employee(k + 1));
  expect(await sync('acme-hr', acme)).toBe('succeeded');
  expect(await sync('acme-hr', acme.map((r) => (r.employeeId === 'E6' ? { ...r, status: 'inactive' } : r)))).toBe('succeeded');
  // globex: 20 employees, then a listing of 2: 18 deactivations are above the 10 % threshold, so the run is held.
  const globex = Array.from({ length: 20 }, (_, k) => employee(k + 1, { email: `g${k + 1}@globex.example`, firstName: `Gina${k + 1}`, lastName: `Globex${k + 1}` }));
  expect(await sync('globex-hr', globex)).toBe('succeeded');
  expect(await sync('globex-hr', globex.slice(0, 2))).toBe('needs_approval');
  browser = await launching;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await workers?.close(5_000);
  await ctx?.close();
  if (prefix) await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
  await sink?.close();
});

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) errors.push(m.text());
  });
  (page as Page & { jsErrors: string[] }).jsErrors = errors;
  return { context, page };
}

const jsErrors = (page: Page) => (page as Page & { jsErrors: string[] }).jsErrors;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${base}/dashboard/sign-in`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/dashboard/sign-in'));
}

async function csrfOf(page: Page): Promise<string> {
  return (await page.locator('input[name="_csrf"]').first().getAttribute('value'))!;
}

describe.skipIf(!CHROMIUM)('the dashboard in a browser', () => {
  it('signs in with an organization token, invites the users of one location at a scheduled time, and shows the rollout reach 100 %', async () => {
    const { context, page } = await newPage();
    // A page behind the sign-in leads there and back.
    await page.goto(`${base}/dashboard/orgs/acme/users`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in');
    await shot(page, 'sign-in');
    await page.getByLabel('Token').fill('hrs_not-a-real-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not valid');
    await page.getByLabel('Token').fill(acmeToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/dashboard/orgs/acme/users');
    const cookie = (await context.cookies()).find((c) => c.name === 'hrsync_session')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Lax');
    expect(cookie.value).not.toContain(acmeToken);

    // Filter by location, select the page.
    await page.getByLabel('Location').selectOption({ label: 'Berlin' });
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/locationId=/);
    const rows = page.locator('#selection-form tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    expect(await page.locator('#selection-form tbody').textContent()).not.toContain('Munich');
    await page.getByLabel('Select all users on this page').check();
    expect(await page.locator('[data-selected-count]').textContent()).toBe('4');
    await shot(page, 'users-selection');
    await page.getByRole('button', { name: 'Invite…' }).click();

    // The invite form: login method, message, a time a few seconds ahead in a time zone.
    await page.waitForURL(/\/dashboard\/orgs\/acme\/invite\/[0-9a-f-]{36}$/);
    expect(await page.locator('[data-selection-summary]').textContent()).toBe('4 selected users');
    await page.locator('input[name="loginMethod"][value="magic_link"]').check();
    await page.getByLabel(/Personal message/).fill('Welcome to <Acme> & "friends"!');
    await page.getByLabel('Schedule for a date and time').check();
    const tz = 'America/New_York';
    const sendAt = new Date(Math.ceil((Date.now() + 7_000) / 1000) * 1000);
    await page.getByLabel('Time zone').selectOption(tz);
    await page.getByLabel('Date and time', { exact: true }).fill(utcToZonedLocal(sendAt, tz));
    await page.getByRole('button', { name: 'Preview' }).click();

    // The preview: who is invited, who is skipped and why — before anything exists.
    await page.locator('[data-preview]').waitFor();
    expect(await page.locator('[data-preview-invite]').textContent()).toBe('3');
    expect(await page.locator('[data-preview-skipped]').textContent()).toBe('1');
    expect(await page.locator('tr[data-reason="deactivated"]').textContent()).toContain('First6 Last6');
    expect(Number((await store.query<{ n: string }>(`select count(*) as n from rollouts`))[0].n)).toBe(0);
    await shot(page, 'invite-preview');
    await page.getByRole('button', { name: 'Schedule 3 invitations' }).click();

    // The rollout page: scheduled, then live progress without a reload, to 100 %.
    await page.waitForURL(/\/dashboard\/orgs\/acme\/rollouts\/[0-9a-f-]{36}\?notice=rollout_created$/);
    const rolloutId = new URL(page.url()).pathname.split('/').pop()!;
    const stored = await workers.rollouts.get(rolloutId, 'acme');
    expect(stored?.sendAt).toBe(sendAt.toISOString());
    expect(stored?.loginMethod).toBe('magic_link');
    expect(stored?.selection.userCount).toBe(4);
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
    if (Date.now() < sendAt.getTime() - 1_500) {
      expect(await page.locator('[data-status]').textContent()).toBe('Scheduled');
      expect(sink.messages.length).toBe(0);
    }
    await expect.poll(() => page.locator('[data-field="percent"]').textContent(), { timeout: 30_000, interval: 200 }).toBe('100%');
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator('[data-progress-bar]').getAttribute('value')).toBe('100');
    // The last message is recorded sent a moment before the rollout is recorded completed: the
    // page may show 100 % while still "Sending" for one refresh.
    await expect.poll(() => page.locator('[data-status]').textContent(), { timeout: 10_000, interval: 200 }).toBe('Completed');
    expect(await page.locator('[data-field="sent"]').textContent()).toBe('3');
    expect(await page.locator('[data-field="skipped"]').textContent()).toBe('1');
    expect(await page.locator('[data-action="pause"]').isHidden()).toBe(true);
    expect(await page.locator('[data-time-field="finishedAt"]').textContent()).not.toBe('—');
    await shot(page, 'rollout-progress');

    // Each message at the SMTP server, sent no earlier than asked; the message escaped.
    await sink.waitForMessages(3, 10_000);
    expect(sink.messages.map((m) => m.envelope.to[0]).sort()).toEqual(['person12@acme.example', 'person3@acme.example', 'person9@acme.example']);
    for (const m of sink.messages) expect(m.html).toContain('Welcome to &lt;Acme&gt; &amp;');
    const fired = await workers.rollouts.get(rolloutId, 'acme');
    expect(new Date(fired!.startedAt!).getTime()).toBeGreaterThanOrEqual(sendAt.getTime() - 1_000);

    // After a reload the page names the skipped user and the reason.
    await page.reload();
    expect(await page.locator('section[aria-labelledby="skipped-h"]').textContent()).toContain('First6 Last6');
    await page.goto(`${base}/dashboard/orgs/acme/rollouts`);
    expect(await page.locator(`tr[data-rollout-id="${rolloutId}"]`).textContent()).toContain('Completed');
    expect(jsErrors(page)).toEqual([]);
    await context.close();
  });

  it('approves a held run as the admin after switching organization, and its users are then deactivated', async () => {
    const { context, page } = await newPage();
    await signIn(page, adminToken);
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    expect(await page.locator('.org-card').count()).toBe(2);

    // The connectors of acme: schedule and next run time; a dry run through the queue.
    await page.getByRole('link', { name: /Acme/ }).first().click();
    await page.waitForURL('**/dashboard/orgs/acme/connectors');
    expect(await page.locator('section[aria-labelledby="c-acme-hr"]').textContent()).toContain('0 */4 * * *');
    const next = await page.locator('[data-next-run] time').getAttribute('datetime');
    expect(new Date(next!).getUTCMinutes()).toBe(0);
    expect(new Date(next!).getTime()).toBeGreaterThan(Date.now());
    expect(new Date(next!).getTime()).toBeLessThanOrEqual(Date.now() + 4 * 3_600_000);
    await shot(page, 'connectors');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.waitForURL(/\/dashboard\/orgs\/acme\/runs\/[0-9a-f-]{36}/);
    await expect.poll(() => page.locator('.page-head .badge').first().textContent(), { timeout: 20_000 }).toBe('Succeeded');
    expect(await page.locator('.page-head').textContent()).toContain('Dry run');

    // Switch to globex; its held run, with who would be deactivated.
    await page.getByLabel('Organization').selectOption('globex');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.waitForURL('**/dashboard/orgs/globex/runs');
    const heldRow = page.locator('tbody tr', { hasText: 'Needs approval' });
    expect(await heldRow.count()).toBe(1);
    await shot(page, 'runs');
    await heldRow.locator('a').first().click();
    await page.waitForURL(/\/dashboard\/orgs\/globex\/runs\/[0-9a-f-]{36}$/);
    const runId = new URL(page.url()).pathname.split('/').pop()!;
    const held = page.locator('section[aria-labelledby="deact-h"] tbody tr');
    expect(await held.count()).toBe(18);
    expect(await held.first().textContent()).toContain('Gina');
    expect(await page.locator('section[aria-labelledby="deact-h"]').textContent()).toContain('Missing from the HR listing');
    const before = await store.query<{ n: string }>(`select count(*) as n from users where organization_id = 'globex' and status = 'deactivated'`);
    expect(Number(before[0].n)).toBe(0);
    await shot(page, 'run');

    await page.getByRole('button', { name: 'Approve 18 deactivations' }).click();
    await page.waitForURL((u) => u.searchParams.get('notice') === 'run_approved');
    expect(await page.locator('.page-head .badge').first().textContent()).toBe('Approved');
    expect(await page.getByRole('status').first().textContent()).toContain('Approved');
    const after = await store.query<{ external_id: string }>(`select external_id from users where organization_id = 'globex' and status = 'deactivated' order by seq`);
    expect(after.map((r) => r.external_id)).toEqual(Array.from({ length: 18 }, (_, k) => `E${k + 3}`));
    const run = await store.query<{ status: string; approved_by: string }>(`select status, approved_by from sync_runs where id = $1`, [runId]);
    expect(run[0]).toEqual({ status: 'approved', approved_by: 'admin' });
    expect(await page.getByRole('button', { name: /Approve/ }).count()).toBe(0);
    expect(jsErrors(page)).toEqual([]);
    await context.close();
  });

  it("keeps an organization token to its own organization: another organization's pages are 404 and its rows never listed", async () => {
    // globex's user, run and rollout.
    const gUser = (await store.query<{ id: string }>(`select id from users where organization_id = 'globex' order by seq limit 1`))[0].id;
    const gRun = (await store.query<{ id: string }>(`select id from sync_runs where organization_id = 'globex' order by started_at desc limit 1`))[0].id;
    const gRollout = (await workers.rollouts.create('globex', { userIds: [gUser], loginMethod: 'password', sendAt: new Date(Date.now() + 86_400_000).toISOString() }, { createdBy: 'admin' })).id;
    const { token } = await createToken(ctx.em(), 'acme', 'isolation');
    const { context, page } = await newPage();
    await signIn(page, token);
    expect(new URL(page.url()).pathname).toBe('/dashboard/orgs/acme/connectors');

    for (const url of [
      '/dashboard/orgs/globex/connectors', '/dashboard/orgs/globex/runs', '/dashboard/orgs/globex/users', '/dashboard/orgs/globex/rollouts',
      `/dashboard/orgs/globex/users/${gUser}`, `/dashboard/orgs/acme/users/${gUser}`,
      `/dashboard/orgs/globex/runs/${gRun}`, `/dashboard/orgs/acme/runs/${gRun}`,
      `/dashboard/orgs/globex/rollouts/${gRollout}`, `/dashboard/orgs/acme/rollouts/${gRollout}`, `/dashboard/orgs/acme/rollouts/${gRollout}/progress`,
      '/dashboard/switch?org=globex&section=users', '/dashboard/orgs/acme/users/not-a-uuid', '/dashboard/orgs/acme/nothing-here',
    ]) {
      const res = await page.goto(`${base}${url}`);
      expect(res?.status(), url).toBe(404);
    }
    expect(await page.locator('h1').textContent()).toBe('Not found');

    // Lists show acme's rows only.
    await page.goto(`${base}/dashboard/orgs/acme/users?limit=200`);
    const users = await page.locator('#selection-form').textContent();
    expect(users).toContain('person1@acme.example');
    expect(users).not.toContain('globex.example');
    expect(users).not.toContain('Gina');
    await page.goto(`${base}/dashboard/orgs/acme/runs`);
    expect(await page.locator(`tr[data-run-id="${gRun}"]`).count()).toBe(0);
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(0);
    await page.goto(`${base}/dashboard/orgs/acme/rollouts`);
    expect(await page.locator(`tr[data-rollout-id="${gRollout}"]`).count()).toBe(0);
    // No organization switch, no Bull Board link, and the admin's start page leads home.
    expect(await page.locator('#org-switch').count()).toBe(0);
    expect(await page.locator('a[href^="/dashboard/queues"], a[href^="/admin/queues"]').count()).toBe(0);
    await page.goto(`${base}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/orgs/acme/connectors');

    // Writes across organizations are 404 too, with a valid form token; nothing happens.
    const csrf = await csrfOf(page);
    const runsBefore = await store.query(`select id from sync_runs order by id`);
    const rolloutsBefore = await store.query(`select id from rollouts order by id`);
    const post = (url: string, form: Record<string, string>) => page.request.post(`${base}${url}`, { form, maxRedirects: 0 });
    expect((await post('/dashboard/orgs/globex/connectors/globex-hr/sync', { _csrf: csrf })).status()).toBe(404);
    expect((await post('/dashboard/orgs/acme/connectors/globex-hr/sync', { _csrf: csrf })).status()).toBe(404);
    expect((await post(`/dashboard/orgs/acme/rollouts/${gRollout}/cancel`, { _csrf: csrf })).status()).toBe(404);
    expect((await post(`/dashboard/orgs/globex/runs/${gRun}/reject`, { _csrf: csrf })).status()).toBe(404);
    expect((await workers.rollouts.get(gRollout))?.status).toBe('scheduled');

    // CSRF: a POST without the form token, or with another one, is a 403 and does nothing.
    expect((await post('/dashboard/orgs/acme/connectors/acme-hr/sync', {})).status()).toBe(403);
    expect((await post('/dashboard/orgs/acme/connectors/acme-hr/sync', { _csrf: 'x'.repeat(24) })).status()).toBe(403);
    expect((await post('/dashboard/orgs/acme/invite', { step: 'confirm', selection: 'filter', loginMethod: 'password' })).status()).toBe(403);
    expect(await store.query(`select id from sync_runs order by id`)).toEqual(runsBefore);
    expect(await store.query(`select id from rollouts order by id`)).toEqual(rolloutsBefore);
    // … and with it, the same POST works.
    const ok = await post('/dashboard/orgs/acme/connectors/acme-hr/sync', { _csrf: csrf, dryRun: '1' });
    expect(ok.status()).toBe(303);
    expect(ok.headers().location).toMatch(/^\/dashboard\/orgs\/acme\/runs\/[0-9a-f-]{36}\?notice=dry_run_queued$/);
    // Signing in needs the sign-in form's own token as well.
    const anon = await browser.newContext();
    expect((await anon.request.post(`${base}/dashboard/sign-in`, { form: { token: adminToken }, maxRedirects: 0 })).status()).toBe(403);
    expect((await anon.request.post(`${base}/dashboard/orgs/acme/connectors/acme-hr/sync`, { form: { _csrf: csrf }, maxRedirects: 0 })).headers().location).toMatch(/^\/dashboard\/sign-in/);
    await anon.close();

    // Revoking the token ends its sessions at once.
    const other = await createToken(ctx.em(), 'acme', 'to revoke');
    const second = await newPage();
    await signIn(second.page, other.token);
    expect(new URL(second.page.url()).pathname).toBe('/dashboard/orgs/acme/connectors');
    await revokeToken(ctx.em(), other.record.id);
    await second.page.goto(`${base}/dashboard/orgs/acme/users`);
    expect(new URL(second.page.url()).pathname).toBe('/dashboard/sign-in');
    await second.context.close();

    // Signing out ends the session.
    await page.goto(`${base}/dashboard/orgs/acme/connectors`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/dashboard/sign-in');
    await page.goto(`${base}/dashboard/orgs/acme/users`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in');
    expect(jsErrors(page)).toEqual([]);
    await context.close();
    await waitFor(async () => (await store.query(`select 1 from sync_runs where organization_id = 'acme' and status in ('queued', 'running')`)).length === 0, 20_000);
  });
});
