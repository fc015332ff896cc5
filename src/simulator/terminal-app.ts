/**
 * The terminal app's behaviour as a pure state machine: `step(state, event)` answers the next state
 * and the effects the shell must carry out (HTTP calls, timers, prompts, the screen). No I/O here,
 * so every rule — configuration first, backoff, long poll or plain polling, noticing a cancellation
 * while waiting for the card, keeping an unreported card result — is unit-tested directly.
 */

import type { AppEvent, AppOptions, AppState, CardReport, DeviceTransaction, Effect, Failure, PendingRecord, Phase, Status, Step, TerminalConfig, TerminalOutcome } from './terminal-model.js';

export function initialState(options: AppOptions): AppState {
  return { seq: 0, options, phase: { kind: 'stopped_before_start' } };
}

/** Retry delay after `failures` consecutive failures (1 → base). */
export function backoff(options: Pick<AppOptions, 'retry_base_ms' | 'retry_max_ms'>, failures: number): number {
  return Math.min(options.retry_max_ms, options.retry_base_ms * 2 ** Math.max(0, failures - 1));
}

/** The status bar: blue while connected and polling, red offline, amber when the configuration failed. */
export function statusOf(state: AppState): Status {
  const p = state.phase;
  switch (p.kind) {
    case 'stopped_before_start':
    case 'loading_config':
      return 'loading configuration';
    case 'config_failed':
      return 'configuration failed';
    case 'stopped':
      return 'stopped';
    default:
      return p.failures > 0 ? 'offline' : 'connected · polling';
  }
}

/** The safe part of a card report: what a restarted terminal needs to ask how the payment ended. */
export function pendingRecord(terminalId: string, report: CardReport, at: Date): PendingRecord {
  const t = report.transaction;
  return {
    version: 1,
    terminal_id: terminalId,
    transaction_id: t.id,
    type: t.type,
    amount: t.amount,
    entry_mode: report.card.entry_mode,
    card_last4: report.card.number.slice(-4),
    presented_at: at.toISOString(),
  };
}

/** In outcome mode, the payment app's answer is kept too: it holds no card number, and a restarted
 * terminal reports it again if the platform never got it. */
export function outcomeRecord(terminalId: string, t: DeviceTransaction, outcome: TerminalOutcome, at: Date): PendingRecord {
  return {
    version: 1,
    terminal_id: terminalId,
    transaction_id: t.id,
    type: t.type,
    amount: t.amount,
    entry_mode: outcome.entry_mode,
    card_last4: outcome.card.last4,
    presented_at: at.toISOString(),
    outcome,
  };
}

/** Finished = the platform will not change the outcome any more from the terminal's side. */
export function isFinished(t: DeviceTransaction): boolean {
  return t.result !== undefined || t.status === 'CANCELLED';
}

export function approved(t: DeviceTransaction): boolean {
  return t.result === 'APPROVED';
}

function pollEffect(config: TerminalConfig): Effect {
  return config.long_poll_max_wait_s > 0 ? { type: 'POLL', wait_s: config.long_poll_max_wait_s } : { type: 'POLL', wait_s: 0 };
}

function to(state: AppState, phase: Phase, effects: Effect[], config = state.config): Step {
  const seq = phase.kind === state.phase.kind ? state.seq : state.seq + 1;
  return { state: { ...state, seq, phase, ...(config && { config }) }, effects };
}

/** Back to the idle screen, polling at once; or the end of a `--once` run. */
function done(state: AppState, config: TerminalConfig, finished: DeviceTransaction | null, extra: Effect[]): Step {
  if (state.options.once && finished) {
    const code = approved(finished) ? 0 : 1;
    return to(state, { kind: 'stopped', exit_code: code }, [...extra, { type: 'EXIT', code }], config);
  }
  return to(state, { kind: 'idle', failures: 0 }, [...extra, pollEffect(config)], config);
}

/** The card is in: to the platform (card route), or, in outcome mode, `presented` first and then the
 * terminal's own payment app. */
function presentCard(state: AppState, config: TerminalConfig, report: CardReport, before: Effect[] = []): Step {
  if (state.options.outcome_mode) {
    return to(state, { kind: 'presenting', report, failures: 0 }, [...before, { type: 'REPORT_PRESENTED', transaction_id: report.transaction.id, entry_mode: report.card.entry_mode }], config);
  }
  return to(state, { kind: 'reporting', report, failures: 0, saved: false }, [...before, { type: 'REPORT_CARD', report }], config);
}

/** The platform refused what the terminal said about the card (not a cancellation): the payment is
 * still open, so another card is asked for, or with `--card` the payment is cancelled on the terminal. */
function cardRefused(state: AppState, t: DeviceTransaction, reason: string, before: Effect[]): Step {
  const message: Effect = { type: 'NOTIFY', notice: { kind: 'message', text: `card refused: ${reason}` } };
  if (state.options.auto_card) {
    return to(state, { kind: 'cancelling', transaction: t, failures: 0 }, [...before, message, { type: 'CANCEL_ON_TERMINAL', transaction_id: t.id }]);
  }
  const interval = state.config?.poll_interval_ms ?? 2000;
  return to(state, { kind: 'awaiting_card', transaction: t, failures: 0 }, [...before, message, { type: 'ASK_CARD', transaction: t }, { type: 'SLEEP', ms: interval }]);
}

const retryable = (f: Failure) => f.offline || f.status >= 500;
const cancelledMeanwhile = (f: Failure) => !f.offline && (f.status === 409 || f.status === 404);

/** A new transaction on screen: ask for the card (or present the `--card` one) and watch for a cancellation. */
function showTransaction(state: AppState, config: TerminalConfig, t: DeviceTransaction): Step {
  const notice: Effect = { type: 'NOTIFY', notice: { kind: 'transaction', transaction: t } };
  const auto = state.options.auto_card;
  if (auto) return presentCard(state, config, { transaction: t, card: auto }, [notice]);
  return to(state, { kind: 'awaiting_card', transaction: t, failures: 0 }, [
    notice,
    { type: 'ASK_CARD', transaction: t },
    { type: 'SLEEP', ms: config.poll_interval_ms },
  ], config);
}

export function step(state: AppState, event: AppEvent): Step {
  const p = state.phase;
  const o = state.options;
  const config = state.config;
  const stay: Step = { state, effects: [] };

  if (event.type === 'START') {
    return p.kind === 'stopped_before_start' ? to(state, { kind: 'loading_config', attempt: 1 }, [{ type: 'LOAD_CONFIG' }]) : stay;
  }

  switch (p.kind) {
    case 'loading_config':
      if (event.type === 'CONFIG_LOADED') {
        const c = event.config;
        if (!c.cloud_integration) {
          return to(state, { kind: 'config_failed', attempt: p.attempt, reason: 'cloud integration is off for this terminal' }, [
            { type: 'SLEEP', ms: backoff(o, p.attempt) },
          ], c);
        }
        const shown: Effect = { type: 'NOTIFY', notice: { kind: 'config', config: c } };
        const record = event.restored;
        if (record && record.terminal_id === c.terminal.id) {
          return to(state, { kind: 'resolving_pending', record, failures: 0 }, [shown, { type: 'FETCH', transaction_id: record.transaction_id }], c);
        }
        return to(state, { kind: 'idle', failures: 0 }, [shown, pollEffect(c)], c);
      }
      if (event.type === 'CONFIG_FAILED') {
        return to(state, { kind: 'config_failed', attempt: p.attempt, reason: event.failure.reason }, [{ type: 'SLEEP', ms: backoff(o, p.attempt) }]);
      }
      return stay;

    case 'config_failed':
      if (event.type === 'TIMER') return to(state, { kind: 'loading_config', attempt: p.attempt + 1 }, [{ type: 'LOAD_CONFIG' }]);
      return stay;

    case 'resolving_pending': {
      if (!config) return stay;
      if (event.type === 'FETCHED') {
        const clear: Effect = { type: 'CLEAR_PENDING', transaction_id: p.record.transaction_id };
        const t = event.transaction;
        if (t && isFinished(t)) return done(state, config, t, [clear, { type: 'NOTIFY', notice: { kind: 'outcome', transaction: t } }]);
        const kept = p.record.outcome;
        if (t && kept) {
          // The payment app decided before the restart, the platform never heard: report it now.
          return to(state, { kind: 'reporting_outcome', transaction: t, outcome: kept, failures: 0, saved: true }, [{ type: 'REPORT_OUTCOME', transaction_id: t.id, outcome: kept }]);
        }
        // Not finished: the card never reached the platform. Its number was not kept, so the
        // transaction comes back through `next` and the card is asked for again.
        return to(state, { kind: 'idle', failures: 0 }, [
          clear,
          { type: 'NOTIFY', notice: { kind: 'message', text: `the card of transaction ${p.record.transaction_id} never reached the platform: present it again` } },
          pollEffect(config),
        ]);
      }
      if (event.type === 'FETCH_FAILED') {
        const failures = p.failures + 1;
        return to(state, { ...p, failures, reason: event.failure.reason }, [{ type: 'SLEEP', ms: backoff(o, failures) }]);
      }
      if (event.type === 'TIMER') return to(state, p, [{ type: 'FETCH', transaction_id: p.record.transaction_id }]);
      return stay;
    }

    case 'idle': {
      if (!config) return stay;
      if (event.type === 'POLLED') {
        if (event.transaction) return showTransaction(state, config, event.transaction);
        const recovered: Phase = { kind: 'idle', failures: 0 };
        // Long poll: ask again at once. Plain polling: wait the configured interval first.
        return to(state, recovered, [config.long_poll_max_wait_s > 0 ? pollEffect(config) : { type: 'SLEEP', ms: config.poll_interval_ms }]);
      }
      if (event.type === 'POLL_FAILED') {
        if (!event.failure.offline && (event.failure.status === 401 || event.failure.status === 403)) {
          // The token stopped working: the configuration has to be loaded again.
          return to(state, { kind: 'config_failed', attempt: 1, reason: event.failure.reason }, [{ type: 'SLEEP', ms: backoff(o, 1) }]);
        }
        const failures = p.failures + 1;
        return to(state, { kind: 'idle', failures, reason: event.failure.reason }, [{ type: 'SLEEP', ms: backoff(o, failures) }]);
      }
      if (event.type === 'TIMER') return to(state, p, [{ type: 'POLL', wait_s: p.failures > 0 ? 0 : config.long_poll_max_wait_s }]);
      return stay;
    }

    case 'awaiting_card': {
      if (!config) return stay;
      const t = p.transaction;
      if (event.type === 'CARD_CHOSEN') return presentCard(state, config, { transaction: t, card: event.card });
      if (event.type === 'OPERATOR_CANCELLED') {
        return to(state, { kind: 'cancelling', transaction: t, failures: 0 }, [{ type: 'CANCEL_ON_TERMINAL', transaction_id: t.id }]);
      }
      if (event.type === 'TIMER') return to(state, p, [{ type: 'FETCH', transaction_id: t.id }]);
      if (event.type === 'FETCHED') {
        const now = event.transaction;
        if (now?.result) return done(state, config, now, [{ type: 'NOTIFY', notice: { kind: 'outcome', transaction: now } }]);
        if (!now || now.status === 'CANCELLED') {
          const cancelled = now ?? { ...t, status: 'CANCELLED' };
          return done(state, config, cancelled, [{ type: 'NOTIFY', notice: { kind: 'cancelled', transaction: cancelled, by: 'platform' } }]);
        }
        return to(state, { ...p, failures: 0 }, [{ type: 'SLEEP', ms: config.poll_interval_ms }]);
      }
      if (event.type === 'FETCH_FAILED') {
        const failures = p.failures + 1;
        return to(state, { ...p, failures, reason: event.failure.reason }, [{ type: 'SLEEP', ms: Math.max(config.poll_interval_ms, backoff(o, failures)) }]);
      }
      return stay;
    }

    case 'reporting': {
      if (!config) return stay;
      const r = p.report;
      const clear: Effect[] = p.saved ? [{ type: 'CLEAR_PENDING', transaction_id: r.transaction.id }] : [];
      if (event.type === 'CARD_REPORTED') {
        return done(state, config, event.transaction, [...clear, { type: 'NOTIFY', notice: { kind: 'outcome', transaction: event.transaction } }]);
      }
      if (event.type === 'CARD_REPORT_FAILED') {
        const f = event.failure;
        if (retryable(f)) {
          // Nobody knows whether the platform got the card: keep the report and send it again.
          const failures = p.failures + 1;
          const save: Effect[] = p.saved ? [] : [{ type: 'SAVE_PENDING', record: pendingRecord(config.terminal.id, r, new Date()) }];
          return to(state, { ...p, failures, saved: true, reason: f.reason }, [...save, { type: 'SLEEP', ms: backoff(o, failures) }]);
        }
        if (cancelledMeanwhile(f)) {
          const cancelled = { ...r.transaction, status: 'CANCELLED' };
          return done(state, config, cancelled, [...clear, { type: 'NOTIFY', notice: { kind: 'cancelled', transaction: cancelled, by: 'platform' } }]);
        }
        // Refused card (expired, not Luhn-valid, …): the transaction is still open.
        return cardRefused(state, r.transaction, f.reason, clear);
      }
      if (event.type === 'TIMER') return to(state, p, [{ type: 'REPORT_CARD', report: r }]);
      return stay;
    }

    case 'cancelling': {
      if (!config) return stay;
      if (event.type === 'TERMINAL_CANCEL_DONE') {
        const t = event.transaction ?? { ...p.transaction, status: 'CANCELLED' };
        if (t.status !== 'CANCELLED') return done(state, config, t, [{ type: 'NOTIFY', notice: { kind: 'outcome', transaction: t } }]);
        return done(state, config, t, [{ type: 'NOTIFY', notice: { kind: 'cancelled', transaction: t, by: 'terminal' } }]);
      }
      if (event.type === 'TERMINAL_CANCEL_FAILED') {
        const f = event.failure;
        if (!f.offline && f.status === 409) {
          // A card was presented after all: learn how it ended.
          return to(state, { kind: 'awaiting_card', transaction: p.transaction, failures: 0 }, [{ type: 'FETCH', transaction_id: p.transaction.id }]);
        }
        const failures = p.failures + 1;
        return to(state, { ...p, failures, reason: f.reason }, [{ type: 'SLEEP', ms: backoff(o, failures) }]);
      }
      if (event.type === 'TIMER') return to(state, p, [{ type: 'CANCEL_ON_TERMINAL', transaction_id: p.transaction.id }]);
      return stay;
    }

    case 'presenting': {
      if (!config) return stay;
      const r = p.report;
      if (event.type === 'PRESENTED_REPORTED') {
        const t = event.transaction;
        if (isFinished(t)) return done(state, config, t, [{ type: 'NOTIFY', notice: { kind: 'outcome', transaction: t } }]);
        return to(state, { kind: 'authorizing', report: { ...r, transaction: t }, failures: 0 }, [{ type: 'AUTHORIZE_LOCALLY', report: { ...r, transaction: t } }]);
      }
      if (event.type === 'PRESENTED_REPORT_FAILED') {
        const f = event.failure;
        if (retryable(f)) {
          // The payment app has not asked its acquirer yet: nothing to keep, just say it again.
          const failures = p.failures + 1;
          return to(state, { ...p, failures, reason: f.reason }, [{ type: 'SLEEP', ms: backoff(o, failures) }]);
        }
        if (cancelledMeanwhile(f)) {
          const cancelled = { ...r.transaction, status: 'CANCELLED' };
          return done(state, config, cancelled, [{ type: 'NOTIFY', notice: { kind: 'cancelled', transaction: cancelled, by: 'platform' } }]);
        }
        return cardRefused(state, r.transaction, f.reason, []);
      }
      if (event.type === 'TIMER') return to(state, p, [{ type: 'REPORT_PRESENTED', transaction_id: r.transaction.id, entry_mode: r.card.entry_mode }]);
      return stay;
    }

    case 'authorizing':
      if (event.type === 'AUTHORIZED_LOCALLY') {
        const t = p.report.transaction;
        return to(state, { kind: 'reporting_outcome', transaction: t, outcome: event.outcome, failures: 0, saved: false }, [
          { type: 'REPORT_OUTCOME', transaction_id: t.id, outcome: event.outcome },
        ]);
      }
      return stay;

    case 'reporting_outcome': {
      if (!config) return stay;
      const clear: Effect[] = p.saved ? [{ type: 'CLEAR_PENDING', transaction_id: p.transaction.id }] : [];
      if (event.type === 'OUTCOME_REPORTED') {
        return done(state, config, event.transaction, [...clear, { type: 'NOTIFY', notice: { kind: 'outcome', transaction: event.transaction } }]);
      }
      if (event.type === 'OUTCOME_REPORT_FAILED') {
        const f = event.failure;
        if (retryable(f)) {
          const failures = p.failures + 1;
          const save: Effect[] = p.saved ? [] : [{ type: 'SAVE_PENDING', record: outcomeRecord(config.terminal.id, p.transaction, p.outcome, new Date()) }];
          return to(state, { ...p, failures, saved: true, reason: f.reason }, [...save, { type: 'SLEEP', ms: backoff(o, failures) }]);
        }
        // Cancelled meanwhile, or refused: the platform did not record it, so an approval must not
        // stand. A real payment app reverses it with its acquirer; the simulator says so.
        const cancelled = { ...p.transaction, status: 'CANCELLED' };
        const reversal = p.outcome.result === 'APPROVED' ? ': the payment app reverses the approval' : '';
        return done(state, config, cancelled, [...clear, { type: 'NOTIFY', notice: { kind: 'message', text: `outcome not recorded (${f.reason})${reversal}` } }]);
      }
      if (event.type === 'TIMER') return to(state, p, [{ type: 'REPORT_OUTCOME', transaction_id: p.transaction.id, outcome: p.outcome }]);
      return stay;
    }

    default:
      return stay;
  }
}
