import type { DeviceTransaction, EntryMode, Failure, TerminalConfig, TerminalOutcome } from './terminal-model.js';

/** The simulator's only HTTP code: the device API over global fetch, every call with a timeout.
 * Failures are values: `offline` when no HTTP answer came (refused, reset, timed out), otherwise
 * the status and the problem's detail. */
export type Answer<T> = { ok: true; value: T } | { ok: false; failure: Failure };

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
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly cardTimeoutMs: number;

  constructor(private readonly options: DeviceClientOptions) {
    this.base = options.server.replace(/\/+$/, '') + (options.devicePath ?? '/device/v1');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.cardTimeoutMs = options.cardTimeoutMs ?? 60_000;
  }

  config(signal?: AbortSignal) {
    return this.call<TerminalConfig>('GET', '/config', { signal });
  }

  /** `wait_s` 0 is a plain poll; otherwise the platform holds the request up to that long. */
  next(waitS: number, signal?: AbortSignal) {
    const query = waitS > 0 ? `?wait=${waitS}` : '';
    return this.call<DeviceTransaction | null>('GET', `/transactions/next${query}`, { signal, timeoutMs: this.timeoutMs + waitS * 1000 });
  }

  transaction(id: string, signal?: AbortSignal) {
    return this.call<DeviceTransaction>('GET', `/transactions/${encodeURIComponent(id)}`, { signal });
  }

  presentCard(id: string, card: { number: string; expiry: string; entry_mode: EntryMode }, signal?: AbortSignal) {
    const body = { entry_mode: card.entry_mode, card: { number: card.number, expiry: card.expiry } };
    return this.call<DeviceTransaction>('POST', `/transactions/${encodeURIComponent(id)}/card`, { body, signal, timeoutMs: this.cardTimeoutMs });
  }

  /** Outcome mode: the card was presented to the terminal's own payment app. */
  presented(id: string, entryMode: EntryMode, signal?: AbortSignal) {
    return this.call<DeviceTransaction>('POST', `/transactions/${encodeURIComponent(id)}/presented`, { body: { entry_mode: entryMode }, signal });
  }

  /** Outcome mode: the payment app's answer; the platform answers the finished transaction. */
  outcome(id: string, outcome: TerminalOutcome, signal?: AbortSignal) {
    return this.call<DeviceTransaction>('POST', `/transactions/${encodeURIComponent(id)}/outcome`, { body: outcome, signal });
  }

  cancel(id: string, signal?: AbortSignal) {
    return this.call<DeviceTransaction>('POST', `/transactions/${encodeURIComponent(id)}/cancel`, { body: {}, signal });
  }

  private async call<T>(method: 'GET' | 'POST', path: string, o: { body?: unknown; signal?: AbortSignal | undefined; timeoutMs?: number }): Promise<Answer<T>> {
    const timeout = AbortSignal.timeout(o.timeoutMs ?? this.timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          ...this.options.headers,
          authorization: `Bearer ${this.options.token}`,
          accept: 'application/json',
          ...(o.body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(o.body !== undefined && { body: JSON.stringify(o.body) }),
        signal,
      });
      text = await res.text();
    } catch (e) {
      const reason = timeout.aborted ? 'no answer in time' : describeNetworkError(e);
      return { ok: false, failure: { offline: true, reason } };
    }
    if (res.status === 204) return { ok: true, value: null as T };
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (res.ok) return { ok: true, value: json as T };
    const detail = (json as { detail?: unknown } | null)?.detail;
    return { ok: false, failure: { offline: false, status: res.status, reason: `${res.status} ${typeof detail === 'string' ? detail : res.statusText}` } };
  }
}

function describeNetworkError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message ?? 'network error';
}
