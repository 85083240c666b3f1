import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/auth/tokens.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runCli } from '../support/cli.js';
import { auditSecrets } from '../support/log-audit.js';
import { createTestStore, employees, tempDir, toCsv, type TestStore } from '../support/store.js';
import { loadConfig } from '../../src/config/load.js';

/** The CLI side of issue 18: SCIM-scoped tokens, and webhook figures in `connectors check`. */
let store: TestStore;
let env: Record<string, string>;
let ctx: AppContext;

beforeAll(async () => {
  store = await createTestStore();
  const dir = tempDir('hrsync-cli-scim-');
  writeFileSync(join(dir, 'employees.csv'), toCsv(employees(3)));
  writeFileSync(join(dir, 'hrsync.config.yaml'), stringify({
    organizations: [{ id: 'acme', name: 'Acme', connectors: [
      { id: 'acme-file', type: 'file', options: { path: './employees.csv' }, webhook: { secret: '${HOOK_SECRET}' } },
      { id: 'acme-scim', type: 'scim' },
    ] }],
  }));
  env = { DATABASE_URL: store.url, HRSYNC_CONFIG: join(dir, 'hrsync.config.yaml'), HOOK_SECRET: 'a-secret-for-the-cli-test' };
  auditSecrets(env.HOOK_SECRET);
  ctx = await createContext({ config: loadConfig({ ...env, LOG_LEVEL: 'silent' }, dir), log: silentLogger });
});
afterAll(async () => {
  await ctx?.close();
  await store?.drop();
});

describe('hrsync tokens create --scope', () => {
  it('a scim token opens /scim/v2 and not /api; the default token the reverse', async () => {
    const scim = await runCli(['tokens', 'create', '--org', 'acme', '--name', 'entra', '--scope', 'scim'], env);
    expect(scim.code).toBe(0);
    const token = scim.stdout.trim().split('\n').pop()!;
    auditSecrets(token);
    const api = await runCli(['tokens', 'create', '--org', 'acme'], env);
    const apiToken = api.stdout.trim().split('\n').pop()!;
    auditSecrets(apiToken);
    const forScim = new TokenVerifier(ctx.em, null, 0, 'scim');
    const forApi = new TokenVerifier(ctx.em, null, 0, 'api');
    expect(await forScim.verify(token)).toMatchObject({ kind: 'organization', organizationId: 'acme' });
    expect(await forApi.verify(token)).toBeNull();
    expect(await forApi.verify(apiToken)).toMatchObject({ kind: 'organization', organizationId: 'acme' });
    expect(await forScim.verify(apiToken)).toBeNull();
    const bad = await runCli(['tokens', 'create', '--org', 'acme', '--scope', 'everything'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/scope/);
  });
});

describe('hrsync connectors check', () => {
  it('shows whether webhooks arrive: last event, accepted, rejected signatures', async () => {
    await store.query(`insert into webhook_stats (connector_id, last_event_at, accepted, rejected, last_rejected_at) values ('acme-file', now(), 12, 3, now())`);
    const r = await runCli(['connectors', 'check', 'acme-file', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'file', webhooks: { connectorId: 'acme-file', accepted: 12, rejected: 3 } });
    const text = await runCli(['connectors', 'check', 'acme-file'], env);
    expect(text.stdout).toMatch(/webhooks: last event \S+, 12 accepted, 3 rejected signatures/);
  });
});
