import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, onResponseHookHandler } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AcquirerCall } from '../acquirer/timed.js';
import { AnswerMetrics } from './answer-metrics.js';
import type { PublicStatus, TransactionType } from '../domain/transaction-lifecycle.js';
import type { Platform } from '../platform.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: PlatformMetrics;
  }
}

/** Long polls last up to LONG_POLL_MAX_S (at most 300 s): the upper buckets keep them apart from
 * ordinary requests. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const ACQUIRER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The platform's Prometheus metrics, one registry per app (tests build many apps in one process). */
export class PlatformMetrics {
  readonly registry = new Registry();
  private readonly answers = new AnswerMetrics(this.registry, HTTP_BUCKETS, {
    count: 'cloudpos_http_requests_total',
    countHelp: 'HTTP requests answered, by method, route pattern and status',
    time: 'cloudpos_http_request_duration_seconds',
    timeHelp: 'Time from receiving a request to answering it, by method, route pattern and status (held polls included)',
  });
  private readonly acquirer = new Histogram({
    name: 'cloudpos_acquirer_request_duration_seconds',
    help: 'Acquirer calls by operation (authorize, capture, release, reverse) and outcome (UNAVAILABLE: no answer)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: ACQUIRER_BUCKETS,
    registers: [this.registry],
  });

  private readonly webhookAttempts = new Counter({
    name: 'cloudpos_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: DELIVERED (a 2xx within 10 s), RETRYING (another attempt follows), FAILED (the last attempt failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly webhookFailures = new Counter({
    name: 'cloudpos_webhook_delivery_failures_total',
    help: 'Webhook delivery attempts that got no 2xx within 10 s (RETRYING and FAILED)',
    registers: [this.registry],
  });

  private readonly statuses = new Counter({
    name: 'cloudpos_transactions_total',
    help: 'Transactions this instance brought to each public status, after the commit: a new one to CREATED, a move to the status it changes to',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });
  /** Its series by type and status, each child made once (its `inc` still hashes the labels: once
   * per transaction move, not per request as the answers' metrics would). */
  private readonly statusSeries = new Map<string, { inc(): void }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** For the platform's acquirer (PlatformOptions.observeAcquirer). */
  readonly observeAcquirer = (operation: AcquirerCall, outcome: string, seconds: number) => this.acquirer.observe({ operation, outcome }, seconds);

  /** For the platform's webhook worker (PlatformOptions.observeWebhook). */
  readonly observeWebhook = (outcome: 'DELIVERED' | 'RETRYING' | 'FAILED') => {
    this.webhookAttempts.inc({ outcome });
    if (outcome !== 'DELIVERED') this.webhookFailures.inc();
  };

  /** For the platform's transactions (PlatformOptions.observeTransaction). */
  readonly observeTransaction = (type: TransactionType, status: PublicStatus) => {
    const key = `${type} ${status}`;
    let series = this.statusSeries.get(key);
    if (!series) this.statusSeries.set(key, (series = this.statuses.labels({ type, status })));
    series.inc();
  };

  /** The gauges read from the platform when scraped. */
  watch(platform: Platform) {
    const repo = platform.counts;
    const registers = [this.registry];
    new Gauge({
      name: 'cloudpos_held_polls',
      help: 'Terminal long polls this instance holds right now',
      registers,
      collect() {
        this.set(platform.transactions.heldPolls());
      },
    });
    new Gauge({
      name: 'cloudpos_terminals_online',
      help: 'Terminals seen within the online window, by any instance sharing the database',
      registers,
      async collect() {
        // What this instance saw since its last flush counts too.
        await platform.presence.flush().catch(() => {});
        this.set(await repo.terminalsSeenSince(platform.now() - platform.presence.onlineWindowMs));
      },
    });
    new Gauge({
      name: 'cloudpos_transactions_open',
      help: 'Open transactions in the database (not yet done), by type and terminal stage (PENDING, RETRIEVED, CARD_PRESENTED)',
      labelNames: ['type', 'stage'] as const,
      registers,
      async collect() {
        this.reset();
        for (const { type, stage, n } of await platform.transactions.openCounts()) this.set({ type, stage }, n);
      },
    });
    const pool = platform.store.pool;
    if (pool) {
      new Gauge({
        name: 'cloudpos_db_pool_connections',
        help: "PostgreSQL connection pool: connections open (total), idle, and queries waiting for one (waiting)",
        labelNames: ['state'] as const,
        registers,
        collect() {
          const { total, idle, waiting } = pool();
          this.set({ state: 'total' }, total);
          this.set({ state: 'idle' }, idle);
          this.set({ state: 'waiting' }, waiting);
        },
      });
    }
  }

  /** Counts and times every answer, by its route pattern (not the path, which carries ids): each
   * route registered from now on with a hook of its own that knows its pattern (reading it from
   * the request builds Fastify's route options every time), a request no route matched by the
   * scope's. */
  install(app: FastifyInstance, options: { route: boolean }) {
    app.addHook('onRoute', (route) => {
      const answered = this.answers.route(route.url);
      const hook: onResponseHookHandler = (request, reply, done) => {
        answered(request.method, reply.statusCode, reply.elapsedTime / 1000);
        done();
      };
      route.onResponse = [...[route.onResponse ?? []].flat(), hook];
    });
    const unmatched = this.answers.route('(unmatched)');
    app.addHook('onResponse', (request, reply, done) => {
      if (request.is404) unmatched(request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
    if (options.route) {
      app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
        const text = await this.registry.metrics();
        return reply.type(this.registry.contentType).send(text);
      });
    }
    app.addHook('onClose', async () => {
      const server = this.server;
      this.server = undefined;
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    });
  }

  private server: Server | undefined;

  /** Serves GET /metrics alone on its own port (METRICS_PORT), closed with the app. */
  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
          () => res.writeHead(500).end(),
        );
        return;
      }
      const requestId = randomUUID();
      const body = JSON.stringify({
        type: 'urn:cloudpos:problem:not-found',
        title: 'Not Found',
        status: 404,
        detail: 'This port serves GET /metrics only.',
        instance: path,
        request_id: requestId,
      });
      res.writeHead(404, { 'content-type': 'application/problem+json', 'request-id': requestId }).end(body);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }
}
