// The terminal app in the browser: loads the configuration, polls for the next payment (long poll
// when allowed), shows it, takes a test card and shows the outcome and receipt. Two payment modes:
// the platform asks the acquirer (the card goes to POST …/card), or the terminal's own payment app
// decides (payment-app.js) and reports POST …/presented and …/outcome, as a real terminal does.
// All network calls go through platform.js: the customer's API key and a simulator session.
// @ts-check
import { api, apiKey, device, forgetKey, HttpError, KeyRefused, Offline, rememberKey, session, takeKeyFromUrl } from '/simulator/platform.js';
import { decide } from '/simulator/payment-app.js';

import { $, backoff, formatAmount, setStatus, show, showMessage, sleep, terminalButton } from '/simulator/views.js';

/** @typedef {{ id: string, type: string, amount: { value: number, currency: string }, status: string, merchant_order_reference?: string, result?: string, cancel_reason?: string, receipt?: string }} Transaction */
/** @typedef {import('/simulator/payment-app.js').TestCard} TestCard */

const app = {
  /** @type {any} */ config: null,
  /** @type {TestCard[]} */ cards: [],
  /** @type {string | null} */ qrUrl: null,
  /** bumped when the terminal changes: loops of an older one stop */
  generation: 0,
  /** 'idle' | 'awaiting_card' | 'processing' | 'outcome' */
  phase: 'idle',
  /** @type {Transaction | null} */ current: null,
  /** @type {AbortController} */ poll: new AbortController(),
};

async function loadConfig(/** @type {number} */ gen) {
  setStatus('loading');
  for (let failures = 1; gen === app.generation; failures++) {
    try {
      const config = await device('/config');
      if (!config.cloud_integration) throw new HttpError(422, 'cloud integration is off for this terminal');
      return config;
    } catch (e) {
      if (e instanceof KeyRefused) return askForKey(e.message);
      if (e instanceof HttpError && e.status === 404) {
        // Not a terminal of this key's customer (or gone): back to the choice.
        history.replaceState(null, '', '/simulator');
        void showPicker().then(() => {
          $('picker-error').hidden = false;
          $('picker-error').textContent = e.message;
        });
        return null;
      }
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
  void showQr(c.terminal.id);
  app.phase = 'idle';
  app.current = null;
  show('idle');
}

/** The QR image needs the API key too, so it is fetched and shown from memory. */
async function showQr(/** @type {string} */ terminalId) {
  if (app.qrUrl) return;
  try {
    const svg = await api(`/terminals/${encodeURIComponent(terminalId)}/qr.svg`);
    app.qrUrl = URL.createObjectURL(svg);
    /** @type {HTMLImageElement} */ ($('qr')).src = app.qrUrl;
  } catch {}
}

function showPayment(/** @type {Transaction} */ t) {
  app.current = t;
  app.phase = 'awaiting_card';
  $('tx-type').textContent = t.type.replace('_', '-');
  $('amount').textContent = formatAmount(t.amount);
  $('tx-ref').textContent = t.merchant_order_reference ? `Order ${t.merchant_order_reference}` : '';
  // The last payment's outcome and receipt leave with it: nothing on screen belongs to an older payment.
  delete $('outcome').dataset.result;
  $('receipt').textContent = '';
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
      } else if (e instanceof KeyRefused) {
        return askForKey(e.message);
      } else if (e instanceof HttpError && (e.status === 401 || e.status === 403 || e.status === 404)) {
        return start(session.terminalId ?? '');
      } else {
        failures++;
        await sleep(backoff(failures));
      }
    }
  }
}

/** Sends a report until the platform answers; kept here (in memory) while it is offline. */
async function untilAnswered(/** @type {number} */ gen, /** @type {() => Promise<any>} */ send) {
  for (let failures = 1; gen === app.generation; failures++) {
    try {
      return await send();
    } catch (e) {
      if (!(e instanceof Offline)) throw e;
      setStatus('offline', e.message);
      $('processing-pending').hidden = false;
      await sleep(backoff(failures));
    }
  }
  return null;
}

const terminalDecides = () => /** @type {HTMLInputElement} */ ($('mode-outcome')).checked;

/** Presents the card: to the platform (card route), or to the terminal's own payment app. */
async function presentCard(/** @type {string} */ entryMode) {
  const t = app.current;
  if (!t || app.phase !== 'awaiting_card') return;
  const gen = app.generation;
  const number = /** @type {HTMLSelectElement} */ ($('card')).value;
  const card = app.cards.find((c) => c.number === number);
  const expiry = `12/${String((new Date().getUTCFullYear() + 3) % 100).padStart(2, '0')}`;
  app.phase = 'processing';
  $('processing-amount').textContent = formatAmount(t.amount);
  $('processing-text').textContent = { CONTACTLESS: 'Card tapped', CHIP: 'Card inserted', SWIPE: 'Card swiped' }[entryMode] + ' · processing…';
  $('processing-pending').hidden = true;
  show('processing');
  try {
    let done;
    if (terminalDecides() && card) {
      const id = encodeURIComponent(t.id);
      await untilAnswered(gen, () => device(`/transactions/${id}/presented`, { method: 'POST', body: { entry_mode: entryMode } }));
      const { delayMs, outcome } = decide(card, entryMode, t.amount);
      $('processing-text').textContent = 'Payment app · asking the acquirer…';
      await sleep(delayMs);
      if (gen !== app.generation) return;
      try {
        done = await untilAnswered(gen, () => device(`/transactions/${id}/outcome`, { method: 'POST', body: outcome }));
      } catch (e) {
        if (e instanceof HttpError && e.status === 409) return showCancelled(t, `was cancelled meanwhile${outcome.result === 'APPROVED' ? ': the payment app reverses the approval' : ''}`);
        throw e;
      }
    } else {
      done = await untilAnswered(gen, () => device(`/transactions/${t.id}/card`, { method: 'POST', body: { entry_mode: entryMode, card: { number, expiry } }, timeoutMs: 60000 }));
    }
    if (!done) return;
    setStatus('polling');
    showOutcome(done);
  } catch (e) {
    if (e instanceof KeyRefused) return askForKey(e.message);
    if (e instanceof HttpError && e.status === 409) return showCancelled(t, 'was cancelled before the card was read');
    // A refused card (422): the payment is still open, choose another one.
    app.phase = 'awaiting_card';
    showPayment(t);
    $('tx-ref').textContent = e instanceof Error ? e.message : String(e);
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
  app.cards = await api('/cards');
  const select = /** @type {HTMLSelectElement} */ ($('card'));
  select.replaceChildren(
    ...app.cards.map((c) => {
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
  session.terminalId = terminalId;
  session.token = null;
  if (app.qrUrl) URL.revokeObjectURL(app.qrUrl);
  app.qrUrl = null;
  app.phase = 'idle';
  $('key-form').hidden = true;
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
  $('key-form').hidden = true;
  $('picker').hidden = false;
  $('device').hidden = true;
  $('side').hidden = true;
  const list = $('terminal-list');
  try {
    const terminals = await api('/terminals');
    if (terminals.length === 0) {
      $('picker-error').hidden = false;
      $('picker-error').textContent = 'No terminal is registered yet: register one with `cloudpos admin terminal register`.';
    }
    list.replaceChildren(
      ...terminals.map((/** @type {any} */ t) => terminalButton(t, () => void start(t.id))),
    );
    return terminals;
  } catch (e) {
    if (e instanceof KeyRefused) {
      askForKey(e.message);
      return null;
    }
    $('picker-error').hidden = false;
    $('picker-error').textContent = e instanceof Offline ? 'The platform does not answer.' : String(e instanceof Error ? e.message : e);
    return [];
  }
}

function tick() {
  $('clock').textContent = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** No key, or a key the server refused: the small form asks for one. */
function askForKey(/** @type {string} */ why = '') {
  ++app.generation;
  app.poll.abort();
  forgetKey();
  $('picker').hidden = true;
  $('device').hidden = true;
  $('side').hidden = true;
  $('key-form').hidden = false;
  $('key-error').hidden = !why;
  $('key-error').textContent = why;
  $('key-input').focus();
  return null;
}

/** With a key: the test cards, then the terminal named in the address or the picker. */
async function openWithKey() {
  try {
    await loadCards();
  } catch (e) {
    if (e instanceof KeyRefused) return askForKey(e.message);
  }
  const wanted = new URLSearchParams(location.search).get('terminal');
  if (wanted) return start(wanted);
  const terminals = await showPicker();
  // One terminal (the first run's demo): no need to choose.
  if (terminals?.length === 1) void start(terminals[0].id);
}

for (const button of document.querySelectorAll('[data-entry]')) {
  button.addEventListener('click', () => void presentCard(/** @type {HTMLElement} */ (button).dataset.entry ?? 'CONTACTLESS'));
}
$('cancel').addEventListener('click', () => void cancelOnTerminal());
$('done').addEventListener('click', () => {
  if (app.phase === 'outcome') renderIdle();
});
$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = /** @type {HTMLInputElement} */ ($('key-input')).value.trim();
  if (!key) return;
  rememberKey(key);
  /** @type {HTMLInputElement} */ ($('key-input')).value = '';
  void openWithKey();
});
$('forget-key').addEventListener('click', () => askForKey());
tick();
setInterval(tick, 10000);
if (takeKeyFromUrl()) void openWithKey();
else askForKey();
