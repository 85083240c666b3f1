import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumForTests } from '../support/chromium.js';
import { startHttpService, type HttpService } from '../support/http.js';

/**
 * Clickjacking, in a real browser: a page of another origin (another port of 127.0.0.1)
 * frames Bull Board (the browser signed in to it with the admin token, as an admin's
 * would be) and the dashboard; Chromium refuses to show either (CSP frame-ancestors
 * 'none', X-Frame-Options DENY), while a frameable page of the same test shows.
 * Skipped without Chromium, like test/e2e (test/support/chromium.ts).
 */
const CHROMIUM = chromiumForTests();
let h: HttpService;
let browser: Browser;
let attacker: Server;
let appBase: string;
let attackerBase: string;

beforeAll(async () => {
  if (!CHROMIUM) return;
  h = await startHttpService({ workers: false });
  appBase = await h.app.listen({ port: 0, host: '127.0.0.1' });
  attacker = createServer((req, res) => {
    if (req.url === '/innocent') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<p id="innocent">frameable</p>');
    const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '/';
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>win a prize</title>
<iframe id="victim" src="${appBase}${target}" width="800" height="600"></iframe>
<iframe id="control" src="/innocent"></iframe>`);
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerBase = `http://127.0.0.1:${(attacker.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (attacker ? attacker.close(r) : r(null)));
  await h?.close();
});

describe.skipIf(!CHROMIUM)('framing by another site', () => {
  it.each(['/admin/queues', '/admin/queues/queue/sync', '/dashboard/sign-in'])('does not show %s inside another origin\'s frame', async (target) => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: h.adminToken } });
    try {
      const page = await context.newPage();
      // the browser can open it directly (so what the frame misses is the framing, not the credentials)
      const direct = await page.goto(`${appBase}${target}`);
      expect(direct!.status()).toBe(200);
      const refused = page.waitForEvent('console', { predicate: (m) => /frame-ancestors|X-Frame-Options|Refused to (display|frame)/i.test(m.text()), timeout: 10_000 });
      await page.goto(`${attackerBase}/?target=${encodeURIComponent(target)}`);
      await page.frameLocator('#control').locator('#innocent').waitFor({ timeout: 10_000 });
      expect((await refused).text()).toMatch(/frame-ancestors 'none'|X-Frame-Options/);
      const victim = page.frames().find((f) => f !== page.mainFrame() && !f.url().endsWith('/innocent'))!;
      expect(victim.url()).not.toBe(`${appBase}${target}`);
      expect(await victim.locator('body').innerText({ timeout: 5_000 }).catch(() => '')).not.toMatch(/hrsync|Sign in|queues/i);
    } finally {
      await context.close();
    }
  });
});
