import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler, preHandlerHookHandler } from 'fastify';
import { problem } from './problem.js';

/** Where the first response to each key is kept. */
export interface IdempotencyKeys {
  /** Claims the key for a first request; false when the customer used it before. */
  claim(customerId: number, key: string, requestHash: string, now: number): Promise<boolean>;
  find(customerId: number, key: string): Promise<
    { request_hash: string; response_status: number | null; response_body: string | null; response_headers: string | null; created_at: number } | undefined
  >;
  complete(customerId: number, key: string, status: number, body: string | null, headers: Record<string, string>): Promise<unknown>;
  release(customerId: number, key: string): Promise<unknown>;
}

/** A replayed response is answered for this long; rows are swept after twice that. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const REPLAYED_HEADERS = ['content-type', 'location'];

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | null;
  }
  interface FastifyContextConfig {
    /** The response carries a secret shown only once: keep no copy of it to replay. */
    secretResponse?: boolean;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const fingerprint = (request: FastifyRequest) =>
  createHash('sha256').update(`${request.method} ${request.url.split('?')[0]}\n${canonical(request.body ?? null)}`).digest('hex');

/** `Idempotency-Key` on any POST: the same key and body answer the first response again, the same
 * key with another body is a 422, and a key whose first request is still running is a 409.
 * Keys are the customer's own. Only successful responses are kept: a failed request changed
 * nothing, so its retry runs again. The hooks are the POST routes' own: a read pays for neither. */
export function installIdempotency(app: FastifyInstance, repo: IdempotencyKeys, now: () => number) {
  app.decorateRequest('idempotencyKey', null);

  const replayOrClaim = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    const key = Array.isArray(header) ? header[0]! : header;
    if (key.length < 1 || key.length > 255) throw problem('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 characters.');
    const customerId = request.caller.customerId;
    const hash = fingerprint(request);
    const at = now();
    let claimed = await repo.claim(customerId, key, hash, at);
    if (!claimed) {
      const previous = await repo.find(customerId, key);
      if (previous && previous.created_at < at - IDEMPOTENCY_TTL_MS) {
        await repo.release(customerId, key);
        claimed = await repo.claim(customerId, key, hash, at);
      }
      if (!claimed) {
        if (!previous || previous.request_hash !== hash) {
          throw problem('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for another request; use a new key for a new request.');
        }
        if (previous.response_status === null) {
          throw problem('IDEMPOTENCY_IN_PROGRESS', 'The first request with this Idempotency-Key is still being handled; retry shortly.');
        }
        if (previous.response_body === null) {
          const { id } = JSON.parse(previous.response_headers ?? '{}') as { id?: unknown };
          throw problem('SECRET_NOT_REPLAYABLE', `The first request with this Idempotency-Key created ${String(id)}; its secret was shown once and is not kept. Revoke it and create another one if that response was lost.`);
        }
        const headers = JSON.parse(previous.response_headers ?? '{}') as Record<string, string>;
        reply.code(previous.response_status).headers(headers).header('Idempotent-Replayed', 'true');
        return reply.send(previous.response_body);
      }
    }
    request.idempotencyKey = key;
  };

  const keepResponse = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const key = request.idempotencyKey;
    if (key === null) return payload;
    request.idempotencyKey = null;
    if (reply.statusCode >= 200 && reply.statusCode < 300) {
      const headers: Record<string, string> = {};
      for (const name of REPLAYED_HEADERS) {
        const v = reply.getHeader(name);
        if (v !== undefined) headers[name] = String(v);
      }
      const body = typeof payload === 'string' ? payload : '';
      if (request.routeOptions.config.secretResponse) {
        // Only the id of what was created: enough to tell the retry what happened.
        const { id } = JSON.parse(body) as { id?: unknown };
        await repo.complete(request.caller.customerId, key, reply.statusCode, null, { id: String(id) });
      } else {
        await repo.complete(request.caller.customerId, key, reply.statusCode, body, headers);
      }
    } else {
      await repo.release(request.caller.customerId, key);
    }
    return payload;
  };

  // First among the route's own hooks, where the scope's would run.
  app.addHook('onRoute', (route) => {
    if (![route.method].flat().includes('POST')) return;
    route.preHandler = [replayOrClaim as preHandlerHookHandler, ...[route.preHandler ?? []].flat()];
    route.onSend = [keepResponse as onSendHookHandler, ...[route.onSend ?? []].flat()];
  });
}
