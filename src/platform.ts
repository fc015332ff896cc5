import type { Acquirer } from './acquirer/acquirer.js';
import { SandboxAcquirer } from './acquirer/sandbox.js';
import { timedAcquirer, type AcquirerCall } from './acquirer/timed.js';
import type { Config } from './config.js';
import { IDEMPOTENCY_TTL_MS } from './http/idempotency.js';
import { LocalAuthChanges, SqliteAuthChanges, type AuthChanges } from './services/auth-changes.js';
import { ApiKeyService } from './services/api-keys.js';
import { DeviceAuth } from './services/device-auth.js';
import { InProcessNotifier, type TerminalNotifier } from './services/notifier.js';
import { OnboardingService } from './services/onboarding.js';
import { PostgresNotifier } from './services/postgres-notifier.js';
import { TerminalPresence } from './services/presence.js';
import { ping, type Database } from './db/database.js';
import { transactionUseCases } from './transactions/index.js';
import type { StatusReached } from './transactions/gateway.js';
import { IdempotencyRepository } from './db/idempotency-repository.js';
import { MetricsRepository } from './db/metrics-repository.js';
import { EventRepository } from './db/event-repository.js';
import { WebhookRepository } from './db/webhook-repository.js';
import { changeSignalsOf, type ChangeSignals } from './services/change-signals.js';
import { WebhookWorker, type AttemptOutcome } from './webhooks/delivery.js';
import { WebhookService } from './webhooks/endpoints.js';
import { LogCounts, logHorizon } from './webhooks/log-counts.js';
import { parseEncryptionKey, SANDBOX_SECRET_ENCRYPTION_KEY, SecretBox } from './webhooks/secrets.js';
import { parseSchedule } from './webhooks/url-policy.js';

export interface PlatformOptions {
  /** The platform's clock; tests move it to cross validity and expiry limits. */
  now?: () => number;
  /** An acquirer connector; in the sandbox, the sandbox acquirer otherwise. */
  acquirer?: Acquirer;
  notifier?: TerminalNotifier;
  /** told how long each acquirer call took and how it ended (the metrics) */
  observeAcquirer?: (call: AcquirerCall, outcome: string, seconds: number) => void;
  /** told how each webhook delivery attempt ended (the metrics) */
  observeWebhook?: (outcome: AttemptOutcome) => void;
  /** told of each public status a transaction came to, after its commit (the metrics) */
  observeTransaction?: StatusReached;
  /** hears what goes wrong in background work (the log) */
  onBackgroundError?: (e: unknown) => void;
}

const PRESENCE_FLUSH_MS = 5_000;

/** The use cases of the platform wired to one store, and the background work they need. */
export function createPlatform(store: Database, config: Config, options: PlatformOptions = {}) {
  const now = options.now ?? Date.now;
  // The sandbox acquirer decides by test card: never in production, where terminals report their
  // outcomes and capture, release and reversal need a connector (ACQUIRER_MODULE).
  const connector =
    options.acquirer ?? (config.CLOUDPOS_ENV === 'sandbox' ? new SandboxAcquirer({ timeoutMs: config.ACQUIRER_TIMEOUT_MS, slowMs: config.SANDBOX_SLOW_MS }) : undefined);
  const acquirer = connector && options.observeAcquirer ? timedAcquirer(connector, options.observeAcquirer) : connector;
  // Instances sharing PostgreSQL wake each other's long polls; SQLite is one instance's own.
  const notifier: TerminalNotifier =
    options.notifier ??
    (store.dialect === 'postgres'
      ? new PostgresNotifier({ url: config.DATABASE_LISTEN_URL ?? config.DATABASE_URL, applicationName: store.applicationName ?? '' })
      : new InProcessNotifier());
  // Revocations and rotations by any instance or the admin CLI reach the caches of checked secrets.
  const authChanges: AuthChanges =
    notifier instanceof PostgresNotifier ? notifier.auth : store.dialect === 'sqlite' ? new SqliteAuthChanges(store.db) : new LocalAuthChanges();
  // Another process wrote to the SQLite file: whatever this one remembers of transactions goes too.
  if (notifier instanceof InProcessNotifier && authChanges instanceof SqliteAuthChanges) {
    authChanges.watch((hash) => hash === null && notifier.forget());
  }
  const changes: ChangeSignals = changeSignalsOf(notifier);
  const onboarding = new OnboardingService(store, now);
  const apiKeys = new ApiKeyService(store, now, config.AUTH_CACHE_MS, authChanges);
  // Webhooks: the outbox's events, delivered off the request path, woken by every committed change.
  const events = new EventRepository(store.db, store.dialect);
  const webhookRepo = new WebhookRepository(store.db, store.dialect);
  const box = new SecretBox(parseEncryptionKey(config.SECRET_ENCRYPTION_KEY ?? SANDBOX_SECRET_ENCRYPTION_KEY)!);
  const policy = { production: config.CLOUDPOS_ENV === 'production', allowPrivate: config.WEBHOOK_ALLOW_PRIVATE };
  const schedule = parseSchedule(config.WEBHOOK_RETRY_SCHEDULE)!;
  const worker = new WebhookWorker(webhookRepo, box, now, { schedule, maxInFlight: config.WEBHOOK_MAX_IN_FLIGHT, policy }, options.observeWebhook, options.onBackgroundError);
  // What the events list and each endpoint's attempts count for X-Total-Count (log-counts.ts).
  const eventCounts = new LogCounts<number>(events, now, config.EVENT_RETENTION_DAYS);
  const attemptCounts = new LogCounts<string>(webhookRepo.attemptTally, now, config.EVENT_RETENTION_DAYS);
  const webhooks = new WebhookService(webhookRepo, events, box, policy, config.WEBHOOK_MAX_ENDPOINTS, now, () => worker.deliveriesMade(), { events: eventCounts, attempts: attemptCounts });
  const presence = new TerminalPresence(events, now, Math.max(3 * config.POLL_INTERVAL_MS, 2 * PRESENCE_FLUSH_MS), () => worker.wake());
  // A terminal found by its token is kept by the creations' directory and for the events that name
  // it (its going online first): the same object, not a copy read again per purpose.
  const deviceAuth = new DeviceAuth(onboarding.repo, now, config.AUTH_CACHE_MS, authChanges, (terminal) => {
    onboarding.remember(terminal);
    events.remember(terminal.pk, terminal);
  });
  const idempotency = new IdempotencyRepository(store.db);
  const closing = new AbortController();
  const transactions = transactionUseCases({
    database: store,
    terminals: onboarding,
    notifier,
    changes,
    events,
    presence,
    acquirer,
    now,
    closing: closing.signal,
    ...(options.observeTransaction && { reached: options.observeTransaction }),
    settings: {
      expiryMs: config.TRANSACTION_EXPIRY_MS,
      maxAmountMinor: config.MAX_AMOUNT_MINOR,
      acquirerTimeoutMs: config.ACQUIRER_TIMEOUT_MS,
      longPollMaxS: config.LONG_POLL_MAX_S,
    },
  });
  const timers: NodeJS.Timeout[] = [];
  let unwatch = () => {};

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
    acquirer,
    notifier,
    onboarding,
    apiKeys,
    presence,
    deviceAuth,
    idempotency,
    transactions,
    /** the counts /metrics reads when scraped */
    counts: new MetricsRepository(store.db),
    webhooks,
    worker,
    closing: closing.signal,
    ping: () => ping(store),
    async start() {
      await notifier.start?.();
      await authChanges.start?.();
      every(PRESENCE_FLUSH_MS, () => presence.flush());
      every(Math.min(5_000, Math.max(250, config.TRANSACTION_EXPIRY_MS / 4)), () => transactions.expireDue());
      every(Math.max(1_000, config.ACQUIRER_TIMEOUT_MS), () => transactions.recoverAbandoned());
      every(60 * 60 * 1000, () => idempotency.deleteOlderThan(now() - 2 * IDEMPOTENCY_TTL_MS));
      // Whole hours, from the lists' horizon back: an hour they show is never half deleted (LogCounts).
      every(60 * 60 * 1000, () => events.deleteOlderThan(logHorizon(now(), config.EVENT_RETENTION_DAYS)));
      unwatch = changes.watch(() => worker.wake());
      worker.start();
    },
    async stop() {
      closing.abort();
      unwatch();
      await worker.stop();
      for (const t of timers) clearInterval(t);
      await presence.flush().catch(() => {});
      await apiKeys.flushUsage().catch(() => {});
      await notifier.close();
      await authChanges.close?.();
    },
  };
}

export type Platform = ReturnType<typeof createPlatform>;
