import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ENTRY_MODES } from '../domain/card.js';
import { formatTerminalId } from '../domain/terminal-id.js';
import { problem, unwrap } from '../http/problem.js';
import { problems, StoreRef, Timestamp } from '../http/schemas.js';
import { Transaction, transactionView } from '../http/transaction-view.js';
import type { DeviceAuth } from '../services/device-auth.js';
import { waitForNotification, type TerminalNotifier } from '../services/notifier.js';
import type { TerminalPresence } from '../services/presence.js';
import type { TransactionService } from '../services/transactions.js';
import type { TerminalView } from '../store/onboarding-repository.js';
import type { Platform } from '../platform.js';

declare module 'fastify' {
  interface FastifyRequest {
    terminal: TerminalView;
  }
}

export interface DeviceApiOptions {
  auth: DeviceAuth;
  transactions: TransactionService;
  notifier: TerminalNotifier;
  presence: TerminalPresence;
  pollIntervalMs: number;
  longPollMaxS: number;
  environment: string;
  /** aborts held long polls when the server shuts down */
  closing: AbortSignal;
}

const DeviceConfig = Type.Object(
  {
    terminal: Type.Object({ id: Type.String(), manufacturer: Type.String(), model: Type.String(), serial: Type.String() }),
    cloud_integration: Type.Boolean(),
    poll_interval_ms: Type.Integer(),
    long_poll_max_wait_s: Type.Integer({ description: 'The longest `wait` the platform holds a poll' }),
    merchant: Type.Object({ name: Type.String() }),
    store: Type.Object({ ...StoreRef.properties, address: Type.String(), timezone: Type.String() }),
    receipt_width: Type.Integer(),
    currencies: Type.Array(Type.String(), { description: 'Accepted currencies' }),
    environment: Type.String({ examples: ['sandbox'] }),
    server_time: Timestamp(),
  },
  { $id: 'DeviceConfig', additionalProperties: false },
);

const CardPresented = Type.Object(
  {
    entry_mode: Type.Enum([...ENTRY_MODES]),
    card: Type.Object(
      {
        number: Type.String({ pattern: '^[0-9]{12,19}$', description: 'Given to the acquirer, never stored or logged' }),
        expiry: Type.String({ pattern: '^(0[1-9]|1[0-2])/[0-9]{2}$', examples: ['12/29'] }),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'CardPresented', additionalProperties: false },
);

const IdParams = Type.Object({ transactionId: Type.String() });
const security = [{ DeviceToken: [] }];
const tags = ['Device API'];

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header && /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1] : undefined;
}

/** The terminal side, under /device/v1: configuration, the next transaction (long poll), the card. */
export const deviceRoutes =
  (o: DeviceApiOptions): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.decorateRequest('terminal', null as unknown as TerminalView);
    const held = new Set<AbortController>();
    o.closing.addEventListener('abort', () => {
      for (const poll of held) poll.abort();
    });
    app.addHook('onRequest', async (request) => {
      const token = bearer(request);
      if (!token) throw problem('DEVICE_TOKEN_MISSING', 'Send the device token as Authorization: Bearer <token>.');
      const result = await o.auth.authenticate(token);
      if (!result.ok) throw problem('DEVICE_TOKEN_INVALID', result.detail);
      request.terminal = result.value;
      o.presence.markSeen(Number(result.value.id));
    });

    app.get(
      '/config',
      { schema: { operationId: 'deviceConfig', tags, security, summary: "The terminal's configuration, loaded at start", response: { 200: DeviceConfig, ...problems(401, 403) } } },
      async (request) => {
        const t = request.terminal;
        return {
          terminal: { id: formatTerminalId(t), manufacturer: t.manufacturer, model: t.model, serial: t.serial },
          cloud_integration: t.cloud_integration === 1,
          poll_interval_ms: o.pollIntervalMs,
          long_poll_max_wait_s: o.longPollMaxS,
          merchant: { name: t.merchant_name },
          store: { uuid: t.store_uuid, name: t.store_name, address: t.store_address, timezone: t.store_timezone },
          receipt_width: t.store_receipt_width,
          currencies: [t.store_currency],
          environment: o.environment,
          server_time: new Date().toISOString(),
        };
      },
    );

    app.get(
      '/transactions/next',
      {
        schema: {
          operationId: 'deviceNextTransaction',
          tags,
          security,
          summary: 'The transaction to handle (it becomes RETRIEVED), or 204; with wait=S, held up to S seconds until one arrives',
          querystring: Type.Object({ wait: Type.Optional(Type.Number({ minimum: 0, description: 'Seconds to hold the poll; cut to long_poll_max_wait_s' })) }),
          response: { 200: Transaction, 204: Type.Null({ description: 'Nothing to handle' }), ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const terminal = request.terminal;
        const pk = Number(terminal.id);
        const waitMs = Math.min(request.query.wait ?? 0, o.longPollMaxS) * 1000;
        const deadline = Date.now() + waitMs;
        // Ends a held poll when the terminal goes away or the server stops. Not AbortSignal.any with
        // the long-lived `closing` signal: on Node 20 every poll would stay referenced from it.
        const gone = new AbortController();
        const signal = gone.signal;
        const abort = () => gone.abort();
        if (waitMs > 0) {
          if (o.closing.aborted) gone.abort();
          held.add(gone);
          reply.raw.once('close', abort);
        }
        // A held poll keeps the terminal online while it waits; a plain poll was marked seen already.
        if (waitMs > 0) o.presence.pollStarted(pk);
        try {
          for (;;) {
            const remaining = deadline - Date.now();
            // Subscribe before looking, so a transaction created in between is not missed.
            const waiter = remaining > 0 && !signal.aborted ? waitForNotification(o.notifier, pk, remaining, signal) : undefined;
            const next = await o.transactions.next(terminal);
            if (next) {
              waiter?.cancel();
              return transactionView(next, terminal);
            }
            if (!waiter || (await waiter.ready) !== 'notified') return reply.code(204).send(null);
          }
        } finally {
          held.delete(gone);
          reply.raw.off('close', abort);
          if (waitMs > 0) o.presence.pollEnded(pk);
        }
      },
    );

    app.get(
      '/transactions/:transactionId',
      {
        schema: {
          operationId: 'deviceGetTransaction',
          tags,
          security,
          summary: 'One transaction of this terminal (to learn whether the one on screen was cancelled)',
          params: IdParams,
          response: { 200: Transaction, ...problems(401, 403, 404) },
        },
      },
      async (request) => {
        const t = await o.transactions.findForDevice(request.terminal, request.params.transactionId);
        if (!t) throw problem('NOT_FOUND', `There is no transaction ${request.params.transactionId} for this terminal.`);
        return transactionView(t, request.terminal);
      },
    );

    app.post(
      '/transactions/:transactionId/card',
      {
        schema: {
          operationId: 'deviceCardPresented',
          tags,
          security,
          summary: 'A card was presented: the platform asks the acquirer and answers the finished transaction with its receipt',
          description: 'Reporting the same card again answers the same outcome. 409 when the transaction was cancelled or superseded meanwhile.',
          params: IdParams,
          body: CardPresented,
          response: { 200: Transaction, ...problems(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request) => {
        const done = unwrap(await o.transactions.presentCard(request.terminal, request.params.transactionId, request.body));
        return transactionView(done, request.terminal);
      },
    );

    app.post(
      '/transactions/:transactionId/cancel',
      {
        schema: {
          operationId: 'deviceCancel',
          tags,
          security,
          summary: 'The cardholder or operator cancelled on the terminal',
          params: IdParams,
          response: { 200: Transaction, ...problems(401, 403, 404, 409) },
        },
      },
      async (request) => {
        const cancelled = unwrap(await o.transactions.cancelOnTerminal(request.terminal, request.params.transactionId));
        return transactionView(cancelled, request.terminal);
      },
    );
  };

/** The device API wired to the platform; `auth` decides who the caller is (device token by default). */
export function deviceRoutesOf(platform: Platform, auth: DeviceAuth = platform.deviceAuth) {
  const { config } = platform;
  return deviceRoutes({
    auth,
    transactions: platform.transactions,
    notifier: platform.notifier,
    presence: platform.presence,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    longPollMaxS: config.LONG_POLL_MAX_S,
    environment: config.CLOUDPOS_ENV,
    closing: platform.closing,
  });
}
