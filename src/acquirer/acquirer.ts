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
  /** The acquirer's own reference of the authorization, when it has one: completions name it. */
  acquirer_reference?: string;
  brand: Brand;
  /** Present when declined, e.g. INSUFFICIENT_FUNDS. */
  decline_reason?: string;
};

/** Completes an earlier authorization without the card: capture or release a pre-authorization,
 * or reverse an approval the platform could not record. */
export type CompletionRequest = {
  transaction_id: string;
  /** As the authorization answered it (the platform's or the terminal's acquirer), if it did. */
  acquirer_reference: string | null;
  authorization_code: string | null;
  /** What was authorized, in minor units of `currency`. */
  authorized_minor: number;
  /** For a capture: how much to capture, at most `authorized_minor`. */
  amount_minor: number;
  currency: string;
  terminal_id: string;
  stan: string | null;
};

/** The completion of an authorization: what was authorized, what the acquirer answered it with,
 * and how much to complete (all of it unless a capture says less). */
export function completionOf(
  authorized: { transaction_id: string; amount_minor: number; currency: string; terminal_id: string; stan: string | null },
  answer: { acquirer_reference?: string | null; authorization_code?: string | null },
  amountMinor: number = authorized.amount_minor,
): CompletionRequest {
  return {
    transaction_id: authorized.transaction_id,
    acquirer_reference: answer.acquirer_reference ?? null,
    authorization_code: answer.authorization_code ?? null,
    authorized_minor: authorized.amount_minor,
    amount_minor: amountMinor,
    currency: authorized.currency,
    terminal_id: authorized.terminal_id,
    stan: authorized.stan,
  };
}

/** ACCEPTED: done (also when it had been done before: a retry must be harmless). REFUSED: the
 * acquirer will not, e.g. a capture over the authorized amount or after a release. */
export type CompletionResponse = { outcome: 'ACCEPTED' } | { outcome: 'REFUSED'; reason: string };

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

/** What an acquirer connector implements (README, "Acquirer connectors"). An expected refusal is
 * an answer (DECLINED, REFUSED); only "no answer" throws, as AcquirerUnavailableError. Every call
 * may be retried with the same request, and a retry must not move money twice: the platform
 * retries after a crash or a lost answer. */
export interface Acquirer {
  /** Asks for an authorization with the card's data, which lives only in memory for this call. */
  authorize(req: AuthorizationRequest, signal?: AbortSignal): Promise<AuthorizationResponse>;
  /** Captures an authorized pre-authorization, at most what was authorized, once. */
  capture(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse>;
  /** Releases an authorized pre-authorization that was not captured, once. */
  release(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse>;
  /** Undoes an approval the platform gave up on (it answered after the timeout). */
  reverse(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse>;
}

export const ACQUIRER_METHODS = ['authorize', 'capture', 'release', 'reverse'] as const;
