import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery, pageOf, paginationHeaders, setPaginationHeaders } from '../http/pagination.js';
import { unwrap } from '../http/problem.js';
import { iso, problems, Timestamp } from '../http/schemas.js';
import type { ApiKeyService } from '../services/api-keys.js';

const Validity = Type.Object(
  {
    from: Type.Optional(Timestamp('Start of validity; the key is refused before it')),
    until: Type.Optional(Timestamp('End of validity; the key is refused from then on')),
  },
  { $id: 'ApiKeyValidity', additionalProperties: false },
);

const ApiKeyOverview = Type.Object(
  {
    id: Type.Integer(),
    label: Type.String(),
    lastUsage: Type.Optional(Timestamp('When the key was last used (kept to the minute)')),
    validity: Type.Optional(Validity),
  },
  { $id: 'ApiKeyOverview', additionalProperties: false },
);

const NewApiKeyRequest = Type.Object(
  { label: Type.String({ minLength: 1, maxLength: 200 }), validity: Type.Optional(Validity) },
  { $id: 'NewApiKeyRequest', additionalProperties: false },
);

const NewApiKey = Type.Object(
  {
    id: Type.Integer(),
    label: Type.String(),
    apikey: Type.String({ description: 'The key itself. Shown only in this response.' }),
    validity: Type.Optional(Validity),
  },
  { $id: 'NewApiKey', additionalProperties: false },
);

const validityOut = (from: number | null, until: number | null) =>
  from === null && until === null ? undefined : { from: iso(from), until: iso(until) };

export const apiKeyRoutes =
  (keys: ApiKeyService): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/apikeys',
      {
        schema: {
          operationId: 'listApiKeys',
          tags: ['API keys'],
          summary: 'List the API keys that are neither revoked nor expired',
          querystring: PageQuery,
          response: { 200: { ...Type.Array(ApiKeyOverview), headers: paginationHeaders }, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const page = pageOf(request.query);
        const [total, rows] = await Promise.all([keys.count(request.caller.customerId), keys.page(request.caller.customerId, page.offset, page.size)]);
        setPaginationHeaders(request, reply, total, page);
        return rows.map((k) => ({
          id: Number(k.id),
          label: k.label,
          lastUsage: iso(k.last_used_at),
          validity: validityOut(k.valid_from, k.valid_until),
        }));
      },
    );

    app.post(
      '/apikeys',
      {
        config: { secretResponse: true },
        schema: {
          operationId: 'createApiKey',
          tags: ['API keys'],
          summary: 'Create a new API key (shown once)',
          body: NewApiKeyRequest,
          response: { 201: NewApiKey, ...problems(400, 401, 403, 415, 422) },
        },
      },
      async (request, reply) => {
        const { label, validity } = request.body;
        const created = unwrap(
          await keys.issue(request.caller.customerId, label, {
            from: validity?.from === undefined ? null : Date.parse(validity.from),
            until: validity?.until === undefined ? null : Date.parse(validity.until),
          }),
        );
        reply.code(201);
        return { id: created.id, label: created.label, apikey: created.apikey, validity: validityOut(created.validity.from, created.validity.until) };
      },
    );

    app.delete(
      '/apikeys/:id',
      {
        schema: {
          operationId: 'revokeApiKey',
          tags: ['API keys'],
          summary: 'Revoke an API key',
          description: 'Refused with 409 for the key making the request and for the last valid key.',
          params: Type.Object({ id: Type.Integer() }),
          response: { 204: Type.Null({ description: 'Revoked' }), ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        unwrap(await keys.revoke(request.caller, request.params.id));
        return reply.code(204).send(null);
      },
    );
  };
