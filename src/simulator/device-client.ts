import { createDeviceClient, type CloudposClient } from '@cloudpos/client';
import type { DeviceTransaction, EntryMode, Failure, TerminalConfig, TerminalOutcome } from './terminal-model.js';

/** The simulator's only HTTP code for the device API: the typed client (@cloudpos/client), whose
 * paths and bodies the compiler checks against the OpenAPI document, every call with a timeout.
 * Failures are values: `offline` when no HTTP answer came (refused, reset, timed out), otherwise
 * the status and the problem's detail. */
export type Answer<T> = { ok: true; value: T } | { ok: false; failure: Failure };

/** Where the document puts the device API; a sandbox simulator session mounts the same routes
 * elsewhere (`devicePath`). */
const DOCUMENTED_MOUNT = '/device/v1';

export interface DeviceClientOptions {
  server: string;
  token: string;
  /** where the device API lives: `/device/v1`, or a sandbox simulator session's own mount */
  devicePath?: string;
  /** sent with every call (a simulator session needs its customer's `API-Key` beside it) */
  headers?: Record<string, string>;
  /** timeout of short calls (config, fetch, cancel) */
  timeoutMs?: number;
  /** timeout of the card report: the platform waits on the acquirer before it answers */
  cardTimeoutMs?: number;
}

export class DeviceClient {
  private readonly api: CloudposClient;
  private readonly timeoutMs: number;
  private readonly cardTimeoutMs: number;

  constructor(options: DeviceClientOptions) {
    const server = options.server.replace(/\/+$/, '');
    const mount = options.devicePath ?? DOCUMENTED_MOUNT;
    this.api = createDeviceClient({
      baseUrl: server,
      deviceToken: options.token,
      headers: { ...options.headers, accept: 'application/json' },
      ...(mount !== DOCUMENTED_MOUNT && { Request: mountedAt(`${server}${DOCUMENTED_MOUNT}/`, `${server}${mount}/`) }),
    });
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.cardTimeoutMs = options.cardTimeoutMs ?? 60_000;
  }

  config(signal?: AbortSignal): Promise<Answer<TerminalConfig>> {
    return this.call((s) => this.api.GET('/device/v1/config', { signal: s }), { signal });
  }

  /** `wait_s` 0 is a plain poll; otherwise the platform holds the request up to that long. */
  next(waitS: number, signal?: AbortSignal): Promise<Answer<DeviceTransaction | null>> {
    const params = waitS > 0 ? { query: { wait: waitS } } : {};
    return this.send((s) => this.api.GET('/device/v1/transactions/next', { params, signal: s }), { signal, timeoutMs: this.timeoutMs + waitS * 1000 });
  }

  transaction(id: string, signal?: AbortSignal): Promise<Answer<DeviceTransaction>> {
    return this.call((s) => this.api.GET('/device/v1/transactions/{transactionId}', { params: { path: { transactionId: id } }, signal: s }), { signal });
  }

  presentCard(id: string, card: { number: string; expiry: string; entry_mode: EntryMode }, signal?: AbortSignal): Promise<Answer<DeviceTransaction>> {
    const body = { entry_mode: card.entry_mode, card: { number: card.number, expiry: card.expiry } };
    return this.call((s) => this.api.POST('/device/v1/transactions/{transactionId}/card', { params: { path: { transactionId: id } }, body, signal: s }), {
      signal,
      timeoutMs: this.cardTimeoutMs,
    });
  }

  /** Outcome mode: the card was presented to the terminal's own payment app. */
  presented(id: string, entryMode: EntryMode, signal?: AbortSignal): Promise<Answer<DeviceTransaction>> {
    const body = { entry_mode: entryMode };
    return this.call((s) => this.api.POST('/device/v1/transactions/{transactionId}/presented', { params: { path: { transactionId: id } }, body, signal: s }), { signal });
  }

  /** Outcome mode: the payment app's answer; the platform answers the finished transaction. */
  outcome(id: string, outcome: TerminalOutcome, signal?: AbortSignal): Promise<Answer<DeviceTransaction>> {
    return this.call((s) => this.api.POST('/device/v1/transactions/{transactionId}/outcome', { params: { path: { transactionId: id } }, body: outcome, signal: s }), { signal });
  }

  cancel(id: string, signal?: AbortSignal): Promise<Answer<DeviceTransaction>> {
    return this.call((s) => this.api.POST('/device/v1/transactions/{transactionId}/cancel', { params: { path: { transactionId: id } }, body: {}, signal: s }), { signal });
  }

  /** One typed call that must answer a body (every device route but `next`, which may answer 204). */
  private async call<T>(send: Send<T>, o: { signal?: AbortSignal | undefined; timeoutMs?: number }): Promise<Answer<T>> {
    const answer = await this.send(send, o);
    if (!answer.ok || answer.value !== null) return answer as Answer<T>;
    return { ok: false, failure: { offline: false, status: 204, reason: 'answered without a body' } };
  }

  /** Runs one typed call under a timeout and turns what it answers (or throws) into an Answer; an
   * answer without a body (204: nothing to fetch) is `null`. */
  private async send<T>(send: Send<T>, o: { signal?: AbortSignal | undefined; timeoutMs?: number }): Promise<Answer<T | null>> {
    const timeout = AbortSignal.timeout(o.timeoutMs ?? this.timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    try {
      const { data, error, response } = await send(signal);
      if (response.ok) return { ok: true, value: data ?? null };
      const detail = (error as { detail?: unknown } | undefined)?.detail;
      return { ok: false, failure: { offline: false, status: response.status, reason: `${response.status} ${typeof detail === 'string' ? detail : response.statusText}` } };
    } catch (e) {
      const reason = timeout.aborted ? 'no answer in time' : describeNetworkError(e);
      return { ok: false, failure: { offline: true, reason } };
    }
  }
}

/** A typed call of the client, under the signal it is given. */
type Send<T> = (signal: AbortSignal) => Promise<{ data?: T; error?: unknown; response: Response }>;

/** A Request whose URL under `from` is moved under `to`: the documented operations, sent to the
 * same routes mounted elsewhere. */
function mountedAt(from: string, to: string): typeof Request {
  return class MountedRequest extends Request {
    constructor(input: Request | string | URL, init?: RequestInit) {
      const url = String(input instanceof Request ? input.url : input);
      super(url.startsWith(from) ? to + url.slice(from.length) : url, init);
    }
  };
}

function describeNetworkError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message ?? 'network error';
}
