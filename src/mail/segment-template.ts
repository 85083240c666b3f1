/**
 * A string with `{{key}}` placeholders, split once into literals and keys so that filling it
 * per recipient is a single pass of concatenation: no regex, no re-parsing, and a value
 * that itself contains `{{…}}` is never substituted again.
 */
export interface SegmentTemplate<K extends string = string> {
  /** literals.length === keys.length + 1; the result is literals[0] + v(keys[0]) + literals[1] + … */
  readonly literals: readonly string[];
  readonly keys: readonly K[];
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

export function parseSegmentTemplate<K extends string>(source: string, allowedKeys: readonly K[]): SegmentTemplate<K> {
  const allowed = new Set<string>(allowedKeys);
  const literals: string[] = [];
  const keys: K[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const key = m[1]!;
    if (!allowed.has(key)) {
      throw new Error(`unknown placeholder {{${key}}} in template (known: ${allowedKeys.join(', ')})`);
    }
    literals.push(source.slice(last, m.index));
    keys.push(key as K);
    last = m.index! + m[0].length;
  }
  literals.push(source.slice(last));
  return Object.freeze({ literals: Object.freeze(literals), keys: Object.freeze(keys) });
}

/** Values must already be escaped for the target (HTML, plain text, header). */
export function fillSegmentTemplate<K extends string>(tpl: SegmentTemplate<K>, values: Readonly<Record<K, string>>): string {
  const { literals, keys } = tpl;
  let out = literals[0]!;
  for (let i = 0; i < keys.length; i++) {
    out += values[keys[i]!] + literals[i + 1]!;
  }
  return out;
}

/** Replace `[[name]]` compile-time slots; every slot in the source must have a value. */
export function fillCompileTimeSlots(source: string, slots: Readonly<Record<string, string>>): string {
  return source.replace(/\[\[\s*([A-Za-z][A-Za-z0-9_]*)\s*\]\]/g, (_m, name: string) => {
    const v = slots[name];
    if (v === undefined) throw new Error(`no value for compile-time slot [[${name}]]`);
    return v;
  });
}

/** Keep or drop blocks written as `<!-- #if name --> … <!-- #endif name -->`. */
export function applyConditionalBlocks(source: string, flags: Readonly<Record<string, boolean>>): string {
  const out = source.replace(
    /<!--\s*#if\s+([A-Za-z][A-Za-z0-9_]*)\s*-->([\s\S]*?)<!--\s*#endif\s+\1\s*-->/g,
    (_m, name: string, body: string) => {
      if (!(name in flags)) throw new Error(`no value for conditional block "${name}"`);
      return flags[name] ? body : '';
    },
  );
  if (/<!--\s*#(?:if|endif)\b/.test(out)) throw new Error('unbalanced #if / #endif block in template');
  return out;
}
