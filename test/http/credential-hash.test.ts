import { expect, it, vi } from 'vitest';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi } from '../support/terminal.js';

const hashed = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/secrets.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/secrets.js')>();
  return {
    ...original,
    hashSecret: (secret: string) => {
      hashed.count++;
      return original.hashSecret(secret);
    },
  };
});

/** How many SHA-256 digests of a credential `request` computed. */
async function hashesOf(request: () => Promise<{ statusCode: number }>, status: number) {
  const before = hashed.count;
  expect((await request()).statusCode).toBe(status);
  return hashed.count - before;
}

describeEachStore("a request's credential", (dialect) => {
  const ctx = usePlatform(dialect);

  it('is hashed once per request, for both its authentication and its rate limit', async () => {
    const c = await onboard(ctx().app);
    const terminal = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    // The first poll finds the token in the store, the next in memory.
    expect(await hashesOf(() => terminal.next(), 204)).toBe(1);
    expect(await hashesOf(() => terminal.next(), 204)).toBe(1);
    const api = merchantApi(ctx().app, c.apiKey);
    expect(await hashesOf(() => api('GET', '/stores'), 200)).toBe(1);
    expect(await hashesOf(() => api('GET', '/stores'), 200)).toBe(1);
  });
});
