import { describe, expect, it } from 'vitest';
import { asForm, field, fields, parseForm } from './forms.js';
import { escapeHtml } from '../../lib/html-escape.js';
import { html, path, raw } from './html.js';
import { safeNext } from './pages/auth.js';
import { formatDuration, nextRun, utcToZonedLocal, zonedTimeToUtc } from './time.js';

describe('html templates', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const name = `<script>alert("x")</script> & 'y' \``;
    expect(html`<a title="${name}">${name}</a>`.value).toBe(
      '<a title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;</a>',
    );
  });

  it('nests templates without escaping them twice, renders arrays, and leaves out null, undefined and false', () => {
    const items = ['a<b', 'c'];
    expect(html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>${null}${undefined}${false}${0}`.value).toBe('<ul><li>a&lt;b</li><li>c</li></ul>0');
    expect(html`${raw('<br>')}`.value).toBe('<br>');
    expect(escapeHtml('plain')).toBe('plain');
  });

  it('builds dashboard paths with encoded segments and a query without empty values', () => {
    expect(path(['orgs', 'a/b', 'users'], { q: 'x y', locationId: '', status: undefined, cursor: 'abc' })).toBe('/dashboard/orgs/a%2Fb/users?q=x+y&cursor=abc');
    expect(path([])).toBe('/dashboard');
  });
});

// Sessions live in PostgreSQL now (session.ts): their tests go through HTTP, test/http/sessions.int.test.ts.
describe('sign-in redirects', () => {
  it('follows only dashboard paths after signing in', () => {
    expect(safeNext('/dashboard/orgs/acme/users?q=1')).toBe('/dashboard/orgs/acme/users?q=1');
    for (const bad of ['https://evil.example/', '//evil.example/dashboard', '/dashboard//evil', '/api/users', '/dashboard\\x', '/dashboard/sign-in', undefined]) expect(safeNext(bad)).toBeNull();
  });
});

describe('forms', () => {
  it('keeps repeated fields and drops the __proto__ key', () => {
    const f = parseForm('userIds=a&userIds=b&message=+hi+there+&__proto__=x&empty=');
    expect(fields(f, 'userIds')).toEqual(['a', 'b']);
    expect(field(f, 'message')).toBe('hi there');
    expect(field(f, 'message', { trim: false })).toBe(' hi there ');
    expect(field(f, 'empty')).toBeUndefined();
    expect(Object.getPrototypeOf(f)).toBeNull();
    expect(field(asForm(f), 'message')).toBe('hi there');
  });

  it('reads only a parsed form: a JSON body carries no form token', () => {
    expect(field(asForm({ _csrf: ['token'] }), '_csrf')).toBeUndefined();
    expect(field(asForm(undefined), '_csrf')).toBeUndefined();
  });
});

describe('times', () => {
  it.each([
    ['2026-11-26T09:30', 'Europe/Berlin', '2026-11-26T08:30:00.000Z'],
    ['2026-07-01T09:30:15', 'Europe/Berlin', '2026-07-01T07:30:15.000Z'],
    ['2026-11-26T09:30', 'America/New_York', '2026-11-26T14:30:00.000Z'],
    ['2026-11-26T09:30', 'UTC', '2026-11-26T09:30:00.000Z'],
    // a wall time skipped by the spring change moves forward by the gap
    ['2026-03-29T02:30', 'Europe/Berlin', '2026-03-29T01:30:00.000Z'],
    // an ambiguous one (the autumn change) takes the earlier instant
    ['2026-10-25T02:30', 'Europe/Berlin', '2026-10-25T00:30:00.000Z'],
  ])('reads %s in %s as %s', (local, tz, expected) => {
    expect(zonedTimeToUtc(local, tz)?.toISOString()).toBe(expected);
  });

  it('refuses an invalid time or time zone', () => {
    for (const [local, tz] of [['2026-02-31T10:00', 'UTC'], ['2026-11-26 10:00', 'UTC'], ['2026-11-26T25:00', 'UTC'], ['2026-11-26T10:00', 'Mars/Olympus']]) expect(zonedTimeToUtc(local, tz)).toBeNull();
  });

  it('writes an instant as wall-clock time in a zone, the inverse', () => {
    const d = new Date('2026-11-26T14:30:05Z');
    expect(utcToZonedLocal(d, 'America/New_York')).toBe('2026-11-26T09:30:05');
    expect(zonedTimeToUtc(utcToZonedLocal(d, 'Asia/Kolkata'), 'Asia/Kolkata')?.toISOString()).toBe(d.toISOString());
  });

  it('computes the next run of a node-cron schedule in its time zone, and none for manual or invalid', () => {
    const next = nextRun('0 */4 * * *', 'Europe/Berlin')!;
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(4 * 3_600_000);
    expect(next.getUTCMinutes()).toBe(0);
    expect(nextRun(null)).toBeNull();
    expect(nextRun('not a schedule')).toBeNull();
  });

  it('formats durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4200)).toBe('4.2 s');
    expect(formatDuration(65_000)).toBe('1 min 5 s');
    expect(formatDuration(3_900_000)).toBe('1 h 5 min');
    expect(formatDuration(null)).toBe('—');
  });
});
