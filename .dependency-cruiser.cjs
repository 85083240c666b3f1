// The import rules of ../shared/style.md, by folder, checked in `npm test`
// (test/architecture/dependency-rules.test.ts) and by `npm run lint:deps`.
const { existsSync } = require('node:fs');

const TEST = '(\\.test\\.ts$|^test/|^bench/)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import circles: a module that needs something from its importer gets it passed in (fastify decorators, deps objects).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'composition-root-only-knows-jobs',
      severity: 'error',
      comment: 'Only the composition root (src/app/, src/cli/start.ts) imports jobs/; HTTP and the services get queues and enqueue functions passed in.',
      from: { path: '^src/', pathNot: ['^src/app/', '^src/cli/start\\.ts$', TEST] },
      to: { path: '^jobs/' },
    },
    {
      name: 'jobs-not-faces',
      severity: 'error',
      comment: 'Workers call services; they do not import the composition root or the other faces (HTTP, CLI).',
      from: { path: '^jobs/', pathNot: TEST },
      to: { path: '^src/(app|http|cli)/' },
    },
    {
      name: 'services-not-faces',
      severity: 'error',
      comment: 'Dependencies point one way: faces (http, cli, jobs) -> services -> rules and store.',
      from: { path: '^src/(sync|invitations|users|mail|db|domain|auth|config|lib|scim|webhooks|rules|lifecycle)/', pathNot: TEST },
      to: { path: '^src/(app|http|cli)/' },
    },
    {
      name: 'sync-never-invites',
      severity: 'error',
      comment: 'Creating is not inviting, in the import graph too: sync never imports invitations, mail or the invitation rules (rules are evaluated by jobs/, after a run).',
      from: { path: '^src/sync/' },
      to: { path: '^src/(invitations|mail|rules|lifecycle)/' },
    },
    {
      name: 'connectors-know-only-hr-records',
      severity: 'error',
      comment: 'Connectors never import the store, jobs, mail or the services; they return HR records.',
      from: { path: '^connectors/', pathNot: TEST },
      to: {
        path: [
          '^jobs/',
          '^src/(db|sync|invitations|mail|users|http|cli|app|auth|scim|webhooks|rules|lifecycle)/',
          'node_modules/(@mikro-orm/|pg/|pg-|bullmq/|ioredis/|nodemailer/|@bull-board/)',
        ],
      },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain holds pure rules: no I/O, so it imports only itself, the HR record and config types, zod, hashing and URL parsing (domainToASCII of node:url for IDN addresses).',
      from: { path: '^src/domain/', pathNot: TEST },
      to: { pathNot: ['^src/domain/', '^connectors/types\\.ts$', '^src/config/schema\\.ts$', '^src/lib/errors\\.ts$', 'node_modules/zod/', '^(node:)?crypto$', '^(node:)?url$'] },
    },
    {
      name: 'no-test-code-in-the-product',
      severity: 'error',
      from: { pathNot: TEST },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    // type-only imports count: a circle of types is still a circle for the reader
    tsPreCompilationDeps: true,
    ...(existsSync('tsconfig.json') ? { tsConfig: { fileName: 'tsconfig.json' } } : {}),
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
