import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BRANDS, cardNumberIn, ENTRY_MODES } from '../domain/card.js';
import { CARDHOLDER_VERIFICATIONS } from '../domain/receipt.js';
import type { Result } from '../domain/result.js';
import type { Terminal } from '../domain/terminal.js';
import { problem, unwrap } from '../http/problem.js';
import { bearerOf, secretHashOf } from '../http/rate-limit.js';
import { OneLine, problems, StoreRef, Timestamp } from '../http/schemas.js';
import { Transaction, transactionView } from '../http/transaction-view.js';
import type { DeviceAuth } from '../services/device-auth.js';
import type { TerminalPresence } from '../services/presence.js';
import type { TransactionUseCases } from '../transactions/index.js';
import type { Platform } from '../platform.js';

declare module 'fastify' {
  interface FastifyRequest {
    terminal: Terminal;
  }
}

export interface DeviceApiOptions {
  auth: DeviceAuth;
  transactions: TransactionUseCases;
  presence: TerminalPresence;
  pollIntervalMs: number;
  longPollMaxS: number;
  environment: string;
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

const CardPresentedByTerminal = Type.Object(
  { entry_mode: Type.Enum([...ENTRY_MODES]) },
  { $id: 'CardPresentedByTerminal', additionalProperties: false, description: 'The card was presented to the terminal\'s own payment app' },
);

const TerminalOutcome = Type.Object(
  {
    result: Type.Enum(['APPROVED', 'DECLINED']),
    entry_mode: Type.Enum([...ENTRY_MODES]),
    card: Type.Object(
      { brand: Type.Enum([...BRANDS]), last4: Type.String({ pattern: '^[0-9]{4}$' }) },
      { additionalProperties: false, description: 'Never the card number: its brand and last four digits' },
    ),
    authorization_code: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{1,12}$', description: 'Required when APPROVED', examples: ['54PQMX'] })),
    acquirer_reference: Type.Optional(OneLine({ minLength: 1, maxLength: 100, description: "The acquirer's reference: capture, release and reversal name it" })),
    emv: Type.Optional(
      Type.Object(
        {
          aid: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{10,32}$', examples: ['A0000000031010'] })),
          application_label: Type.Optional(OneLine({ minLength: 1, maxLength: 32, examples: ['VISA CREDIT'] })),
          cvm: Type.Optional(Type.Enum([...CARDHOLDER_VERIFICATIONS])),
        },
        { additionalProperties: false, description: 'Printed on the receipt' },
      ),
    ),
    decline_reason: Type.Optional(OneLine({ minLength: 1, maxLength: 64, description: 'DECLINED only', examples: ['INSUFFICIENT_FUNDS'] })),
  },
  { $id: 'TerminalOutcome', additionalProperties: false },
);

/** Refuses a body holding anything that looks like a full card number, before it is validated (so
 * that no error message repeats it) and without logging it. */
async function refuseCardNumbers(request: FastifyRequest) {
  const pointer = cardNumberIn(request.body, ['/emv/aid']);
  if (pointer !== undefined) {
    throw problem('VALIDATION_FAILED', 'The request holds what looks like a full card number: a terminal reports the brand and the last four digits only.', {
      errors: [{ pointer, in: 'body', detail: 'must not hold 12 or more digits in a row' }],
    });
  }
}

const IdParams = Type.Object({ transactionId: Type.String() });
const security = [{ DeviceToken: [] }];
const tags = ['Device API'];

/** The terminal side, under /device/v1: configuration, the next transaction (long poll), the card. */
export const deviceRoutes =
  (o: DeviceApiOptions): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.decorateRequest('terminal', null as unknown as Terminal);
    // A callback hook: a token kept in memory is answered without a promise (every poll asks).
    app.addHook('onRequest', (request, _reply, done) => {
      const token = bearerOf(request);
      if (!token) return done(problem('DEVICE_TOKEN_MISSING', 'Send the device token as Authorization: Bearer <token>.'));
      const hash = secretHashOf(request, token);
      const admit = (result: Result<Terminal, 'DEVICE_TOKEN_INVALID'>) => {
        if (!result.ok) return done(problem('DEVICE_TOKEN_INVALID', result.detail));
        request.terminal = result.value;
        o.presence.markSeen(result.value.pk);
        done();
      };
      const known = o.auth.remembered(hash);
      if (known) admit(known);
      else o.auth.authenticate(token, hash).then(admit, done);
    });

    app.get(
      '/config',
      { schema: { operationId: 'deviceConfig', tags, security, summary: "The terminal's configuration, loaded at start", response: { 200: DeviceConfig, ...problems(401, 403) } } },
      async (request) => {
        const t = request.terminal;
        return {
          terminal: { id: t.id, manufacturer: t.manufacturer, model: t.model, serial: t.serial },
          cloud_integration: t.cloud_integration,
          poll_interval_ms: o.pollIntervalMs,
          long_poll_max_wait_s: o.longPollMaxS,
          merchant: { name: t.merchant.name },
          store: { uuid: t.store.uuid, name: t.store.name, address: t.store.address, timezone: t.store.timezone },
          receipt_width: t.store.receipt_width,
          currencies: [t.store.currency],
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
      // Answered by callback: a held poll keeps no async function or promise for its wait.
      (request, reply) => {
        o.transactions.next(request.terminal, request.query.wait ?? 0, reply.raw, (error, next) => {
          try {
            if (error) throw error;
            if (next) void reply.send(transactionView(next, request.terminal.store));
            else void reply.code(204).send(null);
          } catch (e) {
            // To the error handler, as a rejected handler's would go (typed replies take views only).
            void (reply as FastifyReply).send(e);
          }
        });
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
        const t = unwrap(await o.transactions.forTerminal(request.terminal, request.params.transactionId));
        return transactionView(t, request.terminal.store);
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
          response: { 200: Transaction, ...problems(400, 401, 403, 404, 409, 422, 501) },
        },
        // Production never receives a card number: its terminals report outcomes instead.
        preValidation: async () => {
          if (o.environment === 'production') {
            throw problem('CARD_DATA_REFUSED', 'This platform accepts no card data: report the card with /presented and the payment app\'s answer with /outcome.');
          }
        },
      },
      async (request) => {
        const done = unwrap(await o.transactions.presentCard(request.terminal, request.params.transactionId, request.body));
        return transactionView(done, request.terminal.store);
      },
    );

    app.post(
      '/transactions/:transactionId/presented',
      {
        schema: {
          operationId: 'deviceCardPresentedToTerminal',
          tags,
          security,
          summary: "A card was presented to the terminal's own payment app: a DELETE from now on answers 409",
          description: '409 when the transaction was cancelled meanwhile (exactly one of the two wins). Saying it again answers the same.',
          params: IdParams,
          body: CardPresentedByTerminal,
          response: { 200: Transaction, ...problems(400, 401, 403, 404, 409) },
        },
        preValidation: refuseCardNumbers,
      },
      async (request) => {
        const t = unwrap(await o.transactions.presented(request.terminal, request.params.transactionId, request.body.entry_mode));
        return transactionView(t, request.terminal.store);
      },
    );

    app.post(
      '/transactions/:transactionId/outcome',
      {
        schema: {
          operationId: 'deviceReportOutcome',
          tags,
          security,
          summary: "The terminal's payment app reports the acquirer's answer: the platform records it and builds the receipts",
          description:
            'Accepted after `presented`, or straight from RETRIEVED. The same outcome again answers the same transaction; a different one, or one for a cancelled transaction, is a 409 (the terminal must reverse the payment). A body holding 12 or more digits in a row anywhere but `emv.aid` is refused with 400.',
          params: IdParams,
          body: TerminalOutcome,
          response: { 200: Transaction, ...problems(400, 401, 403, 404, 409) },
        },
        preValidation: refuseCardNumbers,
      },
      async (request) => {
        const outcome = request.body;
        if (outcome.result === 'APPROVED' && outcome.authorization_code === undefined) {
          throw problem('VALIDATION_FAILED', 'An APPROVED outcome needs its authorization_code.', { errors: [{ pointer: '/authorization_code', in: 'body', detail: 'is required when APPROVED' }] });
        }
        if (outcome.result === 'APPROVED' && outcome.decline_reason !== undefined) {
          throw problem('VALIDATION_FAILED', 'Only a DECLINED outcome has a decline_reason.', { errors: [{ pointer: '/decline_reason', in: 'body', detail: 'is for DECLINED only' }] });
        }
        const t = unwrap(await o.transactions.outcome(request.terminal, request.params.transactionId, outcome));
        return transactionView(t, request.terminal.store);
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
        return transactionView(cancelled, request.terminal.store);
      },
    );
  };

/** The device API wired to the platform; `auth` decides who the caller is (device token by default). */
export function deviceRoutesOf(platform: Platform, auth: DeviceAuth = platform.deviceAuth) {
  const { config } = platform;
  return deviceRoutes({
    auth,
    transactions: platform.transactions,
    presence: platform.presence,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    longPollMaxS: config.LONG_POLL_MAX_S,
    environment: config.CLOUDPOS_ENV,
  });
}
