import { Type, type Static } from 'typebox';
import { moneyOf } from '../domain/money.js';
import { TRANSACTION_TYPES } from '../domain/transaction-lifecycle.js';
import type { StoreRef as Store } from '../domain/terminal.js';
import type { Transaction as TransactionObject } from '../domain/transaction.js';
import { iso, StoreRef, Timestamp } from './schemas.js';

export const Amount = Type.Object(
  {
    value: Type.Number({ description: 'In major units, with at most as many decimals as the currency has (ISO 4217)', examples: [98.75] }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code', examples: ['EUR'] }),
  },
  { $id: 'Amount', additionalProperties: false },
);

export const TransactionTypeSchema = Type.Enum([...TRANSACTION_TYPES], { $id: 'TransactionType' });
export const TransactionStatus = Type.Enum(['CREATED', 'AUTHORIZED', 'CLEARED', 'CANCELLED'], { $id: 'TransactionStatus' });

export const Transaction = Type.Object(
  {
    type: TransactionTypeSchema,
    id: Type.String({ pattern: '^[0-9]+$', examples: ['5456485215432746823746654987115'] }),
    merchant_order_reference: Type.String(),
    creation_datetime: Timestamp(),
    amount: Amount,
    status: TransactionStatus,
    result: Type.Optional(Type.Enum(['APPROVED', 'DECLINED'], { description: 'Present once the acquirer answered' })),
    cancel_reason: Type.Optional(
      Type.Enum(['CANCELLED_BY_CUSTOMER', 'CANCELLED_ON_TERMINAL', 'SUPERSEDED', 'EXPIRED', 'RELEASED', 'ACQUIRER_UNAVAILABLE'], {
        description: 'Why a transaction without a result was cancelled',
      }),
    ),
    reference: Type.Optional(Type.Object({ id: Type.String() }, { additionalProperties: false, description: 'The purchase a referenced refund refunds' })),
    transaction_datetime: Type.Optional(Timestamp('When the acquirer answered')),
    system_trace_audit_number: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
    brand: Type.Optional(Type.String({ examples: ['VISA', 'V_PAY', 'MASTERCARD', 'MAESTRO', 'AMEX'] })),
    authorization_code: Type.Optional(Type.String()),
    captured_amount: Type.Optional(Amount),
    receipt: Type.Optional(Type.String({ description: "Plain-text EFT receipt, the cardholder's copy, fixed width (the store setting)" })),
    merchant_receipt: Type.Optional(Type.String({ description: "The merchant's copy of the receipt" })),
    store: Type.Optional(StoreRef),
  },
  { $id: 'Transaction', additionalProperties: false },
);

export type TransactionJson = Static<typeof Transaction>;

/** A transaction as the guide shows it: a small set of fields at first, more once processed. */
export function transactionView(t: TransactionObject, store: Store): TransactionJson {
  const processed = t.transaction_at !== null;
  return {
    type: t.type,
    id: t.id,
    merchant_order_reference: t.merchant_order_reference,
    creation_datetime: iso(t.created_at)!,
    amount: moneyOf(t.amount_minor, t.currency),
    status: t.status,
    ...(t.result !== null && { result: t.result }),
    ...(t.cancel_reason !== null && { cancel_reason: t.cancel_reason }),
    ...(t.reference_id !== null && { reference: { id: t.reference_id } }),
    ...(processed && {
      transaction_datetime: iso(t.transaction_at),
      ...(t.stan !== null && { system_trace_audit_number: t.stan }),
      ...(t.brand !== null && { brand: t.brand }),
      ...(t.authorization_code !== null && { authorization_code: t.authorization_code }),
      ...(t.receipt !== null && { receipt: t.receipt }),
      ...(t.merchant_receipt !== null && { merchant_receipt: t.merchant_receipt }),
      store: { uuid: store.uuid, name: store.name },
    }),
    ...(t.captured_minor !== null && { captured_amount: moneyOf(t.captured_minor, t.currency) }),
  };
}
