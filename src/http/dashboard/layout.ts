import { ICON_SVG } from './assets/icon.js';
import { html, path, raw, type HtmlValue, type SafeHtml } from './html.js';
import type { DashboardPrincipal } from './session.js';
import { formatUtc } from './time.js';

export interface Org {
  id: string;
  name: string;
}

export type Section = 'orgs' | 'connectors' | 'runs' | 'users' | 'rollouts' | 'rules';

/** What every signed-in page knows about its request. */
export interface PageContext {
  principal: DashboardPrincipal;
  csrf: string;
  /** The organization the page is about (null on the admin's organization list). */
  org: Org | null;
  /** Organizations the principal may switch to (the admin: all). */
  orgs: readonly Org[];
  assets: { css: string; js: string; icon: string };
  /** needs_approval runs of the current organization, for the nav. */
  held?: number;
}

const NAV: Array<{ section: Exclude<Section, 'orgs'>; label: string }> = [
  { section: 'connectors', label: 'Connectors' },
  { section: 'runs', label: 'Sync runs' },
  { section: 'users', label: 'Users' },
  { section: 'rollouts', label: 'Rollouts' },
  { section: 'rules', label: 'Rules' },
];

export function csrfField(ctx: { csrf: string }): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`;
}

function head(title: string, assets: PageContext['assets']): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · hrsync</title>
<link rel="icon" href="${assets.icon}" type="image/svg+xml">
<link rel="stylesheet" href="${assets.css}">
<script src="${assets.js}" defer></script>
</head>`;
}

export function orgPath(org: Org | string, ...rest: string[]): string {
  return path(['orgs', typeof org === 'string' ? org : org.id, ...rest]);
}

/** A signed-in page: the top bar (brand, sections, organization switch, sign-out) and the content. */
export function layout(ctx: PageContext, opts: { title: string; section: Section; body: HtmlValue; notice?: Notice | null }): string {
  const { org, principal } = ctx;
  const nav = org
    ? NAV.map((n) => html`<a href="${orgPath(org, n.section)}"${opts.section === n.section ? raw(' aria-current="page"') : ''}>${n.label}${n.section === 'runs' && ctx.held ? html`<span class="count" title="runs waiting for approval"><span class="sr-only">, waiting for approval: </span>${ctx.held}</span>` : ''}</a>`)
    : [];
  const switcher = principal.kind === 'admin' && ctx.orgs.length > 0
    ? html`<form method="get" action="${path(['switch'])}" class="org-switch">
        <label for="org-switch" class="sr-only">Organization</label>
        <select id="org-switch" name="org">${ctx.orgs.map((o) => html`<option value="${o.id}"${org?.id === o.id ? raw(' selected') : ''}>${o.name}</option>`)}</select>
        <input type="hidden" name="section" value="${opts.section === 'orgs' ? 'connectors' : opts.section}">
        <button class="btn-ghost-dark" type="submit">Switch</button>
      </form>`
    : '';
  const who = principal.kind === 'admin' ? html`<span class="principal-badge" title="Signed in with the admin token">Admin</span>` : html`<span class="principal">${org?.name ?? principal.organizationId} token</span>`;
  return html`${head(opts.title, ctx.assets)}
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
  <div class="topbar-inner">
    <a class="brand" href="${principal.kind === 'admin' ? path([]) : org ? orgPath(org, 'connectors') : path([])}">${raw(ICON_SVG)}<span>hrsync</span></a>
    <nav class="nav" aria-label="Sections">
      ${principal.kind === 'admin' ? html`<a href="${path([])}"${opts.section === 'orgs' ? raw(' aria-current="page"') : ''}>Organizations</a>` : ''}
      ${nav}
      ${principal.kind === 'admin' ? html`<a href="/dashboard/queues/" title="Bull Board: the job queues">Queues<span class="sr-only"> (Bull Board)</span></a>` : ''}
    </nav>
    <div class="who">
      ${switcher}
      ${who}
      <form method="post" action="${path(['sign-out'])}">${csrfField(ctx)}<button class="btn-ghost-dark" type="submit">Sign out</button></form>
    </div>
  </div>
</header>
<main id="main" tabindex="-1">
${opts.notice ? noticeBox(opts.notice) : ''}
${opts.body}
</main>
<footer class="foot">hrsync · ${org ? html`organization <code>${org.id}</code> · ` : ''}times in your local time zone</footer>
</body>
</html>`.value;
}

/** A page without the top bar: sign-in, and errors before sign-in. */
export function barePage(assets: PageContext['assets'], title: string, body: HtmlValue): string {
  return html`${head(title, assets)}
<body>
<main class="auth" id="main">${body}</main>
</body>
</html>`.value;
}

export interface Notice {
  kind: 'ok' | 'error' | 'warn' | 'info';
  text: HtmlValue;
}

export function noticeBox(n: Notice): SafeHtml {
  return html`<div class="notice notice-${n.kind}" role="${n.kind === 'error' ? 'alert' : 'status'}">${n.text}</div>`;
}

export function pageHead(title: HtmlValue, opts: { crumbs?: Array<{ href: string; label: string }>; sub?: HtmlValue; actions?: HtmlValue } = {}): SafeHtml {
  return html`<div class="page-head">
  <div>
    ${opts.crumbs?.length ? html`<nav class="crumbs" aria-label="Breadcrumb">${opts.crumbs.map((c, i) => html`${i ? ' / ' : ''}<a href="${c.href}">${c.label}</a>`)}</nav>` : ''}
    <h1>${title}</h1>
    ${opts.sub ? html`<p class="sub">${opts.sub}</p>` : ''}
  </div>
  ${opts.actions ? html`<div class="actions">${opts.actions}</div>` : ''}
</div>`;
}

export function time(iso: string | Date | null | undefined, opts: { seconds?: boolean } = {}): SafeHtml {
  if (!iso) return html`<span class="muted">—</span>`;
  const d = new Date(iso);
  return html`<time datetime="${d.toISOString()}" data-local="${opts.seconds ? 'seconds' : 'minutes'}">${formatUtc(d, opts)}</time>`;
}

type Tone = 'ok' | 'warn' | 'danger' | 'info' | 'neutral';

const RUN_STATUS: Record<string, [string, Tone]> = {
  queued: ['Queued', 'info'],
  running: ['Running', 'info'],
  succeeded: ['Succeeded', 'ok'],
  failed: ['Failed', 'danger'],
  needs_approval: ['Needs approval', 'warn'],
  approved: ['Approved', 'ok'],
  rejected: ['Rejected', 'neutral'],
  skipped: ['Skipped', 'neutral'],
};

const ROLLOUT_STATUS: Record<string, [string, Tone]> = {
  scheduled: ['Scheduled', 'info'],
  running: ['Sending', 'info'],
  paused: ['Paused', 'warn'],
  completed: ['Completed', 'ok'],
  cancelled: ['Cancelled', 'neutral'],
  failed: ['Failed', 'danger'],
};

export function toneClass(t: Tone): string {
  return t === 'neutral' ? '' : `badge-${t}`;
}

export function badge(label: string, tone: Tone = 'neutral'): SafeHtml {
  return html`<span class="badge ${toneClass(tone)}">${label}</span>`;
}

export function runStatus(status: string): SafeHtml {
  const [label, tone] = RUN_STATUS[status] ?? [status, 'neutral'];
  return badge(label, tone);
}

export function rolloutStatusInfo(status: string): { label: string; tone: Tone } {
  const [label, tone] = ROLLOUT_STATUS[status] ?? [status, 'neutral'];
  return { label, tone };
}

export function rolloutStatus(status: string): SafeHtml {
  const { label, tone } = rolloutStatusInfo(status);
  return badge(label, tone);
}

export function userStatus(status: string): SafeHtml {
  return status === 'active' ? badge('Active', 'ok') : badge('Deactivated', 'danger');
}

export function accessState(access: string): SafeHtml {
  return access === 'active' ? badge('Signed up', 'ok') : access === 'invited' ? badge('Invited', 'info') : badge('No access', 'neutral');
}

export const LOGIN_METHOD_LABELS: Record<string, string> = { password: 'Password', sso: 'Single sign-on (SSO)', magic_link: 'Magic link' };

/** Skip and failure reasons in words; unknown codes show as they are. */
const REASONS: Record<string, string> = {
  deactivated: 'Deactivated',
  no_email: 'No e-mail address',
  already_invited: 'Already invited',
  already_active: 'Already signed up',
  not_found: 'Not found in the organization',
  user_deactivated: 'Deactivated before the message was sent',
  rollout_cancelled: 'Rollout cancelled',
  invalid_email: 'Invalid e-mail address',
  duplicate_email: 'Duplicate e-mail address',
  missing_email: 'No e-mail address',
  terminated: 'Terminated in HR',
  missing_from_listing: 'Missing from the HR listing',
  transient: 'Temporary failure',
};

export function reasonLabel(code: string | null | undefined): string {
  if (!code) return '—';
  if (REASONS[code]) return REASONS[code];
  const smtp = /^smtp_(\d{3})$/.exec(code);
  if (smtp) return `Rejected by the mail server (${smtp[1]})`;
  return code.replace(/_/g, ' ');
}

export function userName(u: { firstName?: string | null; lastName?: string | null; first_name?: string | null; last_name?: string | null }): string {
  const first = u.firstName ?? u.first_name ?? '';
  const last = u.lastName ?? u.last_name ?? '';
  const n = `${first} ${last}`.trim();
  return n || '(no name)';
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
