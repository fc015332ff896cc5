import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageQuery, pageOf, paginationHeaders, setPaginationHeaders } from '../http/pagination.js';
import { problems } from '../http/schemas.js';
import type { OnboardingService } from '../services/onboarding.js';

export const MerchantRef = Type.Object({ id: Type.Integer(), name: Type.String() }, { $id: 'MerchantRef', additionalProperties: false });

const StoreSchema = Type.Object(
  {
    uuid: Type.String({ format: 'uuid' }),
    name: Type.String(),
    address: Type.String(),
    timezone: Type.String({ description: 'IANA time zone; receipts and day totals use it' }),
    currency: Type.String({ description: 'ISO 4217 code' }),
    receipt_width: Type.Integer({ description: 'Columns of the plain-text receipt' }),
    merchant: MerchantRef,
  },
  { $id: 'Store', additionalProperties: false },
);

export const storeRoutes =
  (onboarding: OnboardingService): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/stores',
      {
        schema: {
          operationId: 'listStores',
          tags: ['Stores and terminals'],
          summary: "List the stores of all the customer's merchants",
          querystring: PageQuery,
          response: { 200: { ...Type.Array(StoreSchema), headers: paginationHeaders }, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const page = pageOf(request.query);
        const { customerId } = request.caller;
        const { total, stores } = await onboarding.customerStores(customerId, page.offset, page.size);
        setPaginationHeaders(request, reply, total, page);
        return stores;
      },
    );
  };
