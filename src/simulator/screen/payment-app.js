// The terminal's own payment app, as the page plays it in "terminal decides the outcome" mode: it
// decides by the sandbox's test-card table, as the server lists it (GET /simulator/api/cards, from
// src/acquirer/test-cards.ts), and builds what POST …/outcome carries: brand and last four digits,
// never the card number. The card whose acquirer never answers is declined after the app's
// timeout as UNABLE_TO_GO_ONLINE, as `cloudpos terminal run --outcome` does (src/simulator/payment-app.ts).
// @ts-check

/** @typedef {{ number: string, last4: string, brand: string, outcome: 'APPROVED' | 'DECLINED' | 'NO_ANSWER', decline_reason?: string, slow: boolean, emv: { aid: string, application_label: string } | null, description: string }} TestCard */

export const SLOW_MS = 3000;
export const TIMEOUT_MS = 10000;
const CONTACTLESS_NO_CVM_LIMIT_MINOR = 5000;
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

function authorizationCode() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
}

/** @param {{ value: number, currency: string }} amount */
function minorUnits(amount) {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: amount.currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {}
  return Math.round(amount.value * 10 ** digits);
}

/**
 * The outcome to report, and how long the acquirer takes to give it.
 * @param {TestCard} card @param {string} entryMode @param {{ value: number, currency: string }} amount
 */
export function decide(card, entryMode, amount) {
  const cvm = entryMode === 'SWIPE' ? 'SIGNATURE' : entryMode === 'CHIP' ? 'PIN' : minorUnits(amount) <= CONTACTLESS_NO_CVM_LIMIT_MINOR ? 'NO_CVM' : 'CDCVM';
  const emv = { ...(entryMode !== 'SWIPE' && card.emv && { aid: card.emv.aid, application_label: card.emv.application_label }), cvm };
  const base = { entry_mode: entryMode, card: { brand: card.brand, last4: card.last4 }, emv };
  if (card.outcome === 'APPROVED') return { delayMs: card.slow ? SLOW_MS : 0, outcome: { result: 'APPROVED', ...base, authorization_code: authorizationCode() } };
  if (card.outcome === 'DECLINED') return { delayMs: 0, outcome: { result: 'DECLINED', ...base, decline_reason: card.decline_reason ?? 'DO_NOT_HONOUR' } };
  return { delayMs: TIMEOUT_MS, outcome: { result: 'DECLINED', ...base, decline_reason: 'UNABLE_TO_GO_ONLINE' } };
}
