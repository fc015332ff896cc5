import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery, pageOf, paginationHeaders, setPaginationHeaders } from '../http/pagination.js';
import { unwrap } from '../http/problem.js';
import { problems, Timestamp } from '../http/schemas.js';
import { EVENT_TYPES } from '../webhooks/event-types.js';
import type { WebhookService } from '../webhooks/endpoints.js';

export const EventTypeSchema = Type.Enum([...EVENT_TYPES], { $id: 'EventType' });

const endpointFields = {
  id: Type.String({ examples: ['we_3f1c2a9b0d4e5f6a7b8c9d0e'] }),
  url: Type.String({ format: 'uri' }),
  events: Type.Union([Type.Array(EventTypeSchema), Type.Null()], { description: 'The types it receives; null: every type, including types added later' }),
  description: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp(),
};

const WebhookEndpoint = Type.Object(endpointFields, { $id: 'WebhookEndpoint', additionalProperties: false });

const NewWebhookEndpoint = Type.Object(
  {
    ...endpointFields,
    secret: Type.String({ description: 'The signing secret (`whsec_…`), Standard Webhooks. Shown only in this response.' }),
  },
  { $id: 'NewWebhookEndpoint', additionalProperties: false },
);

const NewWebhookEndpointRequest = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'https:// (in the sandbox http:// too) where events are POSTed' }),
    events: Type.Optional(Type.Array(EventTypeSchema, { minItems: 1, maxItems: EVENT_TYPES.length * 2, description: 'Without it, every type' })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { $id: 'NewWebhookEndpointRequest', additionalProperties: false },
);

const SigningSecret = Type.Object(
  { secret: Type.String({ description: 'The new signing secret; the replaced one keeps signing beside it for 24 hours' }) },
  { $id: 'WebhookSigningSecret', additionalProperties: false },
);

const DeliveryAttempt = Type.Object(
  {
    event_id: Type.String(),
    type: EventTypeSchema,
    attempt: Type.Integer({ minimum: 1, description: '1 for the first, then one more per retry' }),
    at: Timestamp('When the attempt started'),
    status_code: Type.Optional(Type.Integer({ description: "The receiver's HTTP status" })),
    error: Type.Optional(Type.String({ description: 'Why there was no HTTP status (no connection, no answer within 10 s, or not sent: the last attempt to the endpoint got no answer within 10 s)' })),
    duration_ms: Type.Integer(),
    outcome: Type.Enum(['DELIVERED', 'RETRYING', 'FAILED'], { description: 'DELIVERED: a 2xx within 10 s; RETRYING: another attempt follows; FAILED: the last one failed' }),
  },
  { $id: 'WebhookDeliveryAttempt', additionalProperties: false },
);

const EndpointParams = Type.Object({ endpointId: Type.String({ maxLength: 100, examples: ['we_3f1c2a9b0d4e5f6a7b8c9d0e'] }) });

export const webhookRoutes =
  (webhooks: WebhookService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tags = ['Webhooks and events'];

    app.post(
      '/webhook-endpoints',
      {
        config: { secretResponse: true },
        schema: {
          operationId: 'createWebhookEndpoint',
          tags,
          summary: 'Register a URL for signed event deliveries (the signing secret is shown once)',
          description:
            'In production the URL must be https:// and its host must not resolve to a loopback, private or link-local address (unless WEBHOOK_ALLOW_PRIVATE=true). 409 when the customer has WEBHOOK_MAX_ENDPOINTS (16 unless set) already.',
          body: NewWebhookEndpointRequest,
          response: { 201: NewWebhookEndpoint, ...problems(400, 401, 403, 409, 415) },
        },
      },
      async (request, reply) => {
        const created = unwrap(await webhooks.create(request.caller.customerId, request.body));
        reply.code(201).header('Location', `/webhook-endpoints/${created.id}`);
        return created;
      },
    );

    app.get(
      '/webhook-endpoints',
      {
        schema: {
          operationId: 'listWebhookEndpoints',
          tags,
          summary: 'List the webhook endpoints, newest first (without secrets)',
          querystring: PageQuery,
          response: { 200: { ...Type.Array(WebhookEndpoint), headers: paginationHeaders }, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const page = pageOf(request.query);
        const { total, endpoints } = await webhooks.list(request.caller.customerId, page.offset, page.size);
        setPaginationHeaders(request, reply, total, page);
        return endpoints;
      },
    );

    app.get(
      '/webhook-endpoints/:endpointId',
      {
        schema: {
          operationId: 'getWebhookEndpoint',
          tags,
          summary: 'Get a webhook endpoint (without its secret)',
          params: EndpointParams,
          response: { 200: WebhookEndpoint, ...problems(401, 403, 404) },
        },
      },
      async (request) => unwrap(await webhooks.get(request.caller.customerId, request.params.endpointId)),
    );

    app.delete(
      '/webhook-endpoints/:endpointId',
      {
        schema: {
          operationId: 'deleteWebhookEndpoint',
          tags,
          summary: 'Delete a webhook endpoint; what was still to be sent to it is dropped',
          params: EndpointParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        unwrap(await webhooks.delete(request.caller.customerId, request.params.endpointId));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/webhook-endpoints/:endpointId/rotate-secret',
      {
        config: { secretResponse: true },
        schema: {
          operationId: 'rotateWebhookSecret',
          tags,
          summary: 'Replace the signing secret; the old one keeps signing beside the new one for 24 hours',
          params: EndpointParams,
          response: { 200: SigningSecret, ...problems(401, 403, 404) },
        },
      },
      async (request) => unwrap(await webhooks.rotateSecret(request.caller.customerId, request.params.endpointId)),
    );

    app.get(
      '/webhook-endpoints/:endpointId/deliveries',
      {
        schema: {
          operationId: 'listWebhookDeliveries',
          tags,
          summary: 'Every delivery attempt to this endpoint, newest first',
          params: EndpointParams,
          querystring: PageQuery,
          response: { 200: { ...Type.Array(DeliveryAttempt), headers: paginationHeaders }, ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const page = pageOf(request.query);
        const { total, attempts } = unwrap(await webhooks.attempts(request.caller.customerId, request.params.endpointId, page.offset, page.size));
        setPaginationHeaders(request, reply, total, page);
        return attempts;
      },
    );
  };
