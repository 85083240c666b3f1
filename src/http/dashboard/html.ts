import { escapeHtml } from '../../lib/html-escape.js';

/**
 * Server-rendered HTML that cannot forget to escape: every value interpolated into an
 * `html` template is escaped unless it is itself `SafeHtml` (another template, or `raw()`
 * for the few constant strings that must not be). Arrays render their items in order;
 * null, undefined and false render nothing.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];


function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** A constant string known to be safe markup. Never pass user data. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** `/dashboard/orgs/acme/users` from segments, each percent-encoded; an object appends a query string without empty values. */
export function path(segments: ReadonlyArray<string>, query?: Record<string, string | number | boolean | null | undefined | readonly string[]>): string {
  let p = '/dashboard' + segments.map((s) => `/${encodeURIComponent(s)}`).join('');
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === null || v === undefined || v === '' || v === false) continue;
      if (Array.isArray(v)) for (const x of v) qs.append(k, x);
      else qs.set(k, String(v));
    }
    const s = qs.toString();
    if (s) p += `?${s}`;
  }
  return p;
}
