import { PostgreSqlExceptionConverter } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, whenDatabaseIsBack } from '../../src/db/connection-errors.js';
import { AppError, errorMessage } from '../../src/lib/errors.js';

const converted = (message: string, props: Record<string, unknown> = {}) => new PostgreSqlExceptionConverter().convertException(Object.assign(new Error(message), props));

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a reset connection, as the ORM wraps it', converted(`select 1 - read ECONNRESET`, { code: 'ECONNRESET' })],
    ['a server shutting down (57P01)', converted('x - terminating connection due to administrator command', { code: '57P01', severity: 'FATAL' })],
    ['a server starting up (57P03)', converted('the database system is starting up', { code: '57P03', severity: 'FATAL' })],
    ['a connection ended under a statement', converted('select 1 - Connection terminated unexpectedly')],
    ['a pool that cannot get a connection', new Error('Knex: Timeout acquiring a connection. The pool is probably full.')],
    ['hrsync\'s own database_unreachable', new AppError('database_unreachable', 'cannot reach PostgreSQL')],
    ['an error caused by one of those', new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })],
  ])('is true for %s', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', converted('insert … - duplicate key value violates unique constraint "users_org_email_uq"', { code: '23505', severity: 'ERROR' })],
    ['a syntax error', converted('selec 1 - syntax error at or near "selec"', { code: '42601', severity: 'ERROR' })],
    ['a mail failure', Object.assign(new Error('451 try again'), { responseCode: 451 })],
    ['another app error', new AppError('connector_busy', 'busy')],
  ])('is false for %s', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});

describe('whenDatabaseIsBack', () => {
  it('retries while the database is away, then returns', async () => {
    let calls = 0;
    const v = await whenDatabaseIsBack(async () => {
      if (++calls < 3) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
      return 'ok';
    }, { stepMs: 5 });
    expect([v, calls]).toEqual(['ok', 3]);
  });

  it('throws any other error at once, and gives up after its timeout', async () => {
    let calls = 0;
    await expect(whenDatabaseIsBack(async () => {
      calls++;
      throw new Error('boom');
    }, { stepMs: 5 })).rejects.toThrow('boom');
    expect(calls).toBe(1);
    await expect(whenDatabaseIsBack(async () => {
      throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    }, { stepMs: 5, timeoutMs: 50 })).rejects.toThrow('refused');
  });
});

describe('errorMessage of a statement that lost its connection', () => {
  it('keeps the reason, never the statement or its parameters (raw, as `sql()` throws them)', () => {
    // What the query builder throws when the connection drops under a statement: no severity.
    const reset = Object.assign(new Error(`select u.id from jsonb_array_elements_text('["ana.ruiz@acme.example"]'::jsonb) as x(v) - read ECONNRESET`), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
    expect(errorMessage(reset)).toBe('database error ECONNRESET: read ECONNRESET');
    const ended = new Error(`with cand as (select u.id from users u where u.email = 'ana.ruiz@acme.example') - Connection terminated unexpectedly`);
    expect(errorMessage(ended)).toBe('database error: Connection terminated unexpectedly');
  });

  it('leaves other messages with a dash alone', () => {
    expect(errorMessage(new Error('page 3 - the vendor answered 502'))).toBe('page 3 - the vendor answered 502');
  });

  it('keeps the reason, never the statement or its parameters (as the ORM converts them)', () => {
    const err = converted(`select u.id from jsonb_array_elements_text('["ana.ruiz@acme.example"]'::jsonb) as x(v) - read ECONNRESET`, { code: 'ECONNRESET' });
    expect(errorMessage(err)).toBe('database error ECONNRESET: read ECONNRESET');
    const ended = converted(`insert into users (email) values ('ana.ruiz@acme.example') - Connection terminated unexpectedly`);
    expect(errorMessage(ended)).toBe('database error: Connection terminated unexpectedly');
  });
});
