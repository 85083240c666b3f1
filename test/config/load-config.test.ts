import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { isAppError } from '../../src/lib/errors.js';
import { tempDir } from '../support/store.js';

function withFile(yaml: string, env: Record<string, string> = {}) {
  const dir = tempDir('hrsync-cfg-');
  writeFileSync(join(dir, 'hrsync.config.yaml'), yaml);
  return () => loadConfig({ ...env }, dir);
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (isAppError(err) && Array.isArray(err.details)) return err.details as string[];
    throw err;
  }
  throw new Error('expected a config error');
}

describe('loadConfig', () => {
  it('runs on the built-in demo when there is no config file', () => {
    const config = loadConfig({}, tempDir());
    expect(config.source).toBe('built-in demo');
    expect(config.organizations[0]).toMatchObject({ id: 'demo', connectors: [{ id: 'demo-file', type: 'file' }] });
    expect(config.organizations[0].connectors[0].options.path).toMatch(/fixtures\/demo\/employees\.csv$/);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/hrsync');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(Object.isFrozen(config) && Object.isFrozen(config.organizations[0])).toBe(true);
  });

  it('reports every problem at once, each with its path', () => {
    const load = withFile(`
organizations:
  - id: acme
    name: Acme
    connectors:
      - id: acme-file
        type: file
        options: {}
      - id: acme-file
        type: file
        options: { path: ./x.txt }
      - id: acme-odd
        type: workday
  - id: "bad id!"
    name: ""
    connectors: []
`);
    expect(problems(load)).toEqual(expect.arrayContaining([
      'organizations[0].connectors[0].options.path: required',
      expect.stringMatching(/^organizations\[0\]\.connectors\[1\]\.id: connector id "acme-file" is already used/),
      expect.stringMatching(/^organizations\[0\]\.connectors\[1\]\.options\.path: must end in \.csv or \.json/),
      expect.stringMatching(/^organizations\[0\]\.connectors\[2\]\.type: unknown connector type "workday"/),
      expect.stringMatching(/^organizations\[1\]\.id: must be/),
      expect.stringMatching(/^organizations\[1\]\.name: /),
    ]));
  });

  it('interpolates ${ENV} references and reports unset ones with their path', () => {
    const yaml = `
organizations:
  - id: acme
    name: \${ORG_NAME}
    connectors:
      - id: acme-file
        type: file
        options: { path: "\${EXPORT_DIR}/employees.csv" }
`;
    const ok = withFile(yaml, { ORG_NAME: 'Acme GmbH', EXPORT_DIR: '/data' })();
    expect(ok.organizations[0].name).toBe('Acme GmbH');
    expect(ok.organizations[0].connectors[0].options.path).toBe('/data/employees.csv');
    expect(problems(withFile(yaml, { ORG_NAME: 'x' }))).toContain('organizations[0].connectors[0].options.path: environment variable EXPORT_DIR is not set');
  });

  it('resolves a relative export path against the config file, and validates deactivation limits', () => {
    const dirLoad = withFile(`
organizations:
  - id: acme
    name: Acme
    connectors:
      - id: f
        type: file
        options: { path: exports/e.csv }
        deactivation: { maxPercent: 150 }
`);
    expect(problems(dirLoad)).toEqual([expect.stringMatching(/^organizations\[0\]\.connectors\[0\]\.deactivation\.maxPercent: /)]);
  });

  it('says which file is missing when HRSYNC_CONFIG points nowhere, and which YAML is broken', () => {
    expect(() => loadConfig({ HRSYNC_CONFIG: '/nonexistent/hrsync.yaml' })).toThrow(/does not exist/);
    expect(withFile('organizations: [')).toThrow(/not valid YAML/);
  });
  it('loads 1,000 organizations that share one mapping through a YAML anchor (found by bench/scale.bench.ts)', () => {
    const mapping = { location: 'office', group: { from: 'department', mode: 'on_create' } };
    const organizations = Array.from({ length: 1_000 }, (_, k) => ({
      id: `org-${k}`, name: `Org ${k}`, connectors: [{ id: `org-${k}-hr`, type: 'file', options: { path: `./exports/${k}.csv` }, mapping }],
    }));
    const yaml = stringify({ organizations }); // a YAML library writes the shared mapping once, as an anchor, and 999 aliases
    expect(yaml.match(/\*a1\b/g)).toHaveLength(999);
    const config = withFile(yaml)();
    expect(config.organizations).toHaveLength(1_000);
    expect(config.organizations[999].connectors[0].mapping).toEqual({ location: 'office', group: { from: 'department', mode: 'on_create' } });
  });

  it('still refuses an alias bomb', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let k = 1; k < 9; k++) levels.push(`${String.fromCharCode(97 + k)}: &${String.fromCharCode(97 + k)} [${Array(9).fill(`*${String.fromCharCode(96 + k)}`).join(',')}]`);
    expect(() => withFile(`${levels.join('\n')}\norganizations: []\n`)()).toThrow(/not valid YAML: Excessive alias count/);
  });
});
