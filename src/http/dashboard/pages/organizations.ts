import type { FastifyInstance } from 'fastify';
import { notFound, type Dashboard } from '../context.js';
import { html, path } from '../html.js';
import { pageHead } from '../layout.js';
import { organizationStats } from '../queries.js';
import { formatCount } from '../time.js';

const SECTIONS = new Set(['connectors', 'runs', 'users', 'rollouts']);

export function registerOrganizationRoutes(app: FastifyInstance, dash: Dashboard): void {
  // The admin's start page: every organization; an organization token goes straight to its own.
  app.get('/dashboard', async (request, reply) => {
    const p = dash.principal(request);
    if (p.kind === 'organization') return reply.code(303).header('location', path(['orgs', p.organizationId, 'connectors'])).send();
    const orgs = dash.organizations();
    const stats = await organizationStats(dash.deps.em());
    const body = html`
${pageHead('Organizations', { sub: `${orgs.length} organization${orgs.length === 1 ? '' : 's'} in this service. Pick one to see its connectors, runs, users and rollouts.` })}
<div class="org-cards">
  ${orgs.map((o) => {
    const s = stats.get(o.id) ?? { users: 0, held: 0, activeRollouts: 0 };
    return html`<a class="org-card" href="${path(['orgs', o.id, 'connectors'])}">
      <div class="name">${o.name}</div>
      <div class="muted small"><code>${o.id}</code></div>
      <p class="small org-meta">${formatCount(s.users)} users · ${formatCount(s.activeRollouts)} active rollout${s.activeRollouts === 1 ? '' : 's'}</p>
      ${s.held ? html`<span class="badge badge-warn">${s.held} run${s.held === 1 ? '' : 's'} need${s.held === 1 ? 's' : ''} approval</span>` : ''}
    </a>`;
  })}
</div>`;
    return dash.render(request, reply, null, { title: 'Organizations', section: 'orgs', body });
  });

  app.get('/dashboard/switch', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const org = dash.org(request, q.org ?? '');
    const section = q.section && SECTIONS.has(q.section) ? q.section : 'connectors';
    return reply.code(303).header('location', path(['orgs', org.id, section])).send();
  });

  app.get('/dashboard/orgs/:org', async (request, reply) => {
    const { org } = request.params as { org: string };
    return reply.code(303).header('location', path(['orgs', dash.org(request, org).id, 'connectors'])).send();
  });

  app.get('/dashboard/orgs', async (request, reply) => {
    const p = dash.principal(request);
    if (p.kind === 'organization') throw notFound();
    return reply.code(303).header('location', path([])).send();
  });
}
