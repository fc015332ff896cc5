import { randomInt } from 'node:crypto';
import { toMinorUnits } from '../domain/money.js';
import { err, ok, type Result } from '../domain/result.js';
import type { Terminal } from '../domain/terminal.js';
import { isTransactionId, type Transaction } from '../domain/transaction.js';
import type { TransactionType } from '../domain/transaction-lifecycle.js';
import type { Caller, UseCaseContext } from './context.js';
import type { CreationContext } from './gateway.js';

export interface CreateTransaction {
  type: TransactionType;
  merchant_order_reference: string;
  amount: { value: number; currency: string };
  reference?: { id: string };
}

/** 31 decimal digits, like the guide's ids: the creation's millisecond (13 digits until the year
 * 2286) and 18 random digits (60 bits), unguessable. Ordered by time, so each index on an id (the
 * transaction's, its history's, its events' subject) takes new keys at its right edge, in pages a
 * database has just written, instead of one random page of the whole index per key. */
export function newTransactionId(): string {
  return `${Date.now()}${String(randomInt(0, 1e12)).padStart(12, '0')}${String(randomInt(0, 1e6)).padStart(6, '0')}`;
}

/** Pushes a purchase, a refund or a pre-authorization to one terminal of the caller. A terminal
 * whose long poll is held here gets it in the creation's own commit (`pollWaits`). */
export function createTransaction(ctx: UseCaseContext, settings: { expiryMs: number; maxAmountMinor: number }, pollWaits: (terminalPk: number) => boolean) {
  return async (caller: Caller, terminalId: string, input: CreateTransaction): Promise<Result<{ terminal: Terminal; transaction: Transaction }, CreateError>> => {
    const found = await ctx.terminals.rememberedCustomerTerminal(caller.customerId, terminalId);
    if (!found.ok) return found;
    const terminal = found.value;
    const { currency } = input.amount;
    const minor = toMinorUnits(input.amount.value, currency, settings.maxAmountMinor);
    if (!minor.ok) return minor;
    if (currency !== terminal.store.currency) {
      return err('CURRENCY_NOT_ACCEPTED', `Terminal ${terminal.id} accepts ${terminal.store.currency}, not ${currency}.`);
    }
    if (input.reference && input.type !== 'REFUND') {
      return err('REFERENCE_INVALID', `Only a REFUND takes a reference; a ${input.type} does not.`);
    }
    const reference = input.reference?.id;
    if (reference !== undefined && !isTransactionId(reference)) return err('REFERENCE_INVALID', `There is no purchase ${reference} to refund.`);
    const now = ctx.now();
    const created = await ctx.gateway.create(
      terminal,
      {
        id: newTransactionId(),
        customer_id: caller.customerId,
        terminal_pk: terminal.pk,
        type: input.type,
        merchant_order_reference: input.merchant_order_reference,
        amount_minor: minor.value,
        currency,
        reference_id: reference ?? null,
        created_at: now,
        expires_at: now + settings.expiryMs,
      },
      (context) => (reference === undefined ? ok(undefined) : checkRefund(caller, reference, minor.value, currency, context)),
      { retrieve: pollWaits(terminal.pk) },
    );
    if (!created.ok) return created;
    ctx.notifier.notify(terminal.pk, created.value.id, created.value);
    return ok({ terminal, transaction: created.value });
  };
}

type CreateError = 'NOT_FOUND' | 'INVALID_AMOUNT' | 'UNKNOWN_CURRENCY' | 'CURRENCY_NOT_ACCEPTED' | 'REFERENCE_INVALID' | 'REFUND_EXCEEDS_PURCHASE' | 'TERMINAL_BUSY';

/** A referenced refund: an approved purchase of the same customer and currency, whose approved and
 * in-flight refunds stay within it. */
function checkRefund(caller: Caller, purchaseId: string, minor: number, currency: string, { purchase, refunded_minor }: CreationContext): Result<void, 'REFERENCE_INVALID' | 'REFUND_EXCEEDS_PURCHASE'> {
  if (!purchase || purchase.customer_id !== caller.customerId) {
    return err('REFERENCE_INVALID', `There is no purchase ${purchaseId} to refund.`);
  }
  const refundable = purchase.type === 'PURCHASE' || purchase.type === 'PRE_AUTHORIZATION';
  if (!refundable || purchase.status !== 'CLEARED' || purchase.result !== 'APPROVED') {
    return err('REFERENCE_INVALID', `Transaction ${purchaseId} is a ${purchase.type} that is ${purchase.status}${purchase.result ? `/${purchase.result}` : ''}: only an approved, cleared purchase can be refunded.`);
  }
  if (purchase.currency !== currency) {
    return err('REFERENCE_INVALID', `Purchase ${purchaseId} was made in ${purchase.currency}; the refund must be too.`);
  }
  const total = purchase.captured_minor ?? purchase.amount_minor;
  if (refunded_minor + minor > total) {
    return err('REFUND_EXCEEDS_PURCHASE', `Refunds of purchase ${purchaseId} would exceed it: ${total - refunded_minor} of ${total} minor units of ${currency} are left to refund.`);
  }
  return ok(undefined);
}
