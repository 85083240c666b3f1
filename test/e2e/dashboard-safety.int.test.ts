import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../src/app/context.js';
import { createToken, TokenVerifier } from '../../src/auth/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/lib/logger.js';
import { packageRoot } from '../../src/lib/paths.js';
import { chromiumForTests } from '../support/chromium.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { configFor, createTestStore, employee, tempDir, toCsv, type TestStore } from '../support/store.js';

/**
 * The dashboard's guard rails in a real headless Chromium (playwright-core) against the app on
 * 127.0.0.1 with a real PostgreSQL store and Redis queues: the invite confirmation never
 * creates two rollouts (double click, Enter twice, Back + Reload + click), a session that
 * ends mid-form loses nothing, and the keyboard alone can invite. No workers: a rollout
 * stays scheduled, so every case counts rollouts exactly. Skipped without Chromium (fails under CI).
 */
const CHROMIUM = chromiumForTests();
/** Screenshots (1280 px and 390 px) go to a temporary folder; with UPDATE_SCREENSHOTS=1 to docs/screenshots. */
const SHOTS = process.env.UPDATE_SCREENSHOTS ? join(packageRoot(), 'docs', 'screenshots') : tempDir('hrsync-shots-');

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

let store: TestStore;
let ctx: AppContext;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let prefix: string;
const adminToken = `admin-${randomBytes(16).toString('hex')}`;
let acmeToken: string;
let acmeExport: string;
let globexExport: string;

beforeAll(async () => {
  if (!CHROMIUM) return;
  const launching = chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  launching.catch(() => undefined);
  mkdirSync(SHOTS, { recursive: true });
  store = await createTestStore();
  const dir = tempDir('hrsync-dash-safety-');
  acmeExport = join(dir, 'acme.csv');
  globexExport = join(dir, 'globex.csv');
  const globex = Array.from({ length: 300 }, (_, k) => employee(k + 1, { email: `g${k + 1}@globex.example`, firstName: `Gina${k + 1}`, lastName: `Globex${k + 1}` }));
  writeFileSync(globexExport, toCsv(globex));
  writeFileSync(acmeExport, toCsv(Array.from({ length: 30 }, (_, k) => employee(k + 1, k === 0 ? { firstName: 'Jürgen', lastName: 'Müller' } : {}))));
  prefix = testPrefix();
  const organizations = [
    { id: 'acme', name: 'Acme', connectors: [{ id: 'acme-hr', type: 'file', options: { path: acmeExport }, deactivation: { maxPercent: 100 } }] },
    // The default threshold (10 %): a listing of 50 of 300 holds 250 deactivations.
    { id: 'globex', name: 'Globex', connectors: [{ id: 'globex-hr', type: 'file', options: { path: globexExport } }] },
  ];
  ctx = await createContext({
    config: configFor(store.url, { organizations }, { REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, SMTP_URL: 'smtp://127.0.0.1:9', APP_URL: 'http://hrsync.test', HRSYNC_ADMIN_TOKEN: adminToken }),
    log: silentLogger,
  });
  app = await buildApp({
    config: ctx.config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync,
    tokens: new TokenVerifier(ctx.em, ctx.config.adminToken, 0),
    readiness: async () => ({ postgres: 'ok', redis: 'ok' }),
  });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  acmeToken = (await createToken(ctx.em(), 'acme', 'dashboard safety e2e')).token;
  expect((await ctx.sync.run({ connectorId: 'acme-hr' })).status).toBe('succeeded');
  expect((await ctx.sync.run({ connectorId: 'globex-hr' })).status).toBe('succeeded');
  writeFileSync(globexExport, toCsv(globex.slice(0, 50)));
  expect((await ctx.sync.run({ connectorId: 'globex-hr' })).status).toBe('needs_approval');
  browser = await launching;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await ctx?.close();
  if (prefix) await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
});

async function newPage(width = 1280): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height: 800 }, locale: 'en-US', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) errors.push(m.text());
  });
  return { context, page, errors };
}

async function signIn(page: Page, token = acmeToken): Promise<void> {
  await page.goto(`${base}/dashboard/sign-in`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/dashboard/sign-in'));
}

const rollouts = async () => (await store.query<{ id: string }>(`select id::text as id from rollouts order by created_at`)).map((r) => r.id);
const ROLLOUT_URL = /\/dashboard\/orgs\/acme\/rollouts\/([0-9a-f-]{36})/;

/** Ticks users (by e-mail) on the users list, opens the invite form, fills it, and previews. */
async function toPreview(page: Page, people: number[], message = 'Hello'): Promise<void> {
  await page.goto(`${base}/dashboard/orgs/acme/users?limit=100`);
  for (const i of people) await page.getByLabel(`Select First${i} Last${i}`).check();
  await page.getByRole('button', { name: 'Invite…' }).click();
  await page.waitForURL(/\/invite\/[0-9a-f-]{36}$/);
  await page.locator('input[name="loginMethod"][value="sso"]').check();
  await page.getByLabel(/Personal message/).fill(message);
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.waitForURL(/\/invite\/[0-9a-f-]{36}\/preview$/);
}

/**
 * Holds every POST to the invite confirmation in the browser until `release()`: `sent` resolves
 * when the first one is held, `requests()` counts how many the page sent.
 */
async function holdConfirm(page: Page): Promise<{ sent: Promise<void>; release: () => void; requests: () => number }> {
  let count = 0;
  let onSent!: () => void;
  let release!: () => void;
  const sent = new Promise<void>((r) => (onSent = r));
  const released = new Promise<void>((r) => (release = r));
  await page.route('**/confirm', async (route) => {
    count += 1;
    onSent();
    await released;
    await route.continue();
  });
  return { sent, release, requests: () => count };
}

interface FormState { busy: string | null; disabled: boolean; label: string }

/**
 * What the confirm form shows, reported by the page itself each time it changes. The page
 * pushes it through a binding because Playwright cannot evaluate in a page whose form
 * submission is still pending (it waits for the navigation), and a read after the release
 * would find the next page.
 */
async function watchConfirmForm(page: Page): Promise<FormState[]> {
  const states: FormState[] = [];
  await page.exposeFunction('hrsyncFormState', (st: FormState) => void states.push(st));
  await page.evaluate(`(() => {
    const f = document.querySelector('form[data-submit-once]');
    const b = f.querySelector('button[type="submit"]');
    const report = () => window.hrsyncFormState({ busy: f.getAttribute('aria-busy'), disabled: b.disabled, label: b.textContent });
    new MutationObserver(report).observe(f, { attributes: true, subtree: true, childList: true, characterData: true });
  })()`);
  return states;
}

describe.skipIf(!CHROMIUM)('the invite confirmation in a browser', () => {
  it('a double click creates one rollout and lands on it; the button shows it is busy', async () => {
    const { context, page, errors } = await newPage();
    await signIn(page);
    await toPreview(page, [2, 3]);
    const before = await rollouts();
    // The confirm is held until the test lets it go, so the second click lands while the first is
    // in flight and the busy state is read before the page moves on, however slow the machine.
    const held = await holdConfirm(page);
    const states = await watchConfirmForm(page);
    await page.getByRole('button', { name: 'Send 2 invitations' }).dblclick();
    await held.sent;
    // The form says it is busy and its button is disabled while the request is in flight.
    await expect.poll(() => states.some((st) => st.busy === 'true' && st.disabled), { timeout: 10_000 }).toBe(true);
    held.release();
    await page.waitForURL(ROLLOUT_URL);
    // The second click sent nothing: the page dropped it.
    expect(held.requests()).toBe(1);
    const after = await rollouts();
    expect(after.length).toBe(before.length + 1);
    expect(ROLLOUT_URL.exec(page.url())![1]).toBe(after[after.length - 1]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('Enter twice on the confirm button creates one rollout', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await toPreview(page, [4]);
    const before = await rollouts();
    const held = await holdConfirm(page);
    await page.getByRole('button', { name: 'Send 1 invitation' }).focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await held.sent;
    held.release();
    await page.waitForURL(ROLLOUT_URL);
    expect(held.requests()).toBe(1);
    expect((await rollouts()).length).toBe(before.length + 1);
    await context.close();
  });

  it('Back, Reload and click after confirming land on the same rollout and create no other', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await toPreview(page, [5, 6]);
    const preview = page.url();
    await page.getByRole('button', { name: 'Send 2 invitations' }).click();
    await page.waitForURL(ROLLOUT_URL);
    const first = ROLLOUT_URL.exec(page.url())![1];
    const count = (await rollouts()).length;
    await page.goBack();
    await page.reload();
    expect(ROLLOUT_URL.exec(page.url())?.[1]).toBe(first);
    // The preview's address itself, and its confirm button if a browser shows it from memory.
    await page.goto(preview);
    expect(ROLLOUT_URL.exec(page.url())?.[1]).toBe(first);
    await page.goBack();
    await page.goBack();
    const stale = page.getByRole('button', { name: 'Send 2 invitations' });
    if (await stale.count()) {
      await stale.click();
      await page.waitForURL(ROLLOUT_URL);
    }
    await page.reload();
    expect(ROLLOUT_URL.exec(page.url())?.[1]).toBe(first);
    expect((await rollouts()).length).toBe(count);
    await context.close();
  });

  it('a session that ends mid-form: the sign-in page says why, and after signing in the form is back with the message', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${base}/dashboard/orgs/acme/users?limit=100&q=muller`);
    // Accent-insensitive search: "muller" finds Müller.
    expect(await page.locator('#selection-form tbody').textContent()).toContain('Müller');
    await page.getByLabel('Select Jürgen Müller').check();
    await page.getByRole('button', { name: 'Invite…' }).click();
    await page.waitForURL(/\/invite\/[0-9a-f-]{36}$/);
    const form = page.url();
    await page.getByLabel(/Personal message/).fill('Welcome aboard, see you Monday');
    await shot(page, 'invite-form');
    await page.locator('input[name="loginMethod"][value="magic_link"]').check();
    // The session ends on the server (as when it expires or is revoked).
    await store.query(`delete from dashboard_sessions`);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/dashboard\/sign-in/);
    expect(new URL(page.url()).searchParams.get('next')).toBe(new URL(form).pathname);
    expect(await page.locator('[data-session-ended]').textContent()).toContain('Your session ended');
    await shot(page, 'session-ended');
    await page.getByLabel('Token').fill(acmeToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(form);
    expect(await page.getByLabel(/Personal message/).inputValue()).toBe('Welcome aboard, see you Monday');
    expect(await page.locator('input[name="loginMethod"][value="magic_link"]').isChecked()).toBe(true);
    // A GET page keeps its filters through the sign-in.
    await store.query(`delete from dashboard_sessions`);
    await page.goto(`${base}/dashboard/orgs/acme/users?q=muller&status=active`);
    await page.waitForURL(/\/dashboard\/sign-in/);
    await page.getByLabel('Token').fill(acmeToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/dashboard\/orgs\/acme\/users\?/);
    expect(new URL(page.url()).searchParams.get('q')).toBe('muller');
    expect(new URL(page.url()).searchParams.get('status')).toBe('active');
    await context.close();
  });

  it('a scheduled filter rollout shows the previewed count as "about N"; signed out meanwhile, its live page says so and shows no buttons', async () => {
    const { context, page, errors } = await newPage();
    await signIn(page);
    await page.goto(`${base}/dashboard/orgs/acme/users?status=active`);
    await page.locator('input[name="selection"][value="filter"]').check();
    await page.getByRole('button', { name: 'Invite…' }).click();
    await page.waitForURL(/\/invite\/[0-9a-f-]{36}$/);
    await page.getByLabel('Schedule for a date and time').check();
    await page.getByLabel('Time zone').selectOption('UTC');
    await page.getByLabel('Date and time', { exact: true }).fill(new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 19));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/preview$/);
    const n = (await page.locator('[data-preview-invite]').textContent())!;
    expect(Number(n)).toBeGreaterThan(0);
    await page.getByRole('button', { name: /^Schedule \d+ invitations?$/ }).click();
    await page.waitForURL(ROLLOUT_URL);
    expect(await page.locator('[data-about]').textContent()).toBe(`about ${n}`);
    await page.waitForTimeout(1_500); // a poll or two: the count stays
    expect(await page.locator('[data-about]').textContent()).toBe(`about ${n}`);
    const rolloutId = ROLLOUT_URL.exec(page.url())![1];
    const rolloutPage = page.url();
    await page.goto(`${base}/dashboard/orgs/acme/rollouts`);
    expect(await page.locator(`tr[data-rollout-id="${rolloutId}"]`).textContent()).toContain(`0 / about ${n}`);
    await page.goto(rolloutPage);
    expect(await page.locator('[data-action="cancel"]').isVisible()).toBe(true);
    await store.query(`delete from dashboard_sessions`);
    await page.locator('[data-signed-out]').waitFor({ timeout: 5_000 });
    expect(await page.locator('[data-signed-out]').textContent()).toContain('Signed out');
    expect(await page.locator('[data-action="cancel"]').isVisible()).toBe(false);
    expect(errors.filter((e) => !/401/.test(e))).toEqual([]);
    await context.close();
  });

  it('ticks are kept across pages, and the invitation goes to all of them', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${base}/dashboard/orgs/acme/users?limit=25`);
    await page.getByLabel('Select First7 Last7').check();
    await page.getByRole('link', { name: /Next page/ }).click();
    await page.getByLabel('Select First28 Last28').check();
    expect(await page.locator('[data-selected-count]').textContent()).toBe('2');
    await page.getByRole('link', { name: /Previous page/ }).click();
    expect(await page.getByLabel('Select First7 Last7').isChecked()).toBe(true);
    expect(await page.locator('[data-selected-count]').textContent()).toBe('2');
    await page.getByRole('button', { name: 'Invite…' }).click();
    await page.waitForURL(/\/invite\/[0-9a-f-]{36}$/);
    expect(await page.locator('[data-selection-summary]').textContent()).toBe('2 selected users');
    // Back to the list: still ticked. Once the invitation is confirmed, the ticks are done with.
    const form = page.url();
    await page.goBack();
    await page.waitForURL(/\/users/);
    expect(await page.locator('[data-selected-count]').textContent()).toBe('2');
    await page.goto(form);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/preview$/);
    await page.getByRole('button', { name: 'Send 2 invitations' }).click();
    await page.waitForURL(ROLLOUT_URL);
    await page.goto(`${base}/dashboard/orgs/acme/users?limit=25`);
    expect(await page.locator('[data-selected-count]').textContent()).toBe('0');
    expect(await page.getByLabel('Select First7 Last7').isChecked()).toBe(false);
    // Sorted by name, paged both ways.
    await page.goto(`${base}/dashboard/orgs/acme/users?limit=25`);
    await page.getByRole('link', { name: 'Name' }).click();
    await page.waitForURL(/sort=name/);
    const names = () => page.locator('#selection-form tbody tr td:nth-child(2) a').allTextContents();
    const first = await names();
    expect(first.slice(0, 3)).toEqual(['First10 Last10', 'First11 Last11', 'First12 Last12']);
    await page.getByRole('link', { name: /Next page/ }).click();
    // Read once the next page is there (a link's navigation may still be landing when click returns).
    await expect.poll(async () => (await names()).at(-1), { timeout: 10_000 }).toBe('Jürgen Müller');
    expect(await names()).toHaveLength(5);
    await page.getByRole('link', { name: /Previous page/ }).click();
    await expect.poll(() => names(), { timeout: 10_000 }).toEqual(first);
    await context.close();
  });

  it('the keyboard alone invites: tick, Invite…, method, Preview, confirm', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${base}/dashboard/orgs/acme/users?limit=100`);
    await page.getByLabel('Select First9 Last9').focus();
    await page.keyboard.press('Space');
    // Tab to the Invite… button.
    await page.getByRole('button', { name: 'Invite…' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/invite\/[0-9a-f-]{36}$/);
    await page.locator('input[name="loginMethod"]:checked').focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('input[name="loginMethod"][value="sso"]').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Preview' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/preview$/);
    const before = (await rollouts()).length;
    await page.keyboard.press('Tab');
    let guard = 0;
    while (!(await page.locator('[data-confirm-button]').evaluate((el) => (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement === el)) && guard++ < 60) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(ROLLOUT_URL);
    expect((await rollouts()).length).toBe(before + 1);
    await context.close();
  });
});

describe.skipIf(!CHROMIUM)('held and dry runs in a browser', () => {
  it('a dry run shows its rejections and whom it would deactivate', async () => {
    const rows = [
      ...Array.from({ length: 25 }, (_, k) => employee(k + 1, k === 0 ? { firstName: 'Jürgen', lastName: 'Müller' } : {})),
      employee(90, { email: 'not-an-address' }),
      employee(91, { email: 'person2@acme.example' }),
      employee(95, { status: 'inactive' }),
    ];
    const before = readFileSync(acmeExport, 'utf8');
    writeFileSync(acmeExport, toCsv(rows));
    const run = await ctx.sync.run({ connectorId: 'acme-hr', dryRun: true });
    writeFileSync(acmeExport, before);
    expect(run.status).toBe('succeeded');
    const { context, page, errors } = await newPage();
    await signIn(page);
    await page.goto(`${base}/dashboard/orgs/acme/runs/${run.id}`);
    const rejected = page.locator('section[aria-labelledby="rej-h"] tbody tr');
    expect(await rejected.count()).toBe(2);
    expect(await page.locator('section[aria-labelledby="rej-h"]').textContent()).toContain('E90');
    const would = page.locator('[data-dry-deactivations]');
    expect(await would.locator('h2').textContent()).toContain('(5)');
    expect(await would.locator('tbody tr').count()).toBe(5);
    expect(await would.textContent()).toContain('First26 Last26');
    expect(await page.locator('.page-head').textContent()).toContain('Dry run');
    // The skipped record (inactive in HR, never created): counted and shown.
    expect(await page.locator('[data-skipped-records] h2').textContent()).toContain('(1)');
    expect(await page.locator('[data-skipped-records] tbody').textContent()).toContain('E95');
    await shot(page, 'dry-run');
    // Nobody was deactivated.
    expect((await store.query(`select 1 from users where organization_id = 'acme' and status = 'deactivated'`)).length).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('"Sync now" on a held connector leads to the held run: its reason in words, its people searched, paged and exported (all of them)', async () => {
    const { context, page, errors } = await newPage();
    await signIn(page, adminToken);
    await page.goto(`${base}/dashboard/orgs/globex/connectors`);
    const queued = await store.query(`select id from sync_runs where status = 'queued'`);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.waitForURL(/\/dashboard\/orgs\/globex\/runs\/[0-9a-f-]{36}\?error=connector_held$/);
    expect((await store.query(`select id from sync_runs where status = 'queued'`)).length).toBe(queued.length);
    const runId = new URL(page.url()).pathname.split('/').pop()!;
    expect((await store.query<{ status: string }>(`select status from sync_runs where id = $1`, [runId]))[0]!.status).toBe('needs_approval');
    expect(await page.locator('[data-held-reason]').textContent()).toContain("83.3 % of this connector's users would be deactivated (250 of 300); the limit is 10 %.");
    expect(await page.getByRole('button', { name: 'Approve 250 deactivations' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Reject' }).count()).toBe(1);
    const rows = page.locator('section[aria-labelledby="deact-h"] tbody tr');
    expect(await rows.count()).toBe(100);
    expect(await page.locator('[data-deact-range]').textContent()).toBe('1–100 of 250 · page 1 of 3');
    await shot(page, 'held-run');
    await page.getByRole('link', { name: 'Next →' }).click();
    await expect.poll(() => page.locator('[data-deact-range]').textContent(), { timeout: 10_000 }).toBe('101–200 of 250 · page 2 of 3');
    // Search: by name, and by e-mail.
    await page.locator('#d-q').fill('Gina123');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=Gina123/);
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('g123@globex.example');
    // Export: every held user, not a page.
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.waitForURL((u) => !u.searchParams.get('q'));
    const href = await page.locator('[data-export]').getAttribute('href');
    const csv = await page.request.get(`${base}${href}`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('"name","employee_id","email","reason","status","applied_at"');
    expect(lines.length).toBe(251);
    expect(new Set(lines.slice(1).map((l) => l.split('","')[1])).size).toBe(250);
    // Reject: nobody deactivated, and the connector syncs again.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.waitForURL((u) => u.searchParams.get('notice') === 'run_rejected');
    expect((await store.query<{ status: string }>(`select status from sync_runs where id = $1`, [runId]))[0]!.status).toBe('rejected');
    expect((await store.query(`select 1 from users where organization_id = 'globex' and status = 'deactivated'`)).length).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe.skipIf(!CHROMIUM)('small screens and the queues', () => {
  it('at 390 px no page is wider than the viewport', async () => {
    const { context, page, errors } = await newPage(390);
    await page.goto(`${base}/dashboard/sign-in`);
    const pages = ['/dashboard/sign-in'];
    await signIn(page, adminToken);
    const run = (await store.query<{ id: string }>(`select id::text as id from sync_runs where organization_id = 'globex' order by started_at desc limit 1`))[0]!.id;
    const rollout = (await rollouts())[0]!;
    const user = (await store.query<{ id: string }>(`select id::text as id from users where organization_id = 'acme' order by seq limit 1`))[0]!.id;
    pages.push(
      '/dashboard', '/dashboard/orgs/acme/connectors', '/dashboard/orgs/acme/runs', `/dashboard/orgs/globex/runs/${run}`, '/dashboard/orgs/globex/connectors',
      '/dashboard/orgs/acme/users', `/dashboard/orgs/acme/users/${user}`, '/dashboard/orgs/acme/rollouts', `/dashboard/orgs/acme/rollouts/${rollout}`, '/dashboard/orgs/acme/rules',
    );
    const widths: Record<string, number> = {};
    const names: Record<string, string> = { '/dashboard/orgs/acme/connectors': 'connectors-390', '/dashboard/orgs/acme/users': 'users-390', [`/dashboard/orgs/globex/runs/${run}`]: 'held-run-390', [`/dashboard/orgs/acme/rollouts/${rollout}`]: 'rollout-390' };
    for (const url of pages.slice(1)) {
      await page.goto(`${base}${url}`);
      if (names[url]) await shot(page, names[url]);
      widths[url] = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    }
    // The invite form and its preview.
    await page.goto(`${base}/dashboard/orgs/acme/users?limit=25`);
    await page.getByLabel('Select First12 Last12').check();
    await page.getByRole('button', { name: 'Invite…' }).click();
    await page.waitForURL(/\/invite\/[0-9a-f-]{36}$/);
    widths['invite form'] = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/preview$/);
    await shot(page, 'invite-preview-390');
    widths['invite preview'] = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    expect(Object.entries(widths).filter(([, w]) => w > 390)).toEqual([]);
    expect(Object.keys(widths).length).toBe(12);
    expect(errors).toEqual([]);
    await context.close();
    const signedOut = await newPage(390);
    await signedOut.page.goto(`${base}/dashboard/sign-in`);
    expect(await signedOut.page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await signedOut.context.close();
  });

  it('Bull Board opens from the dashboard session, with no second sign-in, and links back', async () => {
    const { context, page } = await newPage();
    let prompted = false;
    page.on('dialog', () => { prompted = true; });
    await page.goto(`${base}/dashboard/queues/`);
    await page.waitForURL(/\/dashboard\/sign-in\?next=/);
    await page.getByLabel('Token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/dashboard\/queues/);
    const res = await page.request.get(`${base}/dashboard/queues/api/queues`);
    expect(res.status()).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('sync');
    await page.goto(`${base}/dashboard/orgs/acme/connectors`);
    await page.getByRole('link', { name: /Queues/ }).click();
    await page.waitForURL(/\/dashboard\/queues/);
    // The way back: in Bull Board's header menu (its miscLinks).
    const config = JSON.parse((await page.locator('#__UI_CONFIG__').textContent())!) as { miscLinks: Array<{ text: string; url: string }> };
    expect(config.miscLinks).toEqual([{ text: '← Back to the dashboard', url: '/dashboard' }]);
    await page.locator('ul[class*="actions"] > li').last().locator('button').click();
    await page.getByText('Back to the dashboard').click();
    await page.waitForURL((u) => u.pathname.startsWith('/dashboard') && !u.pathname.startsWith('/dashboard/queues'));
    expect(prompted).toBe(false);
    // An organization's session does not open it.
    const org = await newPage();
    await signIn(org.page);
    expect((await org.page.request.get(`${base}/dashboard/queues/api/queues`)).status()).toBe(404);
    await org.context.close();
    await context.close();
  });
});
