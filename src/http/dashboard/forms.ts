/** application/x-www-form-urlencoded bodies as the dashboard's forms post them. */
export type Form = Record<string, string[]>;

export function parseForm(body: string): Form {
  const out: Form = Object.create(null) as Form;
  for (const [k, v] of new URLSearchParams(body)) {
    if (k === '__proto__' || v.includes('\u0000')) continue;
    (out[k] ??= []).push(v);
  }
  return out;
}

/** One value (the first), trimmed unless told otherwise; undefined when absent or empty. */
export function field(form: Form | undefined, name: string, opts: { trim?: boolean } = {}): string | undefined {
  const v = form?.[name]?.[0];
  if (v === undefined) return undefined;
  const t = opts.trim === false ? v : v.trim();
  return t === '' ? undefined : t;
}

export function fields(form: Form | undefined, name: string): string[] {
  return (form?.[name] ?? []).map((v) => v.trim()).filter(Boolean);
}

/** The body as a form, only when parseForm made it (a JSON body, say, is no form: it reads as empty). */
export function asForm(body: unknown): Form {
  return body && typeof body === 'object' && Object.getPrototypeOf(body) === null ? (body as Form) : (Object.create(null) as Form);
}
