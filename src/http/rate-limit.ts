import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashSecret } from '../secrets.js';
import { problem } from './problem.js';
import { windowedCounts } from './rate-limit-store.js';
import { problems } from './schemas.js';

/** Limits requests per credential in this instance's memory, counted by the SHA-256 of the API key
 * or device token (never the secret itself; the caller's address when none is sent). Past the
 * limit: 429 problem+json with Retry-After and the RateLimit-* headers of the IETF draft. */
declare module 'fastify' {
  interface FastifyRequest {
    /** The SHA-256 of the request's credential, once computed (secretHashOf). */
    secretHash: string | null;
  }
}

/** The SHA-256 of the credential the request carries, computed once for the rate limiter and the
 * authentication (both read the same header the same way). */
export function secretHashOf(request: FastifyRequest, secret: string): string {
  return (request.secretHash ??= hashSecret(secret));
}

export interface RateLimitOptions {
  perMinute: number;
  /** The secret the requests are counted by (its SHA-256). */
  credential: (request: FastifyRequest) => string | undefined;
  /** Whether answers under the limit carry the RateLimit-* headers too: a backend may pace itself
   * by them; a terminal's poll does not read them, and a fleet polls often. */
  headersUnderLimit: boolean;
  /** How many credentials' counts a window keeps (the first counted dropped first). A count dropped
   * within its minute starts again from zero, and a fleet polling round robin through more
   * terminals than this would drop and recreate one on every request. */
  remembered: number;
}

export async function installRateLimit(app: FastifyInstance, { perMinute, credential, headersUnderLimit, remembered }: RateLimitOptions) {
  // Documented on every route of the scope, since every one of them can answer it.
  app.addHook('onRoute', (route) => {
    if (route.schema?.response) route.schema = { ...route.schema, response: { ...(route.schema.response as object), ...problems(429) } };
  });
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    enableDraftSpec: true,
    store: windowedCounts(remembered),
    ...(!headersUnderLimit && { addHeadersOnExceeding: { 'ratelimit-limit': false, 'ratelimit-remaining': false, 'ratelimit-reset': false } }),
    keyGenerator: (request) => {
      // The hash the authentication computed and keeps as its own key (a route's hooks run after
      // its scope's): the header is not read again, one hash per request, and one string per
      // credential in both maps.
      let hash = request.secretHash;
      if (hash === null) {
        const secret = credential(request);
        if (!secret) return `ip:${request.ip}`;
        hash = secretHashOf(request, secret);
      }
      // Its last use: a held poll would otherwise keep it (64 hex digits) for its whole wait.
      request.secretHash = null;
      return hash;
    },
    errorResponseBuilder: (_request, context) =>
      problem('RATE_LIMITED', `More than ${context.max} requests in a minute with this credential: retry after ${Math.ceil(context.ttl / 1000)} s.`),
  });
}

export const apiKeyOf = (request: FastifyRequest) => {
  const v = request.headers['api-key'];
  return Array.isArray(v) ? v[0] : v;
};

const BEARER = 'bearer';
const SPACE = /\s/;
/** Whether the character code is one of a regular expression's `\s`. */
const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c > 0x7f && SPACE.test(String.fromCharCode(c)));

/** The token of `Authorization: Bearer <token>` (the scheme in any case, one token without
 * spaces: what `/^Bearer\s+(\S+)$/i` would match), read without a regular expression: every
 * poll asks, and a match would make an array each time. */
export const bearerOf = (request: FastifyRequest): string | undefined => {
  const header = request.headers.authorization;
  if (header === undefined || header.length <= BEARER.length + 1) return undefined;
  for (let i = 0; i < BEARER.length; i++) {
    if ((header.charCodeAt(i) | 0x20) !== BEARER.charCodeAt(i)) return undefined;
  }
  let start = BEARER.length;
  if (!isSpace(header.charCodeAt(start))) return undefined;
  while (isSpace(header.charCodeAt(start))) start++;
  for (let i = start; i < header.length; i++) if (isSpace(header.charCodeAt(i))) return undefined;
  return start < header.length ? header.slice(start) : undefined;
};
