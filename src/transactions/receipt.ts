import type { CardholderVerification, ReceiptCopy, ReceiptOutcome } from '../domain/receipt.js';
import { renderReceipt } from '../domain/receipt.js';
import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';

export interface ReceiptDetails {
  authorization_code?: string | undefined;
  decline_reason?: string | undefined;
  emv?: { aid?: string; application_label?: string; cvm?: CardholderVerification } | undefined;
}

/** Both copies of a finished transaction's receipt, in its store's layout and time zone: the
 * cardholder's (`receipt`, as the guide shows it) and the merchant's. */
export function receiptsOf(terminal: Terminal, t: Transaction, at: number, outcome: ReceiptOutcome, details: ReceiptDetails = {}) {
  const copy = (copy: ReceiptCopy) =>
    renderReceipt(
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
        ...(details.authorization_code && { authorization_code: details.authorization_code }),
        outcome,
        ...(details.decline_reason && { decline_reason: details.decline_reason.replace(/_/g, ' ') }),
        ...(details.emv && { emv: details.emv }),
        copy,
      },
      terminal.store.receipt_width,
    );
  return { receipt: copy('CARDHOLDER'), merchant_receipt: copy('MERCHANT') };
}
