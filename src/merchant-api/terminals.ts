import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { formatTerminalId } from '../domain/terminal-id.js';
import { PageQuery, pageOf, paginationHeaders, setPaginationHeaders } from '../http/pagination.js';
import { iso, problems, StoreRef, Timestamp } from '../http/schemas.js';
import type { TerminalPresence } from '../services/presence.js';
import type { OnboardingRepository, TerminalView } from '../store/onboarding-repository.js';
import { MerchantRef } from './stores.js';

const TerminalSchema = Type.Object(
  {
    id: Type.String({ description: '{manufacturer}-{model}-{serial}, as used in paths', examples: ['SUNMI-P2lite-PL0919CQ00305'] }),
    manufacturer: Type.String(),
    model: Type.String(),
    serial: Type.String(),
    store: StoreRef,
    merchant: MerchantRef,
    cloud_integration: Type.Boolean(),
    last_seen: Type.Union([Timestamp('When the terminal last talked to the platform'), Type.Null()]),
    online: Type.Boolean({ description: 'Seen within a few poll intervals' }),
  },
  { $id: 'Terminal', additionalProperties: false },
);

export const terminalRoutes =
  (repo: OnboardingRepository, presence: TerminalPresence): FastifyPluginAsyncTypebox =>
  async (app) => {
    const view = (t: TerminalView) => ({
      id: formatTerminalId(t),
      manufacturer: t.manufacturer,
      model: t.model,
      serial: t.serial,
      store: { uuid: t.store_uuid, name: t.store_name },
      merchant: { id: Number(t.merchant_id), name: t.merchant_name },
      cloud_integration: t.cloud_integration === 1,
      last_seen: iso(presence.lastSeen(Number(t.id), t.last_seen_at)) ?? null,
      online: presence.online(Number(t.id), t.last_seen_at),
    });

    app.get(
      '/terminals',
      {
        schema: {
          operationId: 'listTerminals',
          tags: ['Stores and terminals'],
          summary: "List the terminals of all the customer's stores",
          querystring: PageQuery,
          response: { 200: { ...Type.Array(TerminalSchema), headers: paginationHeaders }, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const page = pageOf(request.query);
        const { customerId } = request.caller;
        const [total, rows] = await Promise.all([repo.countTerminals(customerId), repo.pageTerminals(customerId, page.offset, page.size)]);
        setPaginationHeaders(request, reply, total, page);
        return rows.map(view);
      },
    );
  };
