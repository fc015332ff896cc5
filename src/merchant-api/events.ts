import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery, pageOf, paginationHeaders, setPaginationHeaders } from '../http/pagination.js';
import { unwrap } from '../http/problem.js';
import { problems, Timestamp } from '../http/schemas.js';
import type { WebhookService } from '../webhooks/endpoints.js';
import { EventTypeSchema } from './webhooks.js';

const Event = Type.Object(
  {
    id: Type.String({ description: 'Also the webhook-id of its deliveries', examples: ['evt_6c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f'] }),
    type: EventTypeSchema,
    created_at: Timestamp('When the change it reports was committed'),
    sequence: Type.Integer({ minimum: 1, description: 'Grows by one per change of its transaction (or terminal): a receiver drops an event older than one it has' }),
    data: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'transaction.*: the transaction as GET /terminals/{id}/transactions/{txid} shows it, plus terminal_id. terminal.*: terminal_id, online, last_seen, store.',
      },
    ),
  },
  { $id: 'Event', additionalProperties: false },
);

const EventParams = Type.Object({ eventId: Type.String({ maxLength: 100, examples: ['evt_6c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f'] }) });

export const eventRoutes =
  (webhooks: WebhookService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tags = ['Webhooks and events'];

    app.get(
      '/events',
      {
        schema: {
          operationId: 'listEvents',
          tags,
          summary: 'The event log, newest first (kept at least 30 days)',
          querystring: Type.Object({ ...PageQuery.properties, type: Type.Optional(EventTypeSchema) }),
          response: { 200: { ...Type.Array(Event), headers: paginationHeaders }, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const page = pageOf(request.query);
        const { total, events } = await webhooks.listEvents(request.caller.customerId, request.query.type as never, page.offset, page.size);
        setPaginationHeaders(request, reply, total, page);
        return events;
      },
    );

    app.get(
      '/events/:eventId',
      {
        schema: {
          operationId: 'getEvent',
          tags,
          summary: 'One event',
          params: EventParams,
          response: { 200: Event, ...problems(401, 403, 404) },
        },
      },
      async (request) => unwrap(await webhooks.event(request.caller.customerId, request.params.eventId)),
    );

    app.post(
      '/events/:eventId/redeliver',
      {
        schema: {
          operationId: 'redeliverEvent',
          tags,
          summary: 'Send the event again, with the same webhook-id, to every endpoint subscribed to its type',
          params: EventParams,
          response: {
            202: Type.Object(
              { id: Type.String(), endpoints: Type.Integer({ description: 'How many endpoints it is sent to' }) },
              { $id: 'Redelivery', additionalProperties: false },
            ),
            ...problems(401, 403, 404),
          },
        },
      },
      async (request, reply) => {
        const queued = unwrap(await webhooks.redeliver(request.caller.customerId, request.params.eventId));
        return reply.code(202).send(queued);
      },
    );
  };
