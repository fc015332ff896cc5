// What the screen shows, without any network: views, the status bar, the picker's entries.
// @ts-check

export const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const VIEWS = ['idle', 'payment', 'processing', 'outcome', 'message'];
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 8000;

export const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
export const backoff = (/** @type {number} */ failures) => Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));

export function formatAmount(/** @type {{ value: number, currency: string }} */ a) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: a.currency }).format(a.value);
  } catch {
    return `${a.value} ${a.currency}`;
  }
}

/** @param {'loading' | 'polling' | 'offline' | 'config-failed'} status @param {string} [detail] */
export function setStatus(status, detail) {
  const bar = $('status-bar');
  bar.dataset.status = status;
  const text = { loading: 'loading configuration', polling: 'connected · polling', offline: 'offline', 'config-failed': 'configuration failed' }[status];
  $('status-text').textContent = text;
  bar.title = detail ?? '';
}

export function show(/** @type {string} */ view) {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
}

/** @param {'offline' | 'config-failed' | 'cancelled'} kind @param {string} title @param {string} detail */
export function showMessage(kind, title, detail) {
  $('view-message').dataset.kind = kind;
  $('message-icon').textContent = kind === 'cancelled' ? '×' : '!';
  $('message-title').textContent = title;
  $('message-detail').textContent = detail;
  show('message');
}

/** One terminal of the picker. @param {any} t @param {() => void} choose */
export function terminalButton(t, choose) {
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
  button.addEventListener('click', choose);
  li.append(button);
  return li;
}
