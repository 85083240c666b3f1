/** The dashboard's stylesheet, served from /dashboard/assets/ (embedded: tsc copies no .css into dist/). */
export const STYLES = String.raw`
:root {
  --bg: #f5f6f8; --surface: #ffffff; --text: #1c2130; --muted: #545d6e; --border: #d9dde5; --border-strong: #b9c0cc;
  --primary: #2f4dc4; --primary-text: #ffffff; --primary-soft: #e8edfc;
  --danger: #b42318; --danger-soft: #fdecea; --ok: #1b6b35; --ok-soft: #e5f4ea; --warn: #8a4b00; --warn-soft: #fff3dc;
  --info: #1b4fa8; --info-soft: #e6effc; --neutral: #3d4452; --neutral-soft: #eceef3;
  --focus: #f0a000; --radius: 8px; --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .08);
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif;
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 var(--font); color: var(--text); background: var(--bg); }
a { color: var(--primary); text-underline-offset: 2px; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
h1 { font-size: 1.55rem; line-height: 1.25; margin: 0; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
h3 { font-size: 1rem; margin: 0 0 .5rem; }
p { margin: .25rem 0 .75rem; }
code, .mono { font-family: var(--mono); font-size: .88em; }
.sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip-link { position: absolute; left: .5rem; top: -3rem; z-index: 10; background: var(--surface); padding: .5rem .75rem; border-radius: var(--radius); box-shadow: var(--shadow); }
.skip-link:focus { top: .5rem; }
[hidden] { display: none !important; }

/* header */
.topbar { background: #151a2d; color: #e9ecf5; }
.topbar-inner { max-width: 1240px; margin: 0 auto; padding: .55rem 1.25rem; display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.25rem; }
.brand { display: inline-flex; align-items: center; gap: .5rem; color: #fff; text-decoration: none; font-weight: 700; font-size: 1.05rem; letter-spacing: .01em; }
.brand svg { width: 26px; height: 26px; }
.nav { display: flex; flex-wrap: wrap; gap: .15rem; flex: 1 1 auto; position: relative; min-width: 0; }
.nav a { position: relative; color: #c9cfe0; text-decoration: none; padding: .4rem .7rem; border-radius: 6px; font-weight: 500; white-space: nowrap; }
.nav a:hover { color: #fff; background: rgba(255, 255, 255, .08); }
.nav a[aria-current="page"] { color: #fff; background: rgba(255, 255, 255, .16); }
.nav .count { display: inline-block; min-width: 1.3rem; margin-left: .3rem; padding: 0 .35rem; border-radius: 999px; background: #ffb020; color: #1c1300; font-size: .75rem; font-weight: 700; text-align: center; }
.who { margin-left: auto; display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .75rem; font-size: .9rem; }
.who form { margin: 0; display: flex; align-items: center; gap: .35rem; }
.who label { color: #c9cfe0; }
.who select { background: #232a44; color: #fff; border: 1px solid #414b6e; border-radius: 6px; padding: .3rem .4rem; font: inherit; }
.who .principal { color: #c9cfe0; }
.who .principal-badge { display: inline-block; padding: .1rem .5rem; border-radius: 999px; background: rgba(255, 255, 255, .12); color: #fff; font-size: .8rem; font-weight: 600; }
.btn-ghost-dark { background: transparent; color: #e9ecf5; border: 1px solid #59628a; border-radius: 6px; padding: .3rem .7rem; font: inherit; cursor: pointer; }
.btn-ghost-dark:hover { background: rgba(255, 255, 255, .08); }

/* page */
main { max-width: 1240px; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
.page-head { display: flex; flex-wrap: wrap; align-items: flex-end; justify-content: space-between; gap: .75rem 1rem; margin-bottom: 1.25rem; }
.page-head .sub { color: var(--muted); margin: .3rem 0 0; }
.crumbs { font-size: .88rem; color: var(--muted); margin-bottom: .35rem; }
.crumbs a { color: var(--muted); }
.card { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); padding: 1.1rem 1.25rem; margin-bottom: 1.25rem; }
.card > h2:first-child { margin-top: 0; }
.card-head { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: .5rem 1rem; margin-bottom: .75rem; }
.card-head h2 { margin: 0; }
.grid { display: grid; gap: 1.25rem; grid-template-columns: repeat(auto-fill, minmax(min(330px, 100%), 1fr)); }
.grid-wide { grid-template-columns: repeat(auto-fill, minmax(min(480px, 100%), 1fr)); }
.muted { color: var(--muted); }
.small { font-size: .875rem; }
.nowrap { white-space: nowrap; }
.stack > * + * { margin-top: .75rem; }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .75rem; }
.spacer { flex: 1 1 auto; }

/* notices */
.notice { border-radius: var(--radius); padding: .75rem 1rem; margin-bottom: 1.25rem; border: 1px solid; }
.notice-ok { background: var(--ok-soft); border-color: #a8d5b5; color: var(--ok); }
.notice-error { background: var(--danger-soft); border-color: #f1b0a9; color: var(--danger); }
.notice-warn { background: var(--warn-soft); border-color: #efcf8f; color: var(--warn); }
.notice-info { background: var(--info-soft); border-color: #b5cbef; color: var(--info); }
.notice a { color: inherit; font-weight: 600; }

/* buttons and forms */
.btn { display: inline-flex; align-items: center; justify-content: center; gap: .4rem; min-height: 2.25rem; padding: .4rem .95rem; border-radius: 6px; border: 1px solid var(--border-strong); background: var(--surface); color: var(--text); font: inherit; font-weight: 600; line-height: 1.2; text-decoration: none; cursor: pointer; }
.btn:hover { background: #f0f2f6; }
.btn-primary { background: var(--primary); border-color: var(--primary); color: var(--primary-text); }
.btn-primary:hover { background: #243da3; }
.btn-danger { background: var(--surface); border-color: #e3a29b; color: var(--danger); }
.btn-danger:hover { background: var(--danger-soft); }
.btn-small { min-height: 1.9rem; padding: .25rem .65rem; font-size: .875rem; }
.btn[disabled], .btn[aria-disabled="true"] { opacity: .55; cursor: not-allowed; }
form.inline { display: inline; margin: 0; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
label { font-weight: 600; }
.field { display: flex; flex-direction: column; gap: .3rem; min-width: 0; }
.field .hint { font-weight: 400; font-size: .85rem; color: var(--muted); }
input[type="text"], input[type="search"], input[type="password"], input[type="datetime-local"], select, textarea {
  font: inherit; color: var(--text); background: var(--surface); border: 1px solid var(--border-strong); border-radius: 6px; padding: .45rem .6rem; min-height: 2.25rem; max-width: 100%;
}
textarea { min-height: 5.5rem; resize: vertical; width: 100%; }
input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid var(--focus); outline-offset: 1px; }
fieldset { border: 0; padding: 0; margin: 0; min-width: 0; }
legend { font-weight: 600; padding: 0; margin-bottom: .35rem; }
.choices { display: flex; flex-wrap: wrap; gap: .5rem; }
.choice { display: flex; align-items: flex-start; gap: .5rem; font-weight: 500; padding: .55rem .75rem; border: 1px solid var(--border); border-radius: 6px; background: var(--surface); cursor: pointer; }
.choice:has(input:checked) { border-color: var(--primary); background: var(--primary-soft); }
.choice input { margin-top: .2rem; }
.choice .hint { display: block; font-weight: 400; color: var(--muted); font-size: .85rem; }
.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr)); gap: .75rem; align-items: end; }
.filters .field-wide { grid-column: span 2; }
.filters select, .filters input { width: 100%; }
.form-grid { display: grid; gap: 1.1rem; max-width: 720px; }
.error-text { color: var(--danger); font-weight: 600; font-size: .9rem; }
input[aria-invalid="true"], select[aria-invalid="true"], textarea[aria-invalid="true"] { border-color: var(--danger); }

/* tables */
.table-wrap { overflow-x: auto; border: 1px solid var(--border); border-radius: var(--radius); background: var(--surface); }
table { width: 100%; border-collapse: collapse; font-size: .92rem; }
th, td { text-align: left; padding: .55rem .75rem; border-bottom: 1px solid var(--border); vertical-align: top; }
thead th { background: #f8f9fb; color: var(--muted); font-weight: 600; font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; white-space: nowrap; position: sticky; top: 0; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: #fafbfd; }
tbody tr.selected { background: var(--primary-soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.check, th.check { width: 2.5rem; }
input[type="checkbox"], input[type="radio"] { width: 1.05rem; height: 1.05rem; accent-color: var(--primary); }
dl.props.props-spaced { margin-top: 1.1rem; }
.card > .actions { margin-top: 1rem; }
.pre { white-space: pre-wrap; }
.spaced { margin-top: 1rem; }
.empty { padding: 2rem 1rem; text-align: center; color: var(--muted); }
dl.props { display: grid; grid-template-columns: minmax(120px, max-content) 1fr; gap: .45rem 1.25rem; margin: 0; }
dl.props dt { color: var(--muted); font-weight: 500; }
dl.props dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }

/* badges and stats */
.badge { display: inline-flex; align-items: center; gap: .3rem; padding: .1rem .55rem; border-radius: 999px; font-size: .8rem; font-weight: 600; white-space: nowrap; background: var(--neutral-soft); color: var(--neutral); }
.badge::before { content: ""; width: .45rem; height: .45rem; border-radius: 50%; background: currentColor; opacity: .8; }
.badge-ok { background: var(--ok-soft); color: var(--ok); }
.badge-warn { background: var(--warn-soft); color: var(--warn); }
.badge-danger { background: var(--danger-soft); color: var(--danger); }
.badge-info { background: var(--info-soft); color: var(--info); }
.tag { display: inline-block; padding: 0 .45rem; border-radius: 4px; background: var(--neutral-soft); color: var(--neutral); font-size: .8rem; margin: 0 .2rem .2rem 0; }
.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: .75rem; }
.stat { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); padding: .7rem .9rem; }
.stat .label { color: var(--muted); font-size: .8rem; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
.stat .value { font-size: 1.5rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.stat-ok .value { color: var(--ok); }
.stat-warn .value { color: var(--warn); }
.stat-danger .value { color: var(--danger); }

/* progress */
.progress-wrap { display: flex; align-items: center; gap: 1rem; margin: .5rem 0 1rem; }
progress { flex: 1 1 auto; height: 14px; appearance: none; -webkit-appearance: none; border: 0; border-radius: 999px; background: var(--neutral-soft); overflow: hidden; }
progress::-webkit-progress-bar { background: var(--neutral-soft); border-radius: 999px; }
progress::-webkit-progress-value { background: linear-gradient(90deg, #3557d6, #4f74ee); border-radius: 999px; }
progress::-moz-progress-bar { background: #3557d6; border-radius: 999px; }
.percent { font-size: 1.6rem; font-weight: 700; font-variant-numeric: tabular-nums; min-width: 4.5ch; text-align: right; }

/* selection toolbar */
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 1rem; padding: .75rem 1rem; margin-bottom: .75rem; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); }
.toolbar .choices { flex: 1 1 auto; }
.pager { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .75rem; margin-top: .9rem; }

/* sign-in */
.auth { min-height: 100vh; display: grid; place-items: center; padding: 1.5rem; background: radial-gradient(circle at 20% 10%, #e4e9fb 0, transparent 45%), var(--bg); }
.auth-card { width: min(440px, 100%); background: var(--surface); border: 1px solid var(--border); border-radius: 12px; box-shadow: 0 10px 30px rgba(16, 24, 40, .10); padding: 2rem; }
.auth-card .brand { color: var(--text); margin-bottom: 1.25rem; }
.auth-card input { width: 100%; }
.auth-card .btn { width: 100%; margin-top: .5rem; }

.org-cards { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); }
.org-card { display: block; text-decoration: none; color: inherit; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); padding: 1.1rem 1.25rem; box-shadow: var(--shadow); }
.org-card:hover { border-color: var(--primary); }
.org-card .org-meta { margin-top: .6rem; }
.org-card .name { font-weight: 700; font-size: 1.05rem; color: var(--primary); }

footer.foot { max-width: 1240px; margin: 0 auto; padding: 0 1.25rem 2rem; color: var(--muted); font-size: .85rem; }

@media (max-width: 720px) {
  body { font-size: 15px; }
  main { padding: 1rem .75rem 2.5rem; }
  .topbar-inner { padding: .5rem .75rem; }
  .nav { order: 3; flex-basis: 100%; overflow-x: auto; flex-wrap: nowrap; }
  .filters { grid-template-columns: 1fr 1fr; gap: .6rem; }
  .filters .field-wide, .filters .actions { grid-column: 1 / -1; }
  .card { padding: .9rem; }
  dl.props { grid-template-columns: 1fr; gap: .1rem; }
  dl.props dd { margin-bottom: .5rem; }
  .hide-sm { display: none; }
}
@media (prefers-reduced-motion: reduce) { * { transition: none !important; } }
`;
