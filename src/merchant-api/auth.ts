import type { FastifyInstance } from 'fastify';
import { problem } from '../http/problem.js';
import { secretHashOf } from '../http/rate-limit.js';
import type { ApiKeyService, Caller } from '../services/api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
}

/** Every MerchantAPI request carries `API-Key`: missing → 401, anything but a valid key → 403. */
export function installApiKeyAuth(app: FastifyInstance, keys: ApiKeyService) {
  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRequest', async (request) => {
    const presented = request.headers['api-key'];
    if (presented === undefined || presented === '') {
      throw problem('API_KEY_MISSING', 'Add an API-Key header with a valid API key to the request.');
    }
    const value = Array.isArray(presented) ? presented[0]! : presented;
    const result = await keys.authenticate(value, secretHashOf(request, value));
    if (!result.ok) throw problem('API_KEY_INVALID', result.detail);
    request.caller = result.value;
  });
}
