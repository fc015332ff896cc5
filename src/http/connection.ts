import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import { ERROR_KINDS, problem, sendProblem, type ProblemKind } from './problem.js';
import { requestLogger } from './request-logger.js';

/** A client's request id is kept when it is 1–200 visible ASCII characters. */
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['request-id'];
  const value = Array.isArray(given) ? given[0] : given;
  return value !== undefined && CLIENT_REQUEST_ID.test(value) ? value : nextRequestId();
}

/** Generated ids have the shape of a UUID: 96 random bits drawn once, then a count in the last 8
 * hex digits (a small integer, from 0x10000000 so always 8 digits; past 0x3fffffff, new random
 * bits and the count again). Unique across instances without drawing random bytes per request,
 * and each id is the shared random part joined to the count: a held poll keeps its id for its
 * whole wait (the header it will answer with), and Node's randomUUID built each one from 21
 * pieces, about 600 bytes of garbage. */
let idPrefix = '';
let idCount = 0x40000000;
function nextRequestId(): string {
  if (idCount > 0x3fffffff) {
    idPrefix = randomBytes(12).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
    idCount = 0x10000000;
  }
  return idPrefix + (idCount++).toString(16);
}

/** Node answers some requests before Fastify sees them (a header too large, a request line it
 * cannot parse, a body shorter than its Content-Length, a request not received in time): these
 * leave as problem+json too, with a Request-Id, and the connection is closed. */
function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [kind, detail]: [ProblemKind, string] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['REQUEST_TIMEOUT', 'The request was not received in time.']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', 'The request headers are larger than this server accepts.']
        : ['MALFORMED_REQUEST', 'The request is not valid HTTP/1.1.'];
  const { status, title } = ERROR_KINDS[kind];
  const requestId = nextRequestId();
  this.log.debug({ err, request_id: requestId }, `client error: ${title}`);
  // As Node does: only on a connection that has not answered anything yet.
  if (socket.writable && socket.bytesWritten === 0) {
    const body = JSON.stringify({ type: `urn:cloudpos:problem:${kind.toLowerCase().replace(/_/g, '-')}`, title, status, detail, instance: '', request_id: requestId });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRequest-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** How often Node looks for requests that outlived REQUEST_TIMEOUT_MS (its default is 30 s). */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

/** The server options that harden the connection layer: request ids, Node's own errors, timeouts. */
export function serverOptions(config: Config): Partial<FastifyServerOptions> & { http: ServerOptions } {
  const requestTimeout = config.REQUEST_TIMEOUT_MS;
  return {
    genReqId: requestIdOf,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    childLoggerFactory: requestLogger,
    clientErrorHandler,
    // A path with broken percent-encoding never reaches the routes or their error handler.
    frameworkErrors: (error, request, reply) => {
      reply.header('Request-Id', request.id);
      const p = error.code === 'FST_ERR_BAD_URL' ? problem('VALIDATION_FAILED', 'The request path is not a valid URL: its percent-encoding is broken.') : problem('MALFORMED_REQUEST', error.message);
      sendProblem(reply, request, p);
    },
    requestTimeout,
    // Keep-alive connections stay open a little longer than a typical proxy's idle timeout.
    keepAliveTimeout: 65_000,
    http: { connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS, headersTimeout: Math.min(60_000, requestTimeout) },
  };
}

/** Every response carries the request's id; problem bodies repeat it (src/http/problem.ts). */
export function installRequestId(app: FastifyInstance) {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('Request-Id', request.id);
    done();
  });
}
