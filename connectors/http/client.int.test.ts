import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createHttpClient, type HttpClientOptions } from './client.js';

/** The shared client against a bare node:http server: behaviours no vendor test covers. */

let server: Server;
let baseUrl: string;
let handler: (path: string, res: import('node:http').ServerResponse) => void;

beforeEach(async () => {
  server = createServer((req, res) => handler(req.url ?? '/', res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const options = (extra: Partial<HttpClientOptions> = {}): HttpClientOptions => ({
  vendor: 'Acme HR',
  baseUrl,
  log: silentLogger,
  secrets: ['s3cr3t-value'],
  authFailureMessage: (status) => `Acme HR rejected the key (${status}): check options.apiKey`,
  ...extra,
});

async function failure(p: Promise<unknown>) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isAppError(err)).toBe(true);
  return err as Error & { code: string; retryable: boolean; details: Record<string, unknown> };
}

describe('shared HTTP client', () => {
  it('fails a 4xx at once with a short summary and the scrubbed vendor message', async () => {
    handler = (_p, res) => {
      res.writeHead(422, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'field foo unknown for key s3cr3t-value' }));
    };
    const client = createHttpClient(options());
    const err = await failure(client.request({ method: 'GET', path: '/v1/things', params: { token: 's3cr3t-value' } }));
    expect(err.code).toBe('connector_request_failed');
    expect(err.retryable).toBe(false);
    expect(err.message).toBe('Acme HR GET /v1/things · HTTP 422 · 1 attempt (field foo unknown for key [redacted])');
    expect(err.details).toStrictEqual({ vendor: 'Acme HR', method: 'GET', path: '/v1/things', status: 422, attempts: 1 });
    expect(err.cause).toBeUndefined();
    expect(client.stats.requests).toBe(1);
  });

  it('does not follow redirects (credentials stay with the API host)', async () => {
    handler = (_p, res) => {
      res.writeHead(302, { Location: 'http://127.0.0.2:9/steal' });
      res.end();
    };
    const client = createHttpClient(options({ basicAuth: { username: 'u', password: 'p' } }));
    const err = await failure(client.request({ method: 'GET', path: '/x' }));
    expect(err.message).toContain('HTTP 302');
    expect(client.stats.requests).toBe(1);
  });

  it('stops waiting and fails when the run is aborted during a backoff', async () => {
    handler = (_p, res) => {
      res.writeHead(503, { 'Retry-After': '30' });
      res.end();
    };
    const ac = new AbortController();
    const client = createHttpClient(options({ signal: ac.signal }));
    const started = Date.now();
    setTimeout(() => ac.abort(), 50);
    const err = await failure(client.request({ method: 'GET', path: '/slow' }));
    expect(err.message).toContain('cancelled');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('counts attempts, retries and outcomes', async () => {
    let n = 0;
    handler = (_p, res) => {
      n++;
      res.writeHead(n <= 2 ? 500 : 200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    };
    const client = createHttpClient(options(), { retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    const res = await client.request({ method: 'POST', path: '/v1/search', data: { q: 1 } });
    expect(res.data).toStrictEqual({ ok: true });
    expect(client.stats.requests).toBe(3);
    expect(client.stats.retries).toBe(2);
    expect(client.stats.outcomes).toStrictEqual({ '500': 2, '200': 1 });
  });

  // Found by the HR API chaos (bench/chaos/hr-api.ts, "trickle"): axios's `timeout` is a socket
  // idle timeout, so a body arriving a byte at a time never timed out and held the run forever.
  it('cuts a response that trickles forever at the timeout, and retries it', async () => {
    handler = (_p, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const t = setInterval(() => res.write(' '), 20); // JSON may begin with any amount of whitespace
      res.on('close', () => clearInterval(t));
    };
    const client = createHttpClient(options({ timeoutMs: 300 }), { retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 2 } });
    const started = Date.now();
    const err = await failure(
      Promise.race([
        client.request({ method: 'GET', path: '/v1/people' }),
        new Promise((_r, reject) => setTimeout(() => reject(new Error('still waiting after 10 s: no deadline on the attempt')), 10_000)),
      ]),
    );
    expect(err.message).toBe('Acme HR GET /v1/people · ETIMEDOUT · 2 attempts: network error, giving up');
    expect(client.stats.requests).toBe(2);
    expect(client.stats.outcomes).toStrictEqual({ ETIMEDOUT: 2 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
