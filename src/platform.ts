import type { Config } from './config.js';
import { ApiKeyService } from './services/api-keys.js';
import { OnboardingService } from './services/onboarding.js';
import { TerminalPresence } from './services/presence.js';
import type { Store } from './store/database.js';
import { sql } from 'kysely';

export interface PlatformOptions {
  /** The platform's clock; tests move it to cross validity and expiry limits. */
  now?: () => number;
}

const PRESENCE_FLUSH_MS = 5_000;

/** The use cases of the platform wired to one store, and the background work they need. */
export function createPlatform(store: Store, config: Config, options: PlatformOptions = {}) {
  const now = options.now ?? Date.now;
  const onboarding = new OnboardingService(store, now);
  const apiKeys = new ApiKeyService(store, now, config.AUTH_CACHE_MS);
  const presence = new TerminalPresence(onboarding.repo, now, Math.max(3 * config.POLL_INTERVAL_MS, 2 * PRESENCE_FLUSH_MS));
  const timers: NodeJS.Timeout[] = [];

  const every = (ms: number, job: () => Promise<unknown>) => {
    let running = false;
    const t = setInterval(() => {
      if (running) return;
      running = true;
      job()
        .catch(() => {})
        .finally(() => (running = false));
    }, ms);
    t.unref();
    timers.push(t);
  };

  return {
    store,
    config,
    now,
    onboarding,
    apiKeys,
    presence,
    ping: () => sql`select 1`.execute(store.db),
    start() {
      every(PRESENCE_FLUSH_MS, () => presence.flush());
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      await presence.flush().catch(() => {});
      await apiKeys.flushUsage().catch(() => {});
    },
  };
}

export type Platform = ReturnType<typeof createPlatform>;
