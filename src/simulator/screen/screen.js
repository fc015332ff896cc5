// The terminal app in the browser: loads the configuration, polls for the next payment (long poll
// when allowed), shows it, takes a test card, reports it and shows the outcome and receipt. It acts
// as the terminal through a short-lived simulator session (never the device token), kept in memory.
// @ts-check

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const VIEWS = ['idle', 'payment', 'processing', 'outcome', 'message'];
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 8000;

/** @typedef {{ id: string, type: string, amount: { value: number, currency: string }, status: string, merchant_order_reference?: string, result?: string, cancel_reason?: string, receipt?: string }} Transaction */

class Offline extends Error {}
class HttpError extends Error {
  /** @param {number} status @param {string} detail */
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

const app = {
  /** @type {string | null} */ terminalId: null,
  /** @type {string | null} */ session: null,
  /** @type {any} */ config: null,
  /** bumped when the terminal changes: loops of an older one stop */
  generation: 0,
  /** 'idle' | 'awaiting_card' | 'processing' | 'outcome' */
  phase: 'idle',
  /** @type {Transaction | null} */ current: null,
  /** @type {AbortController} */ poll: new AbortController(),
};

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const backoff = (/** @type {number} */ failures) => Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));

function formatAmount(/** @type {{ value: number, currency: string }} */ a) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: a.currency }).format(a.value);
  } catch {
    return `${a.value} ${a.currency}`;
  }
}

/** @param {'loading' | 'polling' | 'offline' | 'config-failed'} status @param {string} [detail] */
function setStatus(status, detail) {
  const bar = $('status-bar');
  bar.dataset.status = status;
  const text = { loading: 'loading configuration', polling: 'connected · polling', offline: 'offline', 'config-failed': 'configuration failed' }[status];
  $('status-text').textContent = text;
  bar.title = detail ?? '';
}

function show(/** @type {string} */ view) {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
}

/** @param {'offline' | 'config-failed' | 'cancelled'} kind @param {string} title @param {string} detail */
function showMessage(kind, title, detail) {
  $('view-message').dataset.kind = kind;
  $('message-icon').textContent = kind === 'cancelled' ? '×' : '!';
  $('message-title').textContent = title;
  $('message-detail').textContent = detail;
  show('message');
}

async function openSession() {
  let res;
  try {
    res = await fetch('/simulator/api/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ terminal: app.terminalId }),
      signal: AbortSignal.timeout(10000),
    });
  } catch {
    throw new Offline('the platform does not answer');
  }
  if (!res.ok) throw new HttpError(res.status, (await res.json().catch(() => ({}))).detail ?? res.statusText);
  app.session = (await res.json()).token;
}

/**
 * The device API through the simulator session; a session the server forgot (a restart) is
 * opened again once.
 * @param {string} path @param {{ method?: string, body?: unknown, timeoutMs?: number, signal?: AbortSignal }} [o]
 */
async function device(path, o = {}, retried = false) {
  if (!app.session) await openSession();
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 10000);
  let res;
  try {
    res = await fetch(`/simulator/api/device${path}`, {
      method: o.method ?? 'GET',
      headers: { authorization: `Bearer ${app.session}`, ...(o.body !== undefined && { 'content-type': 'application/json' }) },
      ...(o.body !== undefined && { body: JSON.stringify(o.body) }),
      signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
    });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    throw new Offline(timeout.aborted ? 'no answer in time' : 'the platform does not answer');
  }
  if (res.status === 403 && !retried) {
    app.session = null;
    return device(path, o, true);
  }
  if (res.status === 204) return null;
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new HttpError(res.status, body?.detail ?? res.statusText);
  return body;
}

async function loadConfig(/** @type {number} */ gen) {
  setStatus('loading');
  for (let failures = 1; gen === app.generation; failures++) {
    try {
      const config = await device('/config');
      if (!config.cloud_integration) throw new HttpError(422, 'cloud integration is off for this terminal');
      return config;
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      setStatus('config-failed', detail);
      showMessage('config-failed', 'Configuration failed', `${detail}. Retrying…`);
      await sleep(backoff(failures));
    }
  }
  return null;
}

function renderIdle() {
  const c = app.config;
  $('idle-merchant').textContent = c.merchant.name;
  $('idle-store').textContent = c.store.name;
  /** @type {HTMLImageElement} */ ($('qr')).src = `/simulator/api/terminals/${encodeURIComponent(c.terminal.id)}/qr.svg`;
  app.phase = 'idle';
  app.current = null;
  show('idle');
}

function showPayment(/** @type {Transaction} */ t) {
  app.current = t;
  app.phase = 'awaiting_card';
  $('tx-type').textContent = t.type.replace('_', '-');
  $('amount').textContent = formatAmount(t.amount);
  $('tx-ref').textContent = t.merchant_order_reference ? `Order ${t.merchant_order_reference}` : '';
  show('payment');
}

function showOutcome(/** @type {Transaction} */ t) {
  app.phase = 'outcome';
  app.current = null;
  const outcome = t.result ?? 'CANCELLED';
  $('outcome').dataset.result = outcome;
  $('outcome-icon').textContent = outcome === 'APPROVED' ? '✓' : '×';
  $('outcome-text').textContent = outcome === 'APPROVED' ? 'APPROVED' : outcome === 'DECLINED' ? 'DECLINED' : 'CANCELLED';
  $('outcome-amount').textContent = `${t.type.replace('_', '-')} ${formatAmount(t.amount)}${t.cancel_reason ? ` · ${t.cancel_reason}` : ''}`;
  $('receipt').textContent = t.receipt ?? '';
  show('outcome');
}

async function showCancelled(/** @type {Transaction} */ t, /** @type {string} */ by) {
  app.phase = 'message';
  app.current = null;
  showMessage('cancelled', 'Payment cancelled', `${formatAmount(t.amount)} ${by}.`);
  await sleep(2500);
  if (app.phase === 'message') renderIdle();
}

/** The long poll (or plain polling), and the watch for a cancellation while the card is awaited. */
async function pollLoop(/** @type {number} */ gen) {
  let failures = 0;
  while (gen === app.generation) {
    const c = app.config;
    try {
      if (app.phase === 'awaiting_card' && app.current) {
        const t = await device(`/transactions/${app.current.id}`);
        setStatus('polling');
        failures = 0;
        if (gen !== app.generation || app.phase !== 'awaiting_card') continue;
        if (t.result) showOutcome(t);
        else if (t.status === 'CANCELLED') void showCancelled(t, 'cancelled by the cash register');
        else await sleep(c.poll_interval_ms);
        continue;
      }
      if (app.phase === 'processing' || app.phase === 'message') {
        await sleep(200);
        continue;
      }
      app.poll = new AbortController();
      const wait = c.long_poll_max_wait_s;
      const t = await device(`/transactions/next${wait > 0 ? `?wait=${wait}` : ''}`, { timeoutMs: (wait + 10) * 1000, signal: app.poll.signal });
      if (gen !== app.generation) return;
      setStatus('polling');
      if (failures > 0 && app.phase === 'idle') renderIdle();
      failures = 0;
      if (t && (app.phase === 'idle' || app.phase === 'outcome')) showPayment(t);
      else if (!t && wait === 0) await sleep(c.poll_interval_ms);
    } catch (e) {
      if (gen !== app.generation) return;
      if (e instanceof Offline) {
        failures++;
        setStatus('offline', e.message);
        if (app.phase === 'idle') showMessage('offline', 'Offline', 'The terminal cannot reach the platform. Retrying…');
        await sleep(backoff(failures));
      } else if (e instanceof HttpError && (e.status === 401 || e.status === 403 || e.status === 404)) {
        return start(app.terminalId ?? '');
      } else {
        failures++;
        await sleep(backoff(failures));
      }
    }
  }
}

/** Presents the card; a report the platform did not answer is kept here and sent again. */
async function presentCard(/** @type {string} */ entryMode) {
  const t = app.current;
  if (!t || app.phase !== 'awaiting_card') return;
  const gen = app.generation;
  const number = /** @type {HTMLSelectElement} */ ($('card')).value;
  const expiry = (() => {
    const y = (new Date().getUTCFullYear() + 3) % 100;
    return `12/${String(y).padStart(2, '0')}`;
  })();
  app.phase = 'processing';
  $('processing-amount').textContent = formatAmount(t.amount);
  $('processing-text').textContent = { CONTACTLESS: 'Card tapped', CHIP: 'Card inserted', SWIPE: 'Card swiped' }[entryMode] + ' · processing…';
  $('processing-pending').hidden = true;
  show('processing');
  for (let failures = 1; gen === app.generation; failures++) {
    try {
      const done = await device(`/transactions/${t.id}/card`, { method: 'POST', body: { entry_mode: entryMode, card: { number, expiry } }, timeoutMs: 60000 });
      setStatus('polling');
      showOutcome(done);
      return;
    } catch (e) {
      if (e instanceof Offline) {
        setStatus('offline', e.message);
        $('processing-pending').hidden = false;
        await sleep(backoff(failures));
        continue;
      }
      if (e instanceof HttpError && e.status === 409) return showCancelled(t, 'was cancelled before the card was read');
      // A refused card (422): the payment is still open, choose another one.
      app.phase = 'awaiting_card';
      showPayment(t);
      $('tx-ref').textContent = e instanceof Error ? e.message : String(e);
      return;
    }
  }
}

async function cancelOnTerminal() {
  const t = app.current;
  if (!t || app.phase !== 'awaiting_card') return;
  try {
    const cancelled = await device(`/transactions/${t.id}/cancel`, { method: 'POST', body: {} });
    if (cancelled.result) showOutcome(cancelled);
    else void showCancelled(cancelled, 'cancelled on the terminal');
  } catch (e) {
    $('tx-ref').textContent = e instanceof Error ? e.message : String(e);
  }
}

async function loadCards() {
  const cards = await (await fetch('/simulator/api/cards')).json();
  const select = /** @type {HTMLSelectElement} */ ($('card'));
  select.replaceChildren(
    ...cards.map((/** @type {{ number: string, description: string }} */ c) => {
      const option = document.createElement('option');
      option.value = c.number;
      option.textContent = `${c.number} · ${c.description.split(':')[0]}`;
      return option;
    }),
  );
}

async function start(/** @type {string} */ terminalId) {
  const gen = ++app.generation;
  app.poll.abort();
  app.terminalId = terminalId;
  app.session = null;
  app.phase = 'idle';
  $('picker').hidden = true;
  $('device').hidden = false;
  $('side').hidden = false;
  $('side-terminal').textContent = terminalId;
  history.replaceState(null, '', `/simulator?terminal=${encodeURIComponent(terminalId)}`);
  const config = await loadConfig(gen);
  if (!config || gen !== app.generation) return;
  app.config = config;
  const t = config.terminal;
  $('device-brand').textContent = `${t.manufacturer} ${t.model}`;
  $('device-serial').textContent = `S/N ${t.serial}`;
  $('side-terminal').textContent = t.id;
  $('side-store').textContent = `${config.merchant.name} · ${config.store.name}`;
  $('side-polling').textContent = config.long_poll_max_wait_s > 0 ? `long poll, up to ${config.long_poll_max_wait_s} s` : `every ${config.poll_interval_ms} ms`;
  $('side-qr').textContent = JSON.stringify({ manufacturer: t.manufacturer, model: t.model, serial: t.serial });
  setStatus('polling');
  renderIdle();
  void pollLoop(gen);
}

async function showPicker() {
  $('picker').hidden = false;
  $('device').hidden = true;
  $('side').hidden = true;
  const list = $('terminal-list');
  try {
    const terminals = await (await fetch('/simulator/api/terminals')).json();
    if (terminals.length === 0) {
      $('picker-error').hidden = false;
      $('picker-error').textContent = 'No terminal is registered yet: register one with `cloudpos admin terminal register`.';
    }
    list.replaceChildren(
      ...terminals.map((/** @type {any} */ t) => {
        const li = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.terminal = t.id;
        const id = document.createElement('span');
        id.className = 'tid';
        id.textContent = t.id;
        const where = document.createElement('span');
        where.className = 'where';
        where.textContent = `${t.merchant.name} · ${t.store.name}${t.last_seen ? ` · last seen ${new Date(t.last_seen).toLocaleTimeString()}` : ''}`;
        button.append(id, where);
        button.addEventListener('click', () => void start(t.id));
        li.append(button);
        return li;
      }),
    );
    return terminals;
  } catch {
    $('picker-error').hidden = false;
    $('picker-error').textContent = 'The platform does not answer.';
    return [];
  }
}

function tick() {
  $('clock').textContent = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

for (const button of document.querySelectorAll('[data-entry]')) {
  button.addEventListener('click', () => void presentCard(/** @type {HTMLElement} */ (button).dataset.entry ?? 'CONTACTLESS'));
}
$('cancel').addEventListener('click', () => void cancelOnTerminal());
$('done').addEventListener('click', () => {
  if (app.phase === 'outcome') renderIdle();
});
tick();
setInterval(tick, 10000);
await loadCards().catch(() => {});
const wanted = new URLSearchParams(location.search).get('terminal');
if (wanted) void start(wanted);
else {
  const terminals = await showPicker();
  // One terminal in the sandbox (the first run's demo): no need to choose.
  if (terminals.length === 1) void start(terminals[0].id);
}
