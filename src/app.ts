import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { registerAjvFormats } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { loadAcquirer } from './acquirer/connector.js';
import { SandboxAcquirer } from './acquirer/sandbox.js';
import { ConfigError, type Config } from './config.js';
import { installErrorHandling, routePattern } from './http/errors.js';
import { problem, sendProblem } from './http/problem.js';
import { documentEveryRouteProblems, ProblemDetails, StoreRef } from './http/schemas.js';
import { apiKeyRoutes } from './merchant-api/apikeys.js';
import { installApiKeyAuth } from './merchant-api/auth.js';
import { storeRoutes } from './merchant-api/stores.js';
import { terminalRoutes } from './merchant-api/terminals.js';
import { transactionRoutes } from './merchant-api/transactions.js';
import { eventRoutes } from './merchant-api/events.js';
import { webhookRoutes } from './merchant-api/webhooks.js';
import { deviceRoutesOf } from './device-api/routes.js';
import { installIdempotency } from './http/idempotency.js';
import { installRequestId, serverOptions } from './http/connection.js';
import { installInputGuard } from './http/input-guard.js';
import { validatorCompiler } from './http/validator.js';
import { sharedSerializers } from './http/serializers.js';
import { installPublicUrl } from './http/public-url.js';
import { homeRoute } from './http/home.js';
import { PlatformMetrics } from './http/metrics.js';
import { pendingMigrations } from './db/migration-status.js';
import { apiKeyOf, bearerOf, installRateLimit } from './http/rate-limit.js';
import { createPlatform, type Platform, type PlatformOptions } from './platform.js';
import type { Database } from './db/database.js';

declare module 'fastify' {
  interface FastifyInstance {
    platform: Platform;
  }
}

export interface AppOptions extends PlatformOptions {
  config: Config;
  store: Database;
  logger?: FastifyServerOptions['logger'];
  https?: { cert: Buffer; key: Buffer };
}

registerAjvFormats();

/** Builds the whole HTTP application without listening: the server and the tests both use it. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, store } = options;
  const hardened = serverOptions(config);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    ...hardened,
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } },
    // https.createServer takes the http options (connection checks, header timeout) beside the TLS ones.
    ...(options.https ? { https: { ...hardened.http, ...options.https } } : {}),
  }).setValidatorCompiler(validatorCompiler);

  const acquirer = options.acquirer ?? (config.ACQUIRER_MODULE ? await loadAcquirer(config.ACQUIRER_MODULE) : undefined);
  if (config.CLOUDPOS_ENV === 'production' && acquirer instanceof SandboxAcquirer) {
    throw new ConfigError('ACQUIRER_MODULE: the sandbox acquirer decides by test card and cannot serve production');
  }
  const metrics = new PlatformMetrics();
  const platform = createPlatform(store, config, {
    ...options,
    ...(acquirer && { acquirer }),
    observeAcquirer: metrics.observeAcquirer,
    observeWebhook: metrics.observeWebhook,
    observeTransaction: metrics.observeTransaction,
    onBackgroundError: (e) => app.log.warn({ err: e }, 'webhook delivery work failed; it is tried again'),
  });
  app.decorate('platform', platform);
  app.decorate('metrics', metrics);
  metrics.watch(platform);

  const routes: Array<{ method: string; pattern: RegExp }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, pattern: routePattern(route.url) });
    }
  });
  app.decorateRequest('secretHash', null);
  installRequestId(app);
  installErrorHandling(app, () => routes);
  installInputGuard(app);
  installPublicUrl(app);
  documentEveryRouteProblems(app);
  metrics.install(app, { route: config.METRICS_PORT === undefined });
  // Only JSON bodies are accepted: anything else is a 415, not a silently parsed string.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'cloudpos MerchantAPI',
        version: '1.0.0',
        description:
          'Push a payment to one terminal, follow it, cancel it, refund it. Every error is application/problem+json (RFC 9457). Lists paginate with page/size and answer X-Total-Count and Link headers.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          ApiKey: { type: 'apiKey', in: 'header', name: 'API-Key', description: 'The API key issued at onboarding or created through /apikeys' },
          DeviceToken: { type: 'http', scheme: 'bearer', description: 'The device token issued when the terminal was registered' },
        },
      },
      security: [{ ApiKey: [] }],
      tags: [
        { name: 'API keys', description: 'Rotate API keys without help from the operators' },
        { name: 'Stores and terminals', description: "The customer's stores and terminals across its merchants" },
        { name: 'Transactions', description: 'Payments, refunds and pre-authorizations pushed to one terminal' },
        { name: 'Webhooks and events', description: 'Signed deliveries of every change (Standard Webhooks), the event log, redelivery' },
        { name: 'Device API', description: 'The terminal side: configuration, the next transaction (long poll), the card presented' },
        { name: 'Service', description: 'Where to start: links to the reference, this document and the simulator' },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.addSchema(ProblemDetails);
  app.addSchema(StoreRef);
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(homeRoute);
  app.get('/healthz', { schema: { hide: true } }, async (request, reply) => {
    try {
      await platform.ping();
      return { status: 'ok' };
    } catch {
      return sendProblem(reply, request, problem('SERVICE_UNAVAILABLE', 'The database does not answer.'));
    }
  });
  // Ready for traffic: the database answers and carries every migration this version knows.
  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    let pending: string[];
    try {
      await platform.ping();
      pending = await pendingMigrations(store);
    } catch {
      return sendProblem(reply, request, problem('SERVICE_UNAVAILABLE', 'The database does not answer.'));
    }
    if (pending.length > 0) {
      const detail = `The database's migrations are behind this version (${pending.join(', ')} not applied): run \`cloudpos migrate\`.`;
      return sendProblem(reply, request, problem('SERVICE_UNAVAILABLE', detail, { pending_migrations: pending }));
    }
    return { status: 'ready' };
  });

  await app.register(async (merchantApi) => {
    installApiKeyAuth(merchantApi, platform.apiKeys);
    await installRateLimit(merchantApi, { perMinute: config.RATE_LIMIT_API_KEY_PER_MIN, credential: apiKeyOf, headersUnderLimit: true, remembered: 5_000 });
    installIdempotency(merchantApi, platform.idempotency, platform.now);
    await merchantApi.register(apiKeyRoutes(platform.apiKeys));
    await merchantApi.register(storeRoutes(platform.onboarding));
    await merchantApi.register(terminalRoutes(platform.onboarding, platform.presence));
    await merchantApi.register(transactionRoutes(platform.transactions));
    await merchantApi.register(webhookRoutes(platform.webhooks));
    await merchantApi.register(eventRoutes(platform.webhooks));
  });

  await app.register(
    async (deviceApi) => {
      await installRateLimit(deviceApi, { perMinute: config.RATE_LIMIT_DEVICE_PER_MIN, credential: bearerOf, headersUnderLimit: false, remembered: 50_000 });
      await deviceApi.register(deviceRoutesOf(platform));
    },
    { prefix: '/device/v1' },
  );

  await app.register(import('./simulator/screen-routes.js'));
  app.addHook('onReady', async () => platform.start());
  // Stop first so held long polls answer at once instead of delaying the shutdown.
  app.addHook('preClose', async () => platform.stop());
  return app;
}
