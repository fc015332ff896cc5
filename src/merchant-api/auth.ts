import type { FastifyInstance } from 'fastify';
import type { Result } from '../domain/result.js';
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
  // A callback hook: a key kept in memory is answered without a promise (every request asks).
  app.addHook('onRequest', (request, _reply, done) => {
    const presented = request.headers['api-key'];
    if (presented === undefined || presented === '') {
      return done(problem('API_KEY_MISSING', 'Add an API-Key header with a valid API key to the request.'));
    }
    const value = Array.isArray(presented) ? presented[0]! : presented;
    const hash = secretHashOf(request, value);
    const admit = (result: Result<Caller, 'API_KEY_INVALID'>) => {
      if (!result.ok) return done(problem('API_KEY_INVALID', result.detail));
      request.caller = result.value;
      done();
    };
    const known = keys.remembered(hash);
    if (known) admit(known);
    else keys.authenticate(value, hash).then(admit, done);
  });
}
