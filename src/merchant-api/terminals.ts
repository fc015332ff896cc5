import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Terminal } from '../domain/terminal.js';
import { PageQuery, pageOf, paginationHeaders, setPaginationHeaders } from '../http/pagination.js';
import { iso, problems, StoreRef, Timestamp } from '../http/schemas.js';
import type { TerminalPresence } from '../services/presence.js';
import type { OnboardingService } from '../services/onboarding.js';
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
  (onboarding: OnboardingService, presence: TerminalPresence): FastifyPluginAsyncTypebox =>
  async (app) => {
    const view = (t: Terminal) => ({
      id: t.id,
      manufacturer: t.manufacturer,
      model: t.model,
      serial: t.serial,
      store: { uuid: t.store.uuid, name: t.store.name },
      merchant: t.merchant,
      cloud_integration: t.cloud_integration,
      last_seen: iso(presence.lastSeen(t.pk, t.last_seen_at)) ?? null,
      online: presence.online(t.pk, t.last_seen_at),
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
        const { total, terminals } = await onboarding.customerTerminals(customerId, page.offset, page.size);
        setPaginationHeaders(request, reply, total, page);
        return terminals.map(view);
      },
    );
  };
