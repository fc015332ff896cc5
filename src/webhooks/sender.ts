import { Agent, type Dispatcher } from 'undici';
import { eventBody } from './event-types.js';
import { signatureHeader } from './secrets.js';
import { publicOnlyLookup } from './url-policy.js';
import { DELIVERY_TIMEOUT_MS, type SendOrder, type SendResult, type SenderSettings } from './send-orders.js';

/** Makes the POSTs of deliveries: keep-alive connections, a pool per origin, each request ended
 * exactly once, through `done`, within DELIVERY_TIMEOUT_MS. Runs in the send thread (send-thread.ts),
 * which the platform stops by ending the thread: what is in flight then goes unreported. */
export class Sender {
  private readonly client: Agent;
  private readonly urls = new Map<string, URL>();

  constructor(
    settings: SenderSettings,
    private readonly done: (result: SendResult) => void,
  ) {
    this.client = new Agent({
      connections: settings.connections,
      headersTimeout: DELIVERY_TIMEOUT_MS,
      bodyTimeout: DELIVERY_TIMEOUT_MS,
      connect: { timeout: DELIVERY_TIMEOUT_MS, ...(settings.publicOnly && { lookup: publicOnlyLookup }) },
    });
  }

  send(order: SendOrder) {
    const sending = new Sending(order.id, this.done);
    try {
      const body = eventBody(order.event);
      const url = this.urlOf(order.url);
      this.client.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: [
            'content-type', 'application/json',
            'user-agent', 'cloudpos-webhooks/1',
            'webhook-id', order.event.id,
            'webhook-timestamp', String(order.timestamp),
            'webhook-signature', signatureHeader(order.keys, order.event.id, order.timestamp, body),
          ],
          body,
        },
        sending,
      );
    } catch (e) {
      // A URL that does not parse: a failed attempt like any other.
      sending.onResponseError(undefined, e as Error);
    }
  }

  private urlOf(text: string): URL {
    let url = this.urls.get(text);
    if (!url) {
      if (this.urls.size >= 10_000) this.urls.clear();
      url = new URL(text);
      this.urls.set(text, url);
    }
    return url;
  }
}

/** Only the status counts: the body is read and dropped, up to this much (past it the connection
 * is closed), so the connection can be reused. */
const BODY_LIMIT = 65_536;

const expire = (s: Sending) => s.cutShort(Object.assign(new Error(`no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`), { code: 'TIMEOUT' }));

/** One POST in flight, as undici's dispatch handler: no promise, response stream or AbortSignal
 * per request. Ends exactly once, through `settled`: answered, failed, or cut short by the 10 s
 * limit. */
class Sending implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  /** Why it was cut short, if it was. */
  private reason: Error | undefined;
  private status = 0;
  private bytes = 0;
  private ended = false;
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly id: number,
    private readonly settled: (result: SendResult) => void,
  ) {
    this.timer = setTimeout(expire, DELIVERY_TIMEOUT_MS, this);
  }

  cutShort(reason: Error) {
    if (this.ended || this.reason) return;
    this.reason = reason;
    // Not started yet: onRequestStart aborts it.
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController) {
    this.controller = controller;
    if (this.reason) controller.abort(this.reason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>) {
    this.status = statusCode;
    if (Number(headers['content-length']) > BODY_LIMIT) this.tooLong(controller);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer) {
    this.bytes += chunk.length;
    if (this.bytes > BODY_LIMIT) this.tooLong(controller);
  }

  onResponseEnd() {
    this.answered();
  }

  onResponseError(_controller: unknown, error: Error) {
    const e = this.reason ?? error;
    this.end({ ok: false, error: describe(e), ...(TIMEOUTS.has((e as { code?: string }).code ?? '') && { timedOut: true }) });
  }

  /** Answered, with more body than is read: counted by its status, the connection closed. */
  private tooLong(controller: Dispatcher.DispatchController) {
    this.answered();
    controller.abort(new Error('response body too long'));
  }

  /** Counted by its status: 2xx is delivered. */
  private answered() {
    this.end({ ok: this.status >= 200 && this.status < 300, status: this.status });
  }

  private end(result: Omit<SendResult, 'id' | 'ms'>) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.settled({ id: this.id, ...result, ms: Math.round(performance.now() - this.started) });
  }
}

/** The codes of an attempt that got no answer in time: this sender's limit, and undici's own
 * (each set to the same limit). */
const TIMEOUTS = new Set(['TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** What went wrong, in words that name no URL, header or secret. */
function describe(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'TIMEOUT') return (e as Error).message;
  if (code === 'EADDRNOTALLOWED') return 'the host resolves to an internal address only';
  if (typeof code === 'string') return `connection failed (${code})`;
  return 'request failed';
}
