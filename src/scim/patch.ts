import { z } from 'zod';
import { PATCH_SCHEMA } from './discovery.js';
import { ScimError, invalidSyntax, invalidValue, type ScimType } from './scim-error.js';

/**
 * A PatchOp body (RFC 7644 §3.5.2) as Entra ID and Okta send it: `op` in any case ("Replace",
 * "add"), `path` optional (a replace without one carries an object of attributes), booleans
 * sometimes as strings ("False"). Returned normalized, for scim-patch (users) or the group
 * service (members).
 */
export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path?: string;
  value?: unknown;
}

const opSchema = z
  .object({
    op: z.string().transform((s) => s.toLowerCase()).pipe(z.enum(['add', 'remove', 'replace'])),
    path: z.string().min(1).max(500).optional(),
    value: z.unknown().optional(),
  })
  .passthrough();

const bodySchema = z
  .object({
    schemas: z.array(z.string()).optional(),
    Operations: z.array(opSchema).min(1).max(1000),
  })
  .passthrough();

/** `"True"`/`"False"` (Entra) → booleans, for `active` wherever it appears. */
function booleans(path: string | undefined, value: unknown): unknown {
  const fix = (v: unknown) => (typeof v === 'string' && /^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : v);
  if (path && path.toLowerCase() === 'active') return fix(value);
  if (!path && value && typeof value === 'object' && !Array.isArray(value)) {
    const o = { ...(value as Record<string, unknown>) };
    for (const k of Object.keys(o)) if (k.toLowerCase() === 'active') o[k] = fix(o[k]);
    return o;
  }
  return value;
}

export function patchOperations(body: unknown): PatchOp[] {
  const r = bodySchema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0];
    throw invalidSyntax(`${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
  }
  if (r.data.schemas && !r.data.schemas.includes(PATCH_SCHEMA)) throw invalidSyntax(`schemas: a PATCH body is a ${PATCH_SCHEMA}`);
  return r.data.Operations.map((o) => {
    if (o.op !== 'remove' && o.value === undefined) throw invalidValue(`${o.op}${o.path ? ` ${o.path.slice(0, 100)}` : ''}: value is required`);
    if (!o.path && o.op === 'remove') throw new ScimError(400, 'remove: path is required', 'noTarget');
    if (!o.path && (o.value === null || typeof o.value !== 'object' || Array.isArray(o.value))) throw invalidValue(`${o.op} without a path: value must be an object of attributes`);
    return { op: o.op, ...(o.path ? { path: o.path } : {}), value: booleans(o.path, o.value) } as PatchOp;
  });
}

const KNOWN: ScimType[] = ['invalidFilter', 'invalidPath', 'noTarget', 'invalidValue', 'invalidSyntax', 'mutability'];

/** scim-patch's errors (InvalidScimPatchOp, NoTarget …) as a SCIM 400 with their scimType. */
export function scimPatchError(err: unknown): ScimError {
  const e = err as { scimCode?: string; message?: string; name?: string };
  const type = KNOWN.find((k) => k === e?.scimCode) ?? (/target/i.test(e?.name ?? '') ? 'noTarget' : 'invalidPath');
  return new ScimError(400, `the patch cannot be applied: ${String(e?.message ?? err).slice(0, 200)}`, type);
}
