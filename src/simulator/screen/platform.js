// The page's only network code: the customer's API key and the simulator session.
//
// The key comes from the URL fragment (/simulator#key=…), which browsers never send to a server;
// it is then taken out of the address bar and kept in this tab's sessionStorage only (gone when
// the tab closes, never shared with other tabs). Every /simulator/api call carries it as API-Key.
// The device API is reached through a short-lived simulator session of that customer, for one
// terminal, kept in memory: never a device token.
// @ts-check

const KEY_ITEM = 'cloudpos.simulator.api-key';

export class Offline extends Error {}
export class HttpError extends Error {
  /** @param {number} status @param {string} detail */
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}
/** The server refused the API key (401/403): the page asks for another one. */
export class KeyRefused extends HttpError {}

/** Takes a key out of the fragment into sessionStorage; answers the key the tab holds, if any. */
export function takeKeyFromUrl() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = fragment.get('key');
  if (key) {
    sessionStorage.setItem(KEY_ITEM, key);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return apiKey();
}

export function apiKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

/** @param {string} key */
export function rememberKey(key) {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
  session.token = null;
}

/** Whether a problem answer is about the API key rather than the simulator session. */
const aboutKey = (/** @type {any} */ body) => typeof body?.type === 'string' && /api-key/.test(body.type);

/**
 * A /simulator/api call with the API key; throws Offline, KeyRefused or HttpError.
 * @param {string} path @param {{ method?: string, body?: unknown, headers?: Record<string, string>, timeoutMs?: number, signal?: AbortSignal }} [o]
 */
export async function api(path, o = {}) {
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 10000);
  let res;
  try {
    res = await fetch(`/simulator/api${path}`, {
      method: o.method ?? 'GET',
      headers: { 'api-key': apiKey() ?? '', ...o.headers, ...(o.body !== undefined && { 'content-type': 'application/json' }) },
      ...(o.body !== undefined && { body: JSON.stringify(o.body) }),
      signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
    });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    throw new Offline(timeout.aborted ? 'no answer in time' : 'the platform does not answer');
  }
  if (res.status === 204) return null;
  if (res.headers.get('content-type')?.startsWith('image/')) {
    if (res.ok) return res.blob();
  }
  const body = await res.json().catch(() => null);
  if (res.ok) return body;
  const detail = body?.detail ?? res.statusText;
  if ((res.status === 401 || res.status === 403) && aboutKey(body)) throw new KeyRefused(res.status, detail);
  throw new HttpError(res.status, detail);
}

/** The simulator session of the terminal on screen. */
export const session = {
  /** @type {string | null} */ terminalId: null,
  /** @type {string | null} */ token: null,
};

async function openSession() {
  const opened = await api('/sessions', { method: 'POST', body: { terminal: session.terminalId } });
  session.token = opened.token;
}

/**
 * The device API through the simulator session; a session the server forgot (a restart, expiry)
 * is opened again once.
 * @param {string} path @param {{ method?: string, body?: unknown, timeoutMs?: number, signal?: AbortSignal }} [o]
 * @returns {Promise<any>}
 */
export async function device(path, o = {}, retried = false) {
  if (!session.token) await openSession();
  try {
    return await api(`/device${path}`, { ...o, headers: { authorization: `Bearer ${session.token}` } });
  } catch (e) {
    if (e instanceof HttpError && !(e instanceof KeyRefused) && e.status === 403 && !retried) {
      session.token = null;
      return device(path, o, true);
    }
    throw e;
  }
}
