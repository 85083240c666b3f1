import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMessage } from '../../src/lib/errors.js';
import { createTestStore, type TestStore } from '../support/store.js';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.drop();
});

describe('errorMessage', () => {
  it("keeps PostgreSQL's message and SQLSTATE, not the SQL text and its parameters", async () => {
    const padding = Array.from({ length: 200 }, (_, i) => `'secret-${i}@acme.example' as c${i}`).join(', ');
    const err = await store.orm.em.fork().getConnection().execute(`select ${padding}, 1 / 0 as boom`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message.length).toBeGreaterThan(1_000);
    const line = errorMessage(err);
    expect(line).toBe('database error 22012: division by zero');
  });

  it('caps any other message at 500 characters', () => {
    const line = errorMessage(new Error('x'.repeat(5_000)));
    expect(line).toHaveLength(500);
    expect(line.endsWith('…')).toBe(true);
    expect(errorMessage('plain')).toBe('plain');
  });
});
