import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery, pageOf, paginationHeaders, setPaginationHeaders } from '../http/pagination.js';
import { problem, unwrap } from '../http/problem.js';
import { problems, Timestamp } from '../http/schemas.js';
import { Amount, Transaction, TransactionStatus, TransactionTypeSchema, transactionView } from '../http/transaction-view.js';
import type { TransactionUseCases } from '../transactions/index.js';

const TerminalParams = Type.Object({
  terminalId: Type.String({ description: '{manufacturer}-{model}-{serial}, case-insensitive', examples: ['SUNMI-P2lite-PL0919CQ00305'] }),
});
const TransactionParams = Type.Object({ ...TerminalParams.properties, transactionId: Type.String({ examples: ['5456485215432746823746654987115'] }) });

const NewTransaction = Type.Object(
  {
    type: TransactionTypeSchema,
    merchant_order_reference: Type.String({ minLength: 1, maxLength: 100, description: "The customer system's own reference, e.g. the invoice number" }),
    amount: Amount,
    reference: Type.Optional(
      Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: false, description: 'For a referenced REFUND: the id of the purchase' }),
    ),
  },
  { $id: 'NewTransaction', additionalProperties: false },
);

const CaptureRequest = Type.Object(
  { amount: Type.Optional(Amount) },
  { $id: 'CaptureRequest', additionalProperties: false, description: 'Without amount, all that was authorized is captured' },
);

const ListQuery = Type.Object({
  ...PageQuery.properties,
  merchant_order_reference: Type.Optional(Type.String({ description: 'Only transactions with this reference (find one after a lost response)' })),
  status: Type.Optional(TransactionStatus),
  type: Type.Optional(TransactionTypeSchema),
  created_from: Type.Optional(Timestamp('Created at or after')),
  created_to: Type.Optional(Timestamp('Created before')),
});

const idempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Retry safely: the same key and body answer the first response again' })),
});

const DayTotals = Type.Object(
  {
    terminal_id: Type.String(),
    date: Type.String({ format: 'date', description: "Today in the store's time zone" }),
    timezone: Type.String(),
    currencies: Type.Array(
      Type.Object({
        currency: Type.String(),
        count: Type.Integer({ description: 'Cleared transactions of every type' }),
        net_total: Amount,
        per_type: Type.Array(Type.Object({ type: TransactionTypeSchema, count: Type.Integer(), total: Amount })),
        per_brand: Type.Array(Type.Object({ brand: Type.String(), count: Type.Integer(), net_total: Amount })),
        open_pre_authorizations: Type.Object({ count: Type.Integer(), total: Amount }),
      }),
    ),
    receipt: Type.String({ description: 'The same totals as a fixed-width plain-text receipt' }),
  },
  { $id: 'DayTotals', additionalProperties: false },
);

export const transactionRoutes =
  (transactions: TransactionUseCases): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tags = ['Transactions'];

    app.get(
      '/terminals/:terminalId/transactions',
      {
        schema: {
          operationId: 'listTransactions',
          tags,
          summary: "List a terminal's transactions, newest first",
          params: TerminalParams,
          querystring: ListQuery,
          response: { 200: { ...Type.Array(Transaction), headers: paginationHeaders }, ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const page = pageOf(request.query);
        const { merchant_order_reference, status, type, created_from, created_to } = request.query;
        const listed = unwrap(
          await transactions.list(
            request.caller,
            request.params.terminalId,
            {
              ...(merchant_order_reference !== undefined && { merchant_order_reference }),
              ...(status !== undefined && { status }),
              ...(type !== undefined && { type }),
              ...(created_from !== undefined && { created_from: Date.parse(created_from) }),
              ...(created_to !== undefined && { created_to: Date.parse(created_to) }),
            },
            page.offset,
            page.size,
          ),
        );
        setPaginationHeaders(request, reply, listed.total, page);
        return listed.transactions.map((t) => transactionView(t, listed.terminal.store));
      },
    );

    app.post(
      '/terminals/:terminalId/transactions',
      {
        schema: {
          operationId: 'createTransaction',
          tags,
          summary: 'Push a payment, refund or pre-authorization to a terminal',
          description:
            'One payment at a time per terminal: one the terminal has not fetched yet is cancelled (SUPERSEDED) and replaced; when the terminal already has one, 409.',
          params: TerminalParams,
          headers: idempotencyHeader,
          body: NewTransaction,
          response: {
            201: { ...Transaction, headers: { Location: Type.String({ description: 'The new transaction' }) } },
            ...problems(400, 401, 403, 404, 409, 415, 422),
          },
        },
      },
      async (request, reply) => {
        const { terminal, transaction } = unwrap(await transactions.create(request.caller, request.params.terminalId, request.body));
        reply.code(201).header('Location', `/terminals/${encodeURIComponent(terminal.id)}/transactions/${transaction.id}`);
        return transactionView(transaction, terminal.store);
      },
    );

    app.get(
      '/terminals/:terminalId/transactions/:transactionId',
      {
        schema: {
          operationId: 'getTransaction',
          tags,
          summary: 'Get the status of a transaction; with wait=S, wait up to S seconds for its outcome',
          description:
            'With `wait=S` (0 to 60 seconds): answered at once when the transaction is final for the customer system (CLEARED, CANCELLED, or AUTHORIZED for a pre-authorization); otherwise held and answered the moment its status changes, or after S seconds with its state then.',
          params: TransactionParams,
          querystring: Type.Object({
            wait: Type.Optional(Type.Number({ minimum: 0, maximum: 60, description: 'Seconds to wait for a change of status (0 to 60)', examples: [30] })),
          }),
          response: { 200: Transaction, ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const { terminalId, transactionId } = request.params;
        const wait = request.query.wait ?? 0;
        if (wait > 0) {
          const { store, transaction } = unwrap(await transactions.awaitStatus(request.caller, terminalId, transactionId, wait, reply.raw));
          return transactionView(transaction, store);
        }
        // Sent as the bytes the route's serializer made the first time, until the transaction changes.
        const body = unwrap(
          await transactions.statusView(request.caller, terminalId, transactionId, ({ transaction, store }) => reply.serialize(transactionView(transaction, store)) as string),
        );
        return reply.type('application/json; charset=utf-8').send(body as never);
      },
    );

    app.delete(
      '/terminals/:terminalId/transactions/:transactionId',
      {
        schema: {
          operationId: 'cancelTransaction',
          tags,
          summary: 'Cancel a transaction before a card is presented',
          description: '204 while no card has been presented (also when it is already cancelled); 409 once a card has been presented.',
          params: TransactionParams,
          response: { 204: Type.Null({ description: 'Cancelled' }), ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        unwrap(await transactions.cancelByCustomer(request.caller, request.params.terminalId, request.params.transactionId));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/terminals/:terminalId/transactions/:transactionId/capture',
      {
        schema: {
          operationId: 'capturePreAuthorization',
          tags,
          summary: 'Capture an authorized pre-authorization (once; at most the authorized amount)',
          params: TransactionParams,
          headers: idempotencyHeader,
          body: CaptureRequest,
          response: { 200: Transaction, ...problems(400, 401, 403, 404, 409, 422, 501, 502) },
        },
        preValidation: async (request) => {
          request.body ??= {};
        },
      },
      async (request) => {
        const amount = request.body.amount;
        const captured = unwrap(
          await transactions.capture(request.caller, request.params.terminalId, request.params.transactionId, amount),
        );
        return transactionView(captured.transaction, captured.store);
      },
    );

    app.post(
      '/terminals/:terminalId/transactions/:transactionId/release',
      {
        schema: {
          operationId: 'releasePreAuthorization',
          tags,
          summary: 'Release an authorized pre-authorization (once)',
          params: TransactionParams,
          headers: idempotencyHeader,
          response: { 200: Transaction, ...problems(401, 403, 404, 409, 501, 502) },
        },
      },
      async (request) => {
        const released = unwrap(await transactions.release(request.caller, request.params.terminalId, request.params.transactionId));
        return transactionView(released.transaction, released.store);
      },
    );

    app.get(
      '/terminals/:terminalId/daytotals/today',
      {
        schema: {
          operationId: 'getDayTotalsToday',
          tags,
          summary: "Today's totals of a terminal, as JSON with a formatted receipt (or the receipt alone with Accept: text/plain)",
          params: TerminalParams,
          produces: ['application/json', 'text/plain'],
          response: { 200: DayTotals, ...problems(401, 403, 404, 406) },
        },
      },
      async (request, reply) => {
        const day = unwrap(await transactions.dayTotals(request.caller, request.params.terminalId));
        const accept = request.headers.accept ?? '*/*';
        const body = {
          terminal_id: day.terminal.id,
          date: day.date,
          timezone: day.timezone,
          currencies: day.totals.currencies,
          receipt: day.receipt,
        };
        if (/text\/plain/.test(accept) && !/application\/json/.test(accept)) {
          // A string with a non-JSON type is sent as it is, past the JSON serializer.
          return reply.type('text/plain; charset=utf-8').send(day.receipt as never);
        }
        if (!/application\/json|\*\/\*|application\/\*/.test(accept)) {
          throw problem('NOT_ACCEPTABLE', 'Day totals are available as application/json or text/plain.');
        }
        return body;
      },
    );
  };
