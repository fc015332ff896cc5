import type { FastifyReply, FastifyRequest } from 'fastify';

/** The one closed list of error kinds, mapped to HTTP in one place. Use cases return these kinds
 * as values (src/domain/result.ts); routes turn them into problem details (RFC 9457). */
export const ERROR_KINDS = {
  VALIDATION_FAILED: { status: 400, title: 'Bad Request' },
  INVALID_AMOUNT: { status: 400, title: 'Invalid amount' },
  UNKNOWN_CURRENCY: { status: 400, title: 'Unknown currency' },
  INVALID_VALIDITY: { status: 400, title: 'Invalid validity period' },
  MALFORMED_BODY: { status: 400, title: 'Malformed request body' },
  MALFORMED_REQUEST: { status: 400, title: 'Bad Request' },
  API_KEY_MISSING: { status: 401, title: 'Unauthorized' },
  DEVICE_TOKEN_MISSING: { status: 401, title: 'Unauthorized' },
  API_KEY_INVALID: { status: 403, title: 'Forbidden' },
  DEVICE_TOKEN_INVALID: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not Found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not Acceptable' },
  KEY_IN_USE: { status: 409, title: 'Conflict' },
  LAST_VALID_KEY: { status: 409, title: 'Conflict' },
  TERMINAL_BUSY: { status: 409, title: 'Terminal busy' },
  NOT_CANCELLABLE: { status: 409, title: 'Transaction can no longer be cancelled' },
  TRANSACTION_CLOSED: { status: 409, title: 'Transaction no longer open' },
  TRANSITION_NOT_ALLOWED: { status: 409, title: 'Conflict' },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'Request in progress' },
  SECRET_NOT_REPLAYABLE: { status: 409, title: 'Secret shown once' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request Timeout' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload Too Large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused' },
  REFERENCE_INVALID: { status: 422, title: 'Invalid reference' },
  REFUND_EXCEEDS_PURCHASE: { status: 422, title: 'Refund exceeds purchase' },
  CURRENCY_NOT_ACCEPTED: { status: 422, title: 'Currency not accepted' },
  TERMINAL_NOT_CLOUD_ENABLED: { status: 422, title: 'Terminal not in cloud integration mode' },
  CAPTURE_EXCEEDS_AUTHORIZATION: { status: 422, title: 'Capture exceeds authorization' },
  INVALID_CARD: { status: 422, title: 'Invalid card' },
  RATE_LIMITED: { status: 429, title: 'Too Many Requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request Header Fields Too Large' },
  ACQUIRER_UNAVAILABLE: { status: 502, title: 'Acquirer unavailable' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service Unavailable' },
  INTERNAL: { status: 500, title: 'Internal Server Error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorKind = keyof typeof ERROR_KINDS;

export interface FieldError {
  /** JSON pointer into the request part named by `in` */
  pointer: string;
  in: 'body' | 'query' | 'path' | 'header';
  detail: string;
}

export class Problem extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
  get status(): number {
    return ERROR_KINDS[this.kind].status;
  }
}

export const problem = (kind: ErrorKind, detail: string, extensions?: Record<string, unknown>) =>
  new Problem(kind, detail, extensions);

/** Throws the failure of a use-case result as a problem; returns the value otherwise. */
export function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: string; detail: string }): T {
  if (result.ok) return result.value;
  if (!(result.error in ERROR_KINDS)) throw new Error(`unmapped error kind ${result.error}`);
  throw problem(result.error as ErrorKind, result.detail);
}

const kebab = (kind: string) => kind.toLowerCase().replace(/_/g, '-');

export function problemBody(p: Problem, instance: string) {
  const { status, title } = ERROR_KINDS[p.kind];
  return { type: `urn:cloudpos:problem:${kebab(p.kind)}`, title, status, detail: p.detail, instance, ...p.extensions };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, p: Problem): FastifyReply {
  const path = request.url.split('?')[0] ?? request.url;
  return reply.code(p.status).type('application/problem+json').send({ ...problemBody(p, path), request_id: request.id });
}
