import { renderReceipt, type ReceiptOutcome } from '../domain/receipt.js';
import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';

/** The cardholder's receipt of a finished transaction, in its store's layout and time zone. */
export function receiptOf(
  terminal: Terminal,
  t: Transaction,
  at: number,
  outcome: ReceiptOutcome,
  extra: { authorization_code?: string | undefined; decline_reason?: string | undefined } = {},
) {
  return renderReceipt(
    {
      merchant_name: terminal.merchant.name,
      store_name: terminal.store.name,
      store_address: terminal.store.address,
      terminal_id: terminal.id,
      type: t.type,
      transaction_datetime: new Date(at),
      timezone: terminal.store.timezone,
      brand: t.brand ?? 'UNKNOWN',
      card_last4: t.card_last4 ?? '????',
      entry_mode: t.entry_mode ?? 'CHIP',
      amount_minor: t.amount_minor,
      currency: t.currency,
      stan: t.stan ?? '000000',
      ...(extra.authorization_code && { authorization_code: extra.authorization_code }),
      outcome,
      ...(extra.decline_reason && { decline_reason: extra.decline_reason.replace(/_/g, ' ') }),
      copy: 'CARDHOLDER',
    },
    terminal.store.receipt_width,
  );
}
