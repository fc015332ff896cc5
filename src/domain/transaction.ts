import type { Brand, EntryMode } from './card.js';
import type { CancelReason, PublicStatus, TerminalStage, TransactionResult, TransactionType } from './transaction-lifecycle.js';

/** A transaction as the use cases see it. Money is in minor units of `currency`; times are epoch ms. */
export interface Transaction {
  id: string;
  customer_id: number;
  /** the terminal's internal key (Terminal.pk) */
  terminal_pk: number;
  type: TransactionType;
  status: PublicStatus;
  stage: TerminalStage;
  result: TransactionResult | null;
  cancel_reason: CancelReason | null;
  merchant_order_reference: string;
  amount_minor: number;
  currency: string;
  captured_minor: number | null;
  /** when a pre-authorization was captured: the day its money moved */
  captured_at: number | null;
  /** for a referenced refund: the purchase it refunds */
  reference_id: string | null;
  brand: Brand | null;
  card_last4: string | null;
  entry_mode: EntryMode | null;
  stan: string | null;
  authorization_code: string | null;
  /** the cardholder's copy */
  receipt: string | null;
  merchant_receipt: string | null;
  /** the acquirer's reference of the authorization: capture, release and reversal name it */
  acquirer_reference: string | null;
  /** a digest of the outcome the terminal reported, if it reported one */
  outcome_hash: string | null;
  created_at: number;
  expires_at: number;
  /** when the outcome was recorded; null while none is */
  transaction_at: number | null;
  updated_at: number;
}

/** What a transition may write besides the life-cycle columns. */
export type TransactionChanges = Partial<
  Pick<
    Transaction,
    'captured_minor' | 'captured_at' | 'brand' | 'card_last4' | 'entry_mode' | 'stan' | 'authorization_code' | 'receipt' | 'merchant_receipt' | 'acquirer_reference' | 'outcome_hash' | 'transaction_at'
  >
>;

/** Transaction ids are 31 decimal digits; anything else names no transaction. */
export const isTransactionId = (id: string) => /^\d{1,40}$/.test(id);
