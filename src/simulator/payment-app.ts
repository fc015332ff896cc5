import { authorizationCode, decideTestCard, EMV_APPLICATIONS, type TestCardDecision } from '../acquirer/test-cards.js';
import type { Brand } from '../domain/card.js';
import { toMinorUnits } from '../domain/money.js';
import type { CardholderVerification, CardReport, TerminalOutcome } from './terminal-model.js';

/**
 * The terminal's own payment app, as `terminal run --outcome` plays it: it decides by the sandbox's
 * test-card table (acquirer/test-cards.ts, the rule the sandbox acquirer follows) instead of
 * handing the card to the platform, and builds what `POST …/outcome` carries — brand and last
 * four digits, never the card number.
 *
 * The card whose acquirer never answers (4000000000000119): the app waits its acquirer timeout,
 * then declines, as an EMV terminal that cannot go online does (decline reason
 * UNABLE_TO_GO_ONLINE). Reporting nothing would leave the transaction CARD_PRESENTED, which no
 * DELETE and no terminal cancel can end.
 */

/** Above this amount (minor units) a contactless payment asks for the cardholder's verification. */
export const CONTACTLESS_NO_CVM_LIMIT_MINOR = 5_000;

export interface PaymentAppTiming {
  /** how long the slow card takes to be approved */
  slowMs: number;
  /** how long the app waits for an acquirer that never answers */
  timeoutMs: number;
}

export const DEFAULT_TIMING: PaymentAppTiming = { slowMs: 3_000, timeoutMs: 10_000 };

function verification(entry: CardReport['card']['entry_mode'], amountMinor: number): CardholderVerification {
  if (entry === 'SWIPE') return 'SIGNATURE';
  if (entry === 'CHIP') return 'PIN';
  return amountMinor <= CONTACTLESS_NO_CVM_LIMIT_MINOR ? 'NO_CVM' : 'CDCVM';
}

/** Pure: the outcome the payment app reports for a decision of the test-card table. */
export function outcomeOf(report: CardReport, decision: TestCardDecision, amountMinor: number, code: string): TerminalOutcome {
  const { number, entry_mode } = report.card;
  const brand: Brand = decision.brand;
  const app = entry_mode === 'SWIPE' ? undefined : EMV_APPLICATIONS[brand];
  const emv = { ...(app && { aid: app.aid, application_label: app.application_label }), cvm: verification(entry_mode, amountMinor) };
  const card = { brand, last4: number.slice(-4) };
  if (decision.outcome === 'APPROVED') return { result: 'APPROVED', entry_mode, card, authorization_code: code, emv };
  const decline_reason = decision.outcome === 'DECLINED' ? decision.decline_reason : 'UNABLE_TO_GO_ONLINE';
  return { result: 'DECLINED', entry_mode, card, emv, decline_reason };
}

/** The transaction's amount in minor units, as the acquirer's rule reads it (0 when unreadable). */
export function amountMinorOf(report: CardReport): number {
  const minor = toMinorUnits(report.transaction.amount.value, report.transaction.amount.currency);
  return minor.ok ? minor.value : 0;
}

/** Decides like the sandbox acquirer, taking as long as it does. */
export async function authorizeLocally(report: CardReport, timing: PaymentAppTiming = DEFAULT_TIMING): Promise<TerminalOutcome> {
  const amountMinor = amountMinorOf(report);
  const decision = decideTestCard(report.card.number, amountMinor);
  const delay = decision.outcome === 'NO_ANSWER' ? timing.timeoutMs : decision.outcome === 'APPROVED' && decision.slow ? timing.slowMs : 0;
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  return outcomeOf(report, decision, amountMinor, authorizationCode());
}
