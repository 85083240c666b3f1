/**
 * Invitation mail throughput. Run by hand: `npx tsx bench/mail.bench.ts [--n 20000]`.
 *
 * 1. templating: a full MJML render per recipient (what we avoid) vs filling the compiled
 *    template, and our pre-encoded MIME build vs nodemailer's MailComposer;
 * 2. sending N messages to a local smtp-sink (in a child process, so the server's CPU is not
 *    billed to the client) through our pooled raw transport vs plain nodemailer building each
 *    message itself (`sendMail({ from, to, subject, html, text })`), same pool settings.
 *
 * Traffic goes to 127.0.0.1 only; every loop is bounded by N.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import mjml2html from 'mjml';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import {
  buildAcceptUrl,
  compileInvitationTemplates,
  loadInvitationMjml,
  LOGIN_METHODS,
  type InvitationMailData,
} from '../src/mail/invitation-template.js';
import { SmtpMailTransport } from '../src/mail/smtp-transport.js';
import { startSmtpSink, type SinkStats } from '../test/support/smtp-sink.js';

const POOL = { maxConnections: 5, maxMessages: 100 };
const IN_FLIGHT = 100; // sends outstanding at once, for both contenders

// ---------------------------------------------------------------------------------------------
// the sink, as a child process

interface SinkHandle {
  url: string;
  stats(): Promise<SinkStats>;
  close(): Promise<void>;
}

async function startSinkChild(): Promise<SinkHandle> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--sink-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`sink child exited (${code})`)));
    child.once('message', (m: { type: string; port: number }) => resolve(m.port));
  });
  let nextId = 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    stats() {
      const id = ++nextId;
      return new Promise((resolve) => {
        const on = (m: { id?: number; stats?: SinkStats }) => {
          if (m.id === id) {
            child.off('message', on);
            resolve(m.stats!);
          }
        };
        child.on('message', on);
        child.send({ type: 'stats', id });
      });
    },
    close() {
      return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send({ type: 'close', id: 0 });
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------

interface Row {
  phase: string;
  messages: number;
  seconds: number;
  baseline?: string;
}

const ORGS = ['Acme GmbH', 'Bäckerei Müller & Söhne', 'Globex "Europe" Ltd', 'Initech'];
const FIRST = ['Ana', 'Zoë', 'Jürgen', 'Li', "D'Arcy", null];
const EXPIRY_BASE = Date.parse('2026-03-04T15:30:00Z');

function recipient(i: number): InvitationMailData {
  return {
    to: `person${i}@example.test`,
    firstName: FIRST[i % FIRST.length]!,
    lastName: i % 2 ? 'Ruiz' : null,
    organizationName: ORGS[i % ORGS.length]!,
    loginMethod: LOGIN_METHODS[i % 3]!,
    message: i % 3 === 0 ? `Welcome aboard, ${i}!\nWe start on Monday at 9.` : null,
    acceptUrl: buildAcceptUrl('https://app.example', `tok_${i.toString(36)}_${'x'.repeat(36)}`),
    expiresAt: new Date(EXPIRY_BASE + i * 7), // a batch: distinct, close expiries
  };
}

async function timed(fn: () => Promise<void> | void): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Run `task(i)` for i < n with at most `limit` outstanding. */
async function pooled(n: number, limit: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

async function main(): Promise<void> {
  const argN = process.argv.indexOf('--n');
  const N = argN > 0 ? Number(process.argv[argN + 1]) : 20_000;
  const MJML_N = Math.min(300, N);
  const rows: Row[] = [];
  const FROM = 'Acme Workplace <no-reply@example.test>';

  const cpu = cpus();
  console.log(`machine: ${cpu.length} cores (${cpu[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log(`N = ${N}, pool ${POOL.maxConnections} connections × ${POOL.maxMessages} messages, ${IN_FLIGHT} sends in flight\n`);

  // --- templating ----------------------------------------------------------------------------
  let compiled!: Awaited<ReturnType<typeof compileInvitationTemplates>>;
  rows.push({ phase: 'compile MJML (6 variants, once)', messages: 6, seconds: await timed(async () => { compiled = await compileInvitationTemplates({ from: FROM }); }) });

  const mjmlSource = loadInvitationMjml()
    .replace(/<!--\s*#(?:if|endif) message\s*-->/g, '')
    .replace(/\[\[(\w+)\]\]/g, 'copy');
  rows.push({
    phase: 'full MJML render per recipient (avoided)',
    messages: MJML_N,
    seconds: await timed(async () => {
      for (let i = 0; i < MJML_N; i++) await mjml2html(mjmlSource.replace('{{greeting}}', `Hi ${i}`), { validationLevel: 'skip' });
    }),
  });

  for (let i = 0; i < 2000; i++) compiled.build(recipient(i)); // warm-up
  let sink = 0;
  rows.push({
    phase: 'render: subject + html + text',
    messages: N,
    seconds: await timed(() => {
      for (let i = 0; i < N; i++) sink += compiled.render(recipient(i)).html.length;
    }),
    baseline: 'full MJML render per recipient (avoided)',
  });
  rows.push({
    phase: 'render + MIME build (ours, raw string)',
    messages: N,
    seconds: await timed(() => {
      for (let i = 0; i < N; i++) sink += (compiled.build(recipient(i)).raw as string).charCodeAt(4000); // forces a flat string
    }),
    baseline: 'render + nodemailer MailComposer',
  });
  rows.push({
    phase: 'render + MIME build (ours) → Buffer',
    messages: N,
    seconds: await timed(() => {
      for (let i = 0; i < N; i++) sink += Buffer.from(compiled.build(recipient(i)).raw as string, 'latin1').length;
    }),
    baseline: 'render + nodemailer MailComposer',
  });
  const composerN = Math.min(N, 5000);
  rows.push({
    phase: 'render + nodemailer MailComposer',
    messages: composerN,
    seconds: await timed(async () => {
      for (let i = 0; i < composerN; i++) {
        const d = recipient(i);
        const r = compiled.render(d);
        const buf = await new MailComposer({ from: FROM, to: d.to, subject: r.subject, html: r.html, text: r.text }).compile().build();
        sink += buf.length;
      }
    }),
  });

  // --- sending -------------------------------------------------------------------------------
  const server = await startSinkChild();
  try {
    const warm = new SmtpMailTransport({ url: server.url, ...POOL });
    await pooled(500, IN_FLIGHT, (i) => warm.send(compiled.build(recipient(i))));
    await warm.close();
    const before = (await server.stats()).received;

    const ours = new SmtpMailTransport({ url: server.url, ...POOL });
    rows.push({
      phase: 'SMTP: build + pooled raw send (ours)',
      messages: N,
      seconds: await timed(async () => {
        await pooled(N, IN_FLIGHT, (i) => ours.send(compiled.build(recipient(i))));
      }),
      baseline: 'SMTP: render + nodemailer sendMail',
    });
    await ours.close();
    const afterOurs = (await server.stats()).received;

    const plain = nodemailer.createTransport({ url: server.url, pool: true, ...POOL, logger: false });
    rows.push({
      phase: 'SMTP: render + nodemailer sendMail',
      messages: N,
      seconds: await timed(async () => {
        await pooled(N, IN_FLIGHT, async (i) => {
          const d = recipient(i);
          const r = compiled.render(d);
          await plain.sendMail({ from: FROM, to: d.to, subject: r.subject, html: r.html, text: r.text });
        });
      }),
    });
    plain.close();
    const after = (await server.stats()).received;
    if (afterOurs - before !== N || after - afterOurs !== N) {
      throw new Error(`sink received ${afterOurs - before} / ${after - afterOurs}, expected ${N} each`);
    }
  } finally {
    await server.close();
  }

  // --- table ---------------------------------------------------------------------------------
  const rate = (r: Row) => r.messages / r.seconds;
  const byPhase = new Map(rows.map((r) => [r.phase, r]));
  const table = rows.map((r) => {
    const base = r.baseline ? byPhase.get(r.baseline) : undefined;
    return {
      phase: r.phase,
      messages: String(r.messages),
      seconds: r.seconds.toFixed(3),
      'msg/s': Math.round(rate(r)).toLocaleString('en-US'),
      ratio: base ? `${(rate(r) / rate(base)).toFixed(1)}×` : '',
    };
  });
  const cols = ['phase', 'messages', 'seconds', 'msg/s', 'ratio'] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...table.map((t) => t[c].length))]));
  const line = (t: Record<string, string>) => cols.map((c, i) => (i === 0 ? t[c]!.padEnd(width[c]!) : t[c]!.padStart(width[c]!))).join(' | ');
  console.log(line(Object.fromEntries(cols.map((c) => [c, c]))));
  console.log(cols.map((c) => '-'.repeat(width[c]!)).join('-|-'));
  for (const t of table) console.log(line(t));
  console.log(`\n(ratio: msg/s over the phase it replaces; checksum ${sink % 997})`);
}

// entry: the bench, or (forked by it) the sink
if (process.argv.includes('--sink-child')) {
  const sink = await startSmtpSink({ parse: false, capture: false });
  process.on('message', (m: { type: string; id: number }) => {
    if (m.type === 'stats') process.send!({ id: m.id, stats: { ...sink.stats } });
    if (m.type === 'close') void sink.close().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', port: sink.port });
} else {
  await main();
}
