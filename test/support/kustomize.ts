import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

/**
 * The part of kustomize that deploy/ uses, to render it in the test suite where no kustomize
 * binary is installed: `resources` (files and directories), `patches` (strategic merge by
 * kind and name; lists of named items merge by name), `labels` (with includeSelectors),
 * `images`, `replicas` and `namespace`. Any other kustomization field is refused, so a
 * manifest never relies on something this renderer silently ignores. Where kubectl is
 * installed, test/deploy compares this render with `kubectl kustomize`'s.
 */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'patches', 'labels', 'images', 'replicas', 'namespace']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass']);
const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);

interface Kustomization {
  resources?: string[];
  patches?: Array<{ path: string }>;
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  replicas?: Array<{ name: string; count: number }>;
  namespace?: string;
}

function readYaml(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${path}: ${d.errors[0].message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Strategic merge, as kustomize does it for the fields used here. */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObject(base) && isObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = v === null ? undefined : k in base ? strategicMerge(base[k], v) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((p) => isObject(p) && typeof p.name === 'string')) {
    const out = base.map((b) => {
      const p = patch.find((x) => isObject(b) && (x as { name: string }).name === b.name);
      return p ? strategicMerge(b, p) : b;
    });
    for (const p of patch) if (!base.some((b) => isObject(b) && b.name === (p as { name: string }).name)) out.push(p);
    return out;
  }
  return patch;
}

function podSpecs(o: K8sObject): Array<Record<string, unknown>> {
  if (!POD_TEMPLATE_KINDS.has(o.kind)) return [];
  const spec = (o.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  return spec ? [spec] : [];
}

export function renderKustomization(dir: string): K8sObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization & Record<string, unknown>;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) throw new Error(`${dir}/kustomization.yaml: ${unsupported.join(', ')} not supported by this renderer`);
  let objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readYaml(path)));
  }
  for (const { path } of k.patches ?? []) {
    for (const patch of readYaml(join(dir, path))) {
      const i = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (i < 0) throw new Error(`${dir}/${path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      objects[i] = strategicMerge(objects[i], patch) as K8sObject;
    }
  }
  for (const { pairs, includeSelectors } of k.labels ?? []) {
    objects = objects.map((o) => {
      const c = structuredClone(o);
      c.metadata.labels = { ...c.metadata.labels, ...pairs };
      if (includeSelectors) {
        const spec = c.spec as { selector?: Record<string, unknown> & { matchLabels?: Record<string, string> }; template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
        if (c.kind === 'Service' && spec) spec.selector = { ...spec.selector, ...pairs };
        if (POD_TEMPLATE_KINDS.has(c.kind) && spec) {
          if (c.kind !== 'Job') spec.selector = { ...spec.selector, matchLabels: { ...spec.selector?.matchLabels, ...pairs } };
          spec.template = { ...spec.template, metadata: { ...spec.template?.metadata, labels: { ...spec.template?.metadata?.labels, ...pairs } } };
        }
      }
      return c;
    });
  }
  for (const image of k.images ?? []) {
    for (const o of objects) {
      for (const spec of podSpecs(o)) {
        for (const c of [...((spec.initContainers as Array<{ image: string }>) ?? []), ...((spec.containers as Array<{ image: string }>) ?? [])]) {
          const [name, tag] = c.image.split(':');
          if (name === image.name) c.image = `${image.newName ?? name}:${image.newTag ?? tag ?? 'latest'}`;
        }
      }
    }
  }
  for (const { name, count } of k.replicas ?? []) {
    const target = objects.find((o) => o.metadata.name === name && POD_TEMPLATE_KINDS.has(o.kind));
    if (!target) throw new Error(`${dir}: replicas for ${name}, which is not in the render`);
    (target.spec as { replicas?: number }).replicas = count;
  }
  if (k.namespace) for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  return objects;
}

