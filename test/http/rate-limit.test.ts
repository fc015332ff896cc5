import { expect, it } from 'vitest';
import { isProblem, merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi } from '../support/terminal.js';

describeEachStore('rate limits', (dialect) => {
  const ctx = usePlatform(dialect, { env: { RATE_LIMIT_API_KEY_PER_MIN: '5', RATE_LIMIT_DEVICE_PER_MIN: '4' } });

  it('answers 429 problem+json with Retry-After past the limit of an API key, and counts each key apart', async () => {
    const a = await onboard(ctx().app);
    const b = await onboard(ctx().app);
    const api = merchantApi(ctx().app, a.apiKey);
    for (let i = 0; i < 5; i++) {
      const res = await api('GET', '/stores');
      expect(res.statusCode).toBe(200);
      // A backend may pace itself by these.
      expect(res.headers['ratelimit-limit']).toBe('5');
      expect(res.headers['ratelimit-remaining']).toBe(String(4 - i));
    }
    const over = await api('GET', '/stores');
    expect(over.statusCode).toBe(429);
    expect(isProblem(over)).toBe(true);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await merchantApi(ctx().app, b.apiKey)('GET', '/stores')).statusCode).toBe(200);
  });

  it("answers 429 past the limit of a device token, without the RateLimit headers on a terminal's ordinary answers", async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 2 });
    const [one, two] = c.terminals.map((t) => deviceApi(ctx().app, t.deviceToken));
    for (let i = 0; i < 4; i++) {
      const res = await one!.next();
      expect(res.statusCode).toBe(204);
      expect(res.headers['ratelimit-remaining']).toBeUndefined();
    }
    const over = await one!.next();
    expect(over.statusCode).toBe(429);
    expect(isProblem(over)).toBe(true);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.headers['ratelimit-limit']).toBe('4');
    expect((await two!.next()).statusCode).toBe(204);
  });
});
