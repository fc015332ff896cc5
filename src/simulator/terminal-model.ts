/** What the terminal app works with: the device API's answers as it sees them, its state, the
 * events it reacts to and the effects it asks its shell to carry out. */

import type { Brand } from '../domain/card.js';

export type EntryMode = 'CONTACTLESS' | 'CHIP' | 'SWIPE';
export const ENTRY_MODES: readonly EntryMode[] = ['CONTACTLESS', 'CHIP', 'SWIPE'];

/** What the app needs from `GET /device/v1/config`. */
export interface TerminalConfig {
  terminal: { id: string; manufacturer: string; model: string; serial: string };
  cloud_integration: boolean;
  poll_interval_ms: number;
  long_poll_max_wait_s: number;
}

/** What the app needs from a transaction as the device API shows it. */
export interface DeviceTransaction {
  id: string;
  type: string;
  amount: { value: number; currency: string };
  status: string;
  merchant_order_reference?: string;
  result?: 'APPROVED' | 'DECLINED';
  cancel_reason?: string;
  receipt?: string;
}

export interface PresentedCard {
  number: string;
  expiry: string;
  entry_mode: EntryMode;
}

/** The card report while it is being sent. The full number lives only here, in memory. */
export interface CardReport {
  transaction: DeviceTransaction;
  card: PresentedCard;
}

export type CardholderVerification = 'NO_CVM' | 'PIN' | 'SIGNATURE' | 'CDCVM';

/** What a terminal's own payment app reports through `POST …/outcome`: never the card number. */
export interface TerminalOutcome {
  result: 'APPROVED' | 'DECLINED';
  entry_mode: EntryMode;
  card: { brand: Brand; last4: string };
  authorization_code?: string;
  emv?: { aid?: string; application_label?: string; cvm?: CardholderVerification };
  decline_reason?: string;
}

/** What may be written to disk about a card result not yet reported: never the full number. */
export interface PendingRecord {
  version: 1;
  terminal_id: string;
  transaction_id: string;
  type: string;
  amount: { value: number; currency: string };
  entry_mode: EntryMode;
  card_last4: string;
  presented_at: string;
  /** in outcome mode, the payment app's answer (safe to keep: brand and last four only), reported
   * again after a restart */
  outcome?: TerminalOutcome;
}

export type Phase =
  | { kind: 'stopped_before_start' }
  | { kind: 'loading_config'; attempt: number }
  | { kind: 'config_failed'; attempt: number; reason: string }
  /** a result from a previous run is on disk: ask the platform how it ended before polling */
  | { kind: 'resolving_pending'; record: PendingRecord; failures: number; reason?: string }
  | { kind: 'idle'; failures: number; reason?: string }
  | { kind: 'awaiting_card'; transaction: DeviceTransaction; failures: number; reason?: string }
  | { kind: 'reporting'; report: CardReport; failures: number; saved: boolean; reason?: string }
  /** outcome mode: telling the platform the card was presented (the payment app has not asked its acquirer yet) */
  | { kind: 'presenting'; report: CardReport; failures: number; reason?: string }
  /** outcome mode: the payment app asks its acquirer (here: the sandbox's test-card table) */
  | { kind: 'authorizing'; report: CardReport; failures: number }
  /** outcome mode: reporting the payment app's answer */
  | { kind: 'reporting_outcome'; transaction: DeviceTransaction; outcome: TerminalOutcome; failures: number; saved: boolean; reason?: string }
  | { kind: 'cancelling'; transaction: DeviceTransaction; failures: number; reason?: string }
  | { kind: 'stopped'; exit_code: number };

export interface AppOptions {
  /** present this card to every payment by itself (`--card`) */
  auto_card?: PresentedCard;
  /** the terminal's own payment app decides and reports `presented` + `outcome` (`--outcome`);
   * otherwise the card goes to the platform, which asks the acquirer */
  outcome_mode?: boolean;
  /** stop after one finished transaction (`--once`) */
  once: boolean;
  /** backoff of retries: base, doubled per failure, capped */
  retry_base_ms: number;
  retry_max_ms: number;
}

export interface AppState {
  /** changes whenever the phase kind changes; the shell drops answers that belong to an older one */
  seq: number;
  options: AppOptions;
  config?: TerminalConfig;
  phase: Phase;
}

export type Failure = { offline: true; reason: string } | { offline: false; status: number; reason: string };

export type AppEvent =
  | { type: 'START' }
  | { type: 'TIMER' }
  /** `restored`: a result an earlier run kept on disk for this terminal, resolved before polling */
  | { type: 'CONFIG_LOADED'; config: TerminalConfig; restored?: PendingRecord | undefined }
  | { type: 'CONFIG_FAILED'; failure: Failure }
  | { type: 'POLLED'; transaction: DeviceTransaction | null }
  | { type: 'POLL_FAILED'; failure: Failure }
  | { type: 'FETCHED'; transaction: DeviceTransaction | null }
  | { type: 'FETCH_FAILED'; failure: Failure }
  | { type: 'CARD_CHOSEN'; card: PresentedCard }
  | { type: 'OPERATOR_CANCELLED' }
  | { type: 'CARD_REPORTED'; transaction: DeviceTransaction }
  | { type: 'CARD_REPORT_FAILED'; failure: Failure }
  | { type: 'PRESENTED_REPORTED'; transaction: DeviceTransaction }
  | { type: 'PRESENTED_REPORT_FAILED'; failure: Failure }
  | { type: 'AUTHORIZED_LOCALLY'; outcome: TerminalOutcome }
  | { type: 'OUTCOME_REPORTED'; transaction: DeviceTransaction }
  | { type: 'OUTCOME_REPORT_FAILED'; failure: Failure }
  | { type: 'TERMINAL_CANCEL_DONE'; transaction: DeviceTransaction | null }
  | { type: 'TERMINAL_CANCEL_FAILED'; failure: Failure };

export type Notice =
  | { kind: 'config'; config: TerminalConfig }
  | { kind: 'transaction'; transaction: DeviceTransaction }
  | { kind: 'outcome'; transaction: DeviceTransaction }
  | { kind: 'cancelled'; transaction: DeviceTransaction; by: 'platform' | 'terminal' }
  | { kind: 'message'; text: string };

export type Effect =
  | { type: 'LOAD_CONFIG' }
  /** `GET next`; wait_s 0 is a plain poll */
  | { type: 'POLL'; wait_s: number }
  | { type: 'FETCH'; transaction_id: string }
  | { type: 'ASK_CARD'; transaction: DeviceTransaction }
  | { type: 'REPORT_CARD'; report: CardReport }
  | { type: 'CANCEL_ON_TERMINAL'; transaction_id: string }
  | { type: 'REPORT_PRESENTED'; transaction_id: string; entry_mode: EntryMode }
  /** the payment app decides; answers AUTHORIZED_LOCALLY (never dropped: an authorization is not abandoned) */
  | { type: 'AUTHORIZE_LOCALLY'; report: CardReport }
  | { type: 'REPORT_OUTCOME'; transaction_id: string; outcome: TerminalOutcome }
  /** dispatch TIMER after ms (dropped when the phase changed meanwhile) */
  | { type: 'SLEEP'; ms: number }
  | { type: 'SAVE_PENDING'; record: PendingRecord }
  | { type: 'CLEAR_PENDING'; transaction_id: string }
  | { type: 'NOTIFY'; notice: Notice }
  | { type: 'EXIT'; code: number };

export type Step = { state: AppState; effects: Effect[] };

export type Status = 'loading configuration' | 'configuration failed' | 'offline' | 'connected · polling' | 'stopped';
