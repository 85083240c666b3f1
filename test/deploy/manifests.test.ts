import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/lib/paths.js';
import { renderKustomization, type K8sObject } from '../support/kustomize.js';

/**
 * deploy/: every kustomization renders, and every object in the render validates against
 * the Kubernetes API schemas (kubernetes-models, generated from the Kubernetes OpenAPI
 * spec); then what the schemas cannot see — references between the objects — is checked.
 */
const DEPLOY = join(packageRoot(), 'deploy');
const kustomizations = ['base', ...readdirSync(join(DEPLOY, 'overlays')).map((o) => `overlays/${o}`)];

async function validate(o: K8sObject): Promise<void> {
  const mod = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[o.kind] ?? mod.default;
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}

type Container = { name: string; image: string; args?: string[]; ports?: Array<{ name?: string; containerPort: number }>; envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>; livenessProbe?: Probe; readinessProbe?: Probe; startupProbe?: Probe; resources?: { requests?: Record<string, string> } };
type Probe = { httpGet?: { path: string; port: string | number } };
type PodSpec = { containers: Container[]; volumes?: Array<{ configMap?: { name: string } }> };
const podSpec = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;
const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);

/** kubectl's own kustomize, where kubectl is installed: the renderer above must agree with it. */
function kubectlKustomize(dir: string): unknown[] | null {
  try {
    return parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })).map((d) => d.toJS());
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw err;
  }
}
const hasKubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();

describe.each(kustomizations)('deploy/%s', (dir) => {
  const objects = renderKustomization(join(DEPLOY, dir));

  it.skipIf(!hasKubectl)('renders exactly what `kubectl kustomize` renders', () => {
    const key = (o: unknown) => `${(o as K8sObject).kind}/${(o as K8sObject).metadata.name}`;
    const real = kubectlKustomize(join(DEPLOY, dir))!;
    expect(new Map(objects.map((o) => [key(o), JSON.parse(JSON.stringify(o))]))).toStrictEqual(new Map(real.map((o) => [key(o), o])));
  });

  it('renders the three roles, the migration job and the worker autoscaler', () => {
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining(['Deployment/hrsync-api', 'Deployment/hrsync-worker', 'Deployment/hrsync-scheduler', 'Job/hrsync-migrate', 'HorizontalPodAutoscaler/hrsync-worker', 'Service/hrsync-api']));
    expect(new Set(names).size).toBe(names.length);
  });

  it('has only objects that validate against the Kubernetes schemas', async () => {
    for (const o of objects) await expect(validate(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
  });

  it('runs each role with its command, resource requests and probes on /healthz and /readyz of a declared port', () => {
    for (const d of byKind(objects, 'Deployment')) {
      const role = d.metadata.name.replace('hrsync-', '');
      for (const c of podSpec(d).containers) {
        expect(c.args).toEqual(['start', '--role', role]);
        expect(c.resources?.requests?.cpu, d.metadata.name).toBeTruthy();
        expect(c.resources?.requests?.memory, d.metadata.name).toBeTruthy();
        expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
        expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
        for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
          if (p?.httpGet) expect(c.ports?.some((port) => port.name === p.httpGet!.port || port.containerPort === p.httpGet!.port), `${d.metadata.name}: probe port ${p.httpGet.port}`).toBe(true);
        }
      }
    }
    expect(podSpec(byKind(objects, 'Job').find((j) => j.metadata.name === 'hrsync-migrate')!).containers[0].args).toEqual(['migrate']);
  });

  it('takes secrets from a Secret and settings from ConfigMaps that the render contains', () => {
    const configMaps = new Set(byKind(objects, 'ConfigMap').map((c) => c.metadata.name));
    for (const o of [...byKind(objects, 'Deployment'), ...byKind(objects, 'Job')]) {
      const spec = podSpec(o);
      for (const c of spec.containers) {
        expect(c.envFrom?.some((e) => e.secretRef?.name === 'hrsync-secrets'), o.metadata.name).toBe(true);
        for (const e of c.envFrom ?? []) if (e.configMapRef) expect(configMaps, `${o.metadata.name}: ${e.configMapRef.name}`).toContain(e.configMapRef.name);
      }
      for (const v of spec.volumes ?? []) if (v.configMap) expect(configMaps).toContain(v.configMap.name);
    }
    expect(JSON.stringify(byKind(objects, 'ConfigMap'))).not.toMatch(/DATABASE_URL|REDIS_URL|HRSYNC_ADMIN_TOKEN|SMTP_URL/);
  });

  it('selects pods the way the Deployments label them, and scales the worker Deployment on queue depth', () => {
    const templateLabels = (name: string) => (byKind(objects, 'Deployment').find((d) => d.metadata.name === name)!.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    for (const d of byKind(objects, 'Deployment')) {
      const selector = (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(templateLabels(d.metadata.name)).toMatchObject(selector);
    }
    for (const s of byKind(objects, 'Service')) {
      const selected = byKind(objects, 'Deployment').filter((d) => Object.entries((s.spec as { selector: Record<string, string> }).selector).every(([k, v]) => templateLabels(d.metadata.name)[k] === v));
      expect(selected.map((d) => d.metadata.name)).toEqual(['hrsync-api']);
    }
    const hpa = byKind(objects, 'HorizontalPodAutoscaler')[0].spec as { scaleTargetRef: { kind: string; name: string }; metrics: Array<{ type: string; external?: { metric: { name: string } } }> };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'hrsync-worker' });
    expect(hpa.metrics.map((m) => m.external?.metric.name)).toContain('hrsync_queue_jobs');
  });
});

describe('the schema check', () => {
  it('refuses an object Kubernetes would refuse', async () => {
    const deployment = renderKustomization(join(DEPLOY, 'base')).find((o) => o.kind === 'Deployment')!;
    const broken = structuredClone(deployment);
    podSpec(broken).containers[0].ports = [{ name: 'http', containerPort: 'three thousand' as unknown as number }];
    await expect(validate(broken)).rejects.toThrow(/containerPort must be integer/);
    const noSelector = structuredClone(deployment);
    delete (noSelector.spec as { selector?: unknown }).selector;
    await expect(validate(noSelector)).rejects.toThrow(/selector/);
  });
});
