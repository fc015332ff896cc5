import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorKind } from '../domain/errors.js';
import type { Result } from '../domain/result.js';

/** What only the HTTP layer refuses (the request itself), beside what use cases refuse. */
type HttpErrorKind =
  | 'MALFORMED_BODY'
  | 'API_KEY_MISSING'
  | 'DEVICE_TOKEN_MISSING'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_ACCEPTABLE'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'SECRET_NOT_REPLAYABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'REQUEST_TIMEOUT'
  | 'RATE_LIMITED'
  | 'HEADERS_TOO_LARGE'
  | 'MALFORMED_REQUEST'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

export type ProblemKind = ErrorKind | HttpErrorKind;

/** Every kind mapped to HTTP in one place (RFC 9457 problem details); a kind without a mapping
 * does not compile. */
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
  CARD_DATA_REFUSED: { status: 403, title: 'Card data refused' },
  NOT_FOUND: { status: 404, title: 'Not Found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not Acceptable' },
  CONFLICT: { status: 409, title: 'Conflict' },
  KEY_IN_USE: { status: 409, title: 'Conflict' },
  ENDPOINT_LIMIT: { status: 409, title: 'Too many webhook endpoints' },
  LAST_VALID_KEY: { status: 409, title: 'Conflict' },
  TERMINAL_BUSY: { status: 409, title: 'Terminal busy' },
  NOT_CANCELLABLE: { status: 409, title: 'Transaction can no longer be cancelled' },
  TRANSACTION_CLOSED: { status: 409, title: 'Transaction no longer open' },
  TRANSITION_NOT_ALLOWED: { status: 409, title: 'Conflict' },
  OUTCOME_CONFLICT: { status: 409, title: 'Conflicting outcome' },
  ACQUIRER_REFUSED: { status: 409, title: 'Refused by the acquirer' },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'Request in progress' },
  SECRET_NOT_REPLAYABLE: { status: 409, title: 'Secret shown once' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request Timeout' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload Too Large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused' },
  REFERENCE_INVALID: { status: 422, title: 'Invalid reference' },
  REFUND_EXCEEDS_PURCHASE: { status: 422, title: 'Refund exceeds purchase' },
  CURRENCY_NOT_ACCEPTED: { status: 422, title: 'Currency not accepted' },
  CAPTURE_EXCEEDS_AUTHORIZATION: { status: 422, title: 'Capture exceeds authorization' },
  INVALID_CARD: { status: 422, title: 'Invalid card' },
  RATE_LIMITED: { status: 429, title: 'Too Many Requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request Header Fields Too Large' },
  ACQUIRER_NOT_CONFIGURED: { status: 501, title: 'No acquirer connector' },
  ACQUIRER_UNAVAILABLE: { status: 502, title: 'Acquirer unavailable' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service Unavailable' },
  INTERNAL: { status: 500, title: 'Internal Server Error' },
} as const satisfies Record<ProblemKind, { status: number; title: string }>;

export interface FieldError {
  /** JSON pointer into the request part named by `in` */
  pointer: string;
  in: 'body' | 'query' | 'path' | 'header';
  detail: string;
}

export class Problem extends Error {
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
  get status(): number {
    return ERROR_KINDS[this.kind].status;
  }
}

export const problem = (kind: ProblemKind, detail: string, extensions?: Record<string, unknown>) =>
  new Problem(kind, detail, extensions);

/** Throws the failure of a use-case result as a problem; returns the value otherwise. */
export function unwrap<T, E extends ErrorKind>(result: Result<T, E>): T {
  if (result.ok) return result.value;
  throw problem(result.error, result.detail);
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
