import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleMoment } from '../../src/domain/rule-plan.js';
import { addDays, localDate } from '../../src/domain/zoned-time.js';
import { runCli } from '../support/cli.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { createTestStore, employee, tempDir, toCsv, type TestStore } from '../support/store.js';

/** `hrsync rules create|preview|enable|list`, with the location time zone from the config file. */
let store: TestStore;
let env: Record<string, string>;
let dir: string;
let rows: ReturnType<typeof employee>[];
const prefix = testPrefix();
const start = addDays(localDate(new Date(), 'UTC'), 30);

beforeAll(async () => {
  store = await createTestStore();
  dir = tempDir('hrsync-cli-rules-');
  rows = [
    employee(1, { location: 'New York', startDate: start, managerId: '' }),
    employee(2, { location: 'New York', startDate: '2019-05-01', managerId: '' }),
    employee(3, { location: 'Berlin', startDate: start, managerId: '' }),
  ];
  writeFileSync(join(dir, 'acme.csv'), toCsv(rows));
  writeFileSync(join(dir, 'hrsync.config.yaml'), stringify({
    organizations: [{ id: 'acme', name: 'Acme', timezone: 'Europe/Berlin', locations: [{ name: 'New York', timeZone: 'America/New_York' }], connectors: [{ id: 'acme-file', type: 'file', options: { path: './acme.csv' } }] }],
  }));
  env = { DATABASE_URL: store.url, HRSYNC_CONFIG: join(dir, 'hrsync.config.yaml'), REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix };
  expect((await runCli(['sync', 'acme-file', '--json'], env)).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
});

describe('hrsync rules', () => {
  it('creates a rule switched off, previews it in each person\'s zone, enables it, lists it', async () => {
    const created = await runCli(['rules', 'create', '--name', 'NY joiners', '--filter', 'location=New York', '--days-before', '2', '--at', '08:30', '--login-method', 'sso', '--json'], env);
    expect(created.code).toBe(0);
    const rule = JSON.parse(created.stdout);
    expect(rule).toMatchObject({ enabled: false, daysBefore: 2, localTime: '08:30', createdBy: 'cli' });
    const preview = await runCli(['rules', 'preview', rule.id, '--json'], env);
    expect(JSON.parse(preview.stdout)).toEqual([
      expect.objectContaining({ firstName: 'First1', timeZone: 'America/New_York', at: ruleMoment({ daysBefore: 2, localTime: '08:30' }, start, 'America/New_York').toISOString() }),
    ]);
    // an unsaved rule: Berlin has no zone of its own, so the organization's (Europe/Berlin)
    const unsaved = await runCli(['rules', 'preview', '--filter', 'location=Berlin', '--days-before', '1', '--json'], env);
    expect(JSON.parse(unsaved.stdout).map((p: { at: string }) => p.at)).toEqual([ruleMoment({ daysBefore: 1, localTime: '09:00' }, start, 'Europe/Berlin').toISOString()]);
    expect((await runCli(['rules', 'enable', rule.id], env)).stdout).toMatch(/ on +NY joiners: location=New York, 2 d before start at 08:30 local, sso; 1 planned/);
    const list = JSON.parse((await runCli(['rules', 'list', '--json'], env)).stdout);
    expect(list).toEqual([expect.objectContaining({ id: rule.id, enabled: true, planned: 1 })]);
    // a joiner arriving with a CLI sync is planned by the same command
    writeFileSync(join(dir, 'acme.csv'), toCsv([...rows, employee(4, { location: 'New York', startDate: start, managerId: '' })]));
    expect((await runCli(['sync', 'acme-file'], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['rules', 'list', '--json'], env)).stdout)).toEqual([expect.objectContaining({ id: rule.id, planned: 2 })]);
    const bad = await runCli(['rules', 'create', '--name', 'x', '--days-before', '2', '--at', '9am'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/localTime/);
  }, 90_000);
});
