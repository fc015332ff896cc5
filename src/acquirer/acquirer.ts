import type { Brand, EntryMode } from '../domain/card.js';
import type { TransactionType } from '../domain/transaction-lifecycle.js';

export type AuthorizationRequest = {
  transaction_id: string;
  type: TransactionType;
  amount_minor: number;
  currency: string;
  /** The full number lives only in memory for this call: never store or log a request. */
  card: { number: string; expiry: string; entry_mode: EntryMode };
  terminal_id: string;
  /** System trace audit number, 6 digits. */
  stan: string;
};

export type AuthorizationResponse = {
  outcome: 'APPROVED' | 'DECLINED';
  /** Present when approved. */
  authorization_code?: string;
  brand: Brand;
  /** Present when declined, e.g. INSUFFICIENT_FUNDS. */
  decline_reason?: string;
};

/** The acquirer could not be asked or did not answer (timeout, unreachable, aborted). Unlike a
 * decline, nobody decided: the transaction ends CANCELLED with reason ACQUIRER_UNAVAILABLE. */
export class AcquirerUnavailableError extends Error {
  override readonly name = 'AcquirerUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isAcquirerUnavailable(e: unknown): e is AcquirerUnavailableError {
  return e instanceof AcquirerUnavailableError;
}

/** What a real acquirer connector implements. An expected refusal is a DECLINED response; only
 * "no answer" throws AcquirerUnavailableError. */
export interface Acquirer {
  authorize(req: AuthorizationRequest, signal?: AbortSignal): Promise<AuthorizationResponse>;
}
