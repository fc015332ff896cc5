import { describe, expect, it } from 'vitest';
import { decideTestCard } from '../../src/acquirer/test-cards.js';
import { outcomeOf } from '../../src/simulator/payment-app.js';
import { backoff, initialState, statusOf, step } from '../../src/simulator/terminal-app.js';
import type { AppEvent, AppOptions, AppState, DeviceTransaction, Effect, PendingRecord, TerminalConfig, TerminalOutcome } from '../../src/simulator/terminal-model.js';

const CONFIG: TerminalConfig = {
  terminal: { id: 'SUNMI-P2lite-PL1', manufacturer: 'SUNMI', model: 'P2lite', serial: 'PL1' },
  cloud_integration: true,
  poll_interval_ms: 2000,
  long_poll_max_wait_s: 30,
};
const TX: DeviceTransaction = { id: '123', type: 'PURCHASE', amount: { value: 12.5, currency: 'EUR' }, status: 'CREATED' };
const CARD = { number: '4111111111111111', expiry: '12/30', entry_mode: 'CONTACTLESS' as const };
const OPTIONS: AppOptions = { once: false, retry_base_ms: 500, retry_max_ms: 10_000 };
const offline = { offline: true as const, reason: 'ECONNREFUSED' };

/** Runs events from the start and answers the last state with every effect produced on the way. */
function run(events: AppEvent[], options: Partial<AppOptions> = {}, config = CONFIG): { state: AppState; effects: Effect[]; last: Effect[] } {
  let state = initialState({ ...OPTIONS, ...options });
  const effects: Effect[] = [];
  let last: Effect[] = [];
  for (const e of [{ type: 'START' } as AppEvent, ...(config ? [{ type: 'CONFIG_LOADED', config } as AppEvent] : []), ...events]) {
    const r = step(state, e);
    state = r.state;
    last = r.effects;
    effects.push(...r.effects);
  }
  return { state, effects, last };
}

const types = (effects: Effect[]) => effects.map((e) => e.type);

describe('terminal app state machine', () => {
  it('loads its configuration first and shows it loading', () => {
    const r = step(initialState(OPTIONS), { type: 'START' });
    expect(r.effects).toEqual([{ type: 'LOAD_CONFIG' }]);
    expect(statusOf(r.state)).toBe('loading configuration');
  });

  it('a failed configuration shows "configuration failed" and retries with a growing, capped backoff', () => {
    let state = step(initialState(OPTIONS), { type: 'START' }).state;
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const failed = step(state, { type: 'CONFIG_FAILED', failure: { offline: false, status: 403, reason: '403 Invalid device token.' } });
      expect(statusOf(failed.state)).toBe('configuration failed');
      const sleep = failed.effects.find((e) => e.type === 'SLEEP') as { ms: number };
      delays.push(sleep.ms);
      const retried = step(failed.state, { type: 'TIMER' });
      expect(retried.effects).toEqual([{ type: 'LOAD_CONFIG' }]);
      state = retried.state;
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoff(OPTIONS, 1)).toBe(500);
  });

  it('refuses to poll when cloud integration is off', () => {
    const r = run([], {}, { ...CONFIG, cloud_integration: false });
    expect(statusOf(r.state)).toBe('configuration failed');
    expect(types(r.last)).toEqual(['SLEEP']);
  });

  it('long-polls with the configured wait, and asks again at once after a 204', () => {
    const loaded = run([]);
    expect(statusOf(loaded.state)).toBe('connected · polling');
    expect(loaded.last).toContainEqual({ type: 'POLL', wait_s: 30 });
    const empty = step(loaded.state, { type: 'POLLED', transaction: null });
    expect(empty.effects).toEqual([{ type: 'POLL', wait_s: 30 }]);
  });

  it('polls plainly at poll_interval_ms when long poll is not allowed', () => {
    const loaded = run([], {}, { ...CONFIG, long_poll_max_wait_s: 0 });
    expect(loaded.last).toContainEqual({ type: 'POLL', wait_s: 0 });
    const empty = step(loaded.state, { type: 'POLLED', transaction: null });
    expect(empty.effects).toEqual([{ type: 'SLEEP', ms: 2000 }]);
    expect(step(empty.state, { type: 'TIMER' }).effects).toEqual([{ type: 'POLL', wait_s: 0 }]);
  });

  it('goes offline when polling fails and back to polling when it works again', () => {
    const r = run([{ type: 'POLL_FAILED', failure: offline }, { type: 'TIMER' }]);
    expect(statusOf(r.state)).toBe('offline');
    expect(r.last).toEqual([{ type: 'POLL', wait_s: 0 }]);
    const back = step(r.state, { type: 'POLLED', transaction: null });
    expect(statusOf(back.state)).toBe('connected · polling');
  });

  it('reloads the configuration when the token stops working while polling', () => {
    const r = run([{ type: 'POLL_FAILED', failure: { offline: false, status: 403, reason: '403 Invalid device token.' } }]);
    expect(statusOf(r.state)).toBe('configuration failed');
    expect(step(r.state, { type: 'TIMER' }).effects).toEqual([{ type: 'LOAD_CONFIG' }]);
  });

  it('shows an incoming payment, asks for the card and watches for a cancellation', () => {
    const r = run([{ type: 'POLLED', transaction: TX }]);
    expect(r.state.phase.kind).toBe('awaiting_card');
    expect(r.last).toEqual([
      { type: 'NOTIFY', notice: { kind: 'transaction', transaction: TX } },
      { type: 'ASK_CARD', transaction: TX },
      { type: 'SLEEP', ms: 2000 },
    ]);
    const tick = step(r.state, { type: 'TIMER' });
    expect(tick.effects).toEqual([{ type: 'FETCH', transaction_id: '123' }]);
    const still = step(tick.state, { type: 'FETCHED', transaction: TX });
    expect(still.effects).toEqual([{ type: 'SLEEP', ms: 2000 }]);
  });

  it('leaves the card prompt when the platform cancelled the payment', () => {
    const r = run([{ type: 'POLLED', transaction: TX }, { type: 'TIMER' }]);
    const seq = r.state.seq;
    const cancelled = step(r.state, { type: 'FETCHED', transaction: { ...TX, status: 'CANCELLED', cancel_reason: 'CANCELLED_BY_CUSTOMER' } });
    expect(cancelled.state.phase.kind).toBe('idle');
    expect(cancelled.state.seq).toBeGreaterThan(seq); // the shell aborts the prompt
    expect(types(cancelled.effects)).toEqual(['NOTIFY', 'POLL']);
  });

  it('with --once a cancelled payment ends the run with exit code 1', () => {
    const r = run([{ type: 'POLLED', transaction: TX }, { type: 'FETCHED', transaction: { ...TX, status: 'CANCELLED' } }], { once: true });
    expect(r.state.phase).toEqual({ kind: 'stopped', exit_code: 1 });
    expect(r.last.at(-1)).toEqual({ type: 'EXIT', code: 1 });
  });

  it('presents the --card by itself and exits 0 on approval, 1 on decline with --once', () => {
    const auto = run([{ type: 'POLLED', transaction: TX }], { auto_card: CARD, once: true });
    expect(auto.last).toContainEqual({ type: 'REPORT_CARD', report: { transaction: TX, card: CARD } });
    expect(types(auto.last)).not.toContain('ASK_CARD');
    const ok = step(auto.state, { type: 'CARD_REPORTED', transaction: { ...TX, status: 'CLEARED', result: 'APPROVED', receipt: 'R' } });
    expect(ok.effects.at(-1)).toEqual({ type: 'EXIT', code: 0 });
    const no = step(auto.state, { type: 'CARD_REPORTED', transaction: { ...TX, status: 'CANCELLED', result: 'DECLINED' } });
    expect(no.effects.at(-1)).toEqual({ type: 'EXIT', code: 1 });
  });

  it('without --once goes back to polling after the outcome', () => {
    const r = run([{ type: 'POLLED', transaction: TX }, { type: 'CARD_CHOSEN', card: CARD }, { type: 'CARD_REPORTED', transaction: { ...TX, status: 'CLEARED', result: 'APPROVED' } }]);
    expect(r.state.phase.kind).toBe('idle');
    expect(types(r.last)).toEqual(['NOTIFY', 'POLL']);
  });

  it('keeps an unreported card result on disk without the card number, retries, and clears it once reported', () => {
    const r = run([{ type: 'POLLED', transaction: TX }, { type: 'CARD_CHOSEN', card: CARD }, { type: 'CARD_REPORT_FAILED', failure: offline }]);
    expect(statusOf(r.state)).toBe('offline');
    const save = r.last.find((e) => e.type === 'SAVE_PENDING') as { record: PendingRecord };
    expect(save.record).toMatchObject({ terminal_id: CONFIG.terminal.id, transaction_id: '123', card_last4: '1111', entry_mode: 'CONTACTLESS' });
    expect(JSON.stringify(save.record)).not.toContain(CARD.number);
    // A second failure does not write again; the retry sends the whole report (from memory).
    const again = step(step(r.state, { type: 'TIMER' }).state, { type: 'CARD_REPORT_FAILED', failure: offline });
    expect(types(again.effects)).toEqual(['SLEEP']);
    const retry = step(again.state, { type: 'TIMER' });
    expect(retry.effects).toEqual([{ type: 'REPORT_CARD', report: { transaction: TX, card: CARD } }]);
    const reported = step(retry.state, { type: 'CARD_REPORTED', transaction: { ...TX, status: 'CLEARED', result: 'APPROVED' } });
    expect(reported.effects[0]).toEqual({ type: 'CLEAR_PENDING', transaction_id: '123' });
    expect(reported.effects.filter((e) => e.type === 'REPORT_CARD')).toEqual([]);
  });

  it('a 5xx answer to the card is retried like no answer; a 409 means cancelled meanwhile', () => {
    const base = run([{ type: 'POLLED', transaction: TX }, { type: 'CARD_CHOSEN', card: CARD }]);
    const s5 = step(base.state, { type: 'CARD_REPORT_FAILED', failure: { offline: false, status: 503, reason: '503' } });
    expect(types(s5.effects)).toEqual(['SAVE_PENDING', 'SLEEP']);
    const c409 = step(base.state, { type: 'CARD_REPORT_FAILED', failure: { offline: false, status: 409, reason: '409 cancelled' } });
    expect(c409.state.phase.kind).toBe('idle');
    expect(c409.effects[0]).toMatchObject({ type: 'NOTIFY', notice: { kind: 'cancelled' } });
  });

  it('asks for another card when the platform refuses the card', () => {
    const base = run([{ type: 'POLLED', transaction: TX }, { type: 'CARD_CHOSEN', card: CARD }]);
    const refused = step(base.state, { type: 'CARD_REPORT_FAILED', failure: { offline: false, status: 422, reason: '422 card has expired' } });
    expect(refused.state.phase.kind).toBe('awaiting_card');
    expect(types(refused.effects)).toEqual(['NOTIFY', 'ASK_CARD', 'SLEEP']);
  });

  it('the operator can cancel on the terminal', () => {
    const r = run([{ type: 'POLLED', transaction: TX }, { type: 'OPERATOR_CANCELLED' }]);
    expect(r.last).toEqual([{ type: 'CANCEL_ON_TERMINAL', transaction_id: '123' }]);
    const done = step(r.state, { type: 'TERMINAL_CANCEL_DONE', transaction: { ...TX, status: 'CANCELLED', cancel_reason: 'CANCELLED_ON_TERMINAL' } });
    expect(done.state.phase.kind).toBe('idle');
  });

  it('after a restart, resolves a kept result before polling: finished → shows it; unfinished → asks again', () => {
    const record: PendingRecord = {
      version: 1, terminal_id: CONFIG.terminal.id, transaction_id: '123', type: 'PURCHASE', amount: TX.amount, entry_mode: 'CHIP', card_last4: '1111', presented_at: '2026-01-01T00:00:00.000Z',
    };
    let state = step(initialState(OPTIONS), { type: 'START' }).state;
    const loaded = step(state, { type: 'CONFIG_LOADED', config: CONFIG, restored: record });
    expect(loaded.effects).toContainEqual({ type: 'FETCH', transaction_id: '123' });
    expect(types(loaded.effects)).not.toContain('POLL');
    state = loaded.state;
    const finished = step(state, { type: 'FETCHED', transaction: { ...TX, status: 'CLEARED', result: 'APPROVED' } });
    expect(types(finished.effects)).toEqual(['CLEAR_PENDING', 'NOTIFY', 'POLL']);
    const open = step(state, { type: 'FETCHED', transaction: { ...TX, status: 'CREATED' } });
    expect(types(open.effects)).toEqual(['CLEAR_PENDING', 'NOTIFY', 'POLL']);
    expect(open.state.phase.kind).toBe('idle');
    // Offline while resolving: keeps trying, shows offline.
    const off = step(state, { type: 'FETCH_FAILED', failure: offline });
    expect(statusOf(off.state)).toBe('offline');
    expect(step(off.state, { type: 'TIMER' }).effects).toEqual([{ type: 'FETCH', transaction_id: '123' }]);
  });

  it('ignores answers that do not belong to the current screen', () => {
    const idle = run([]);
    expect(step(idle.state, { type: 'CARD_REPORTED', transaction: TX }).state).toBe(idle.state);
    expect(step(idle.state, { type: 'FETCHED', transaction: TX }).effects).toEqual([]);
  });
});

describe('terminal app with its own payment app (outcome mode)', () => {
  const APPROVED: TerminalOutcome = {
    result: 'APPROVED', entry_mode: 'CONTACTLESS', card: { brand: 'VISA', last4: '1111' }, authorization_code: 'AB12CD',
    emv: { aid: 'A0000000031010', application_label: 'VISA CREDIT', cvm: 'NO_CVM' },
  };
  const presented = { ...TX, status: 'CREATED' };

  it('says presented first, then lets the payment app decide, then reports the outcome; the card number never leaves', () => {
    const auto = run([{ type: 'POLLED', transaction: TX }], { auto_card: CARD, once: true, outcome_mode: true });
    expect(auto.state.phase.kind).toBe('presenting');
    expect(auto.last).toContainEqual({ type: 'REPORT_PRESENTED', transaction_id: '123', entry_mode: 'CONTACTLESS' });
    expect(types(auto.last)).not.toContain('REPORT_CARD');
    const deciding = step(auto.state, { type: 'PRESENTED_REPORTED', transaction: presented });
    expect(deciding.state.phase.kind).toBe('authorizing');
    expect(types(deciding.effects)).toEqual(['AUTHORIZE_LOCALLY']);
    const reporting = step(deciding.state, { type: 'AUTHORIZED_LOCALLY', outcome: APPROVED });
    expect(reporting.effects).toEqual([{ type: 'REPORT_OUTCOME', transaction_id: '123', outcome: APPROVED }]);
    expect(JSON.stringify(reporting.effects)).not.toContain(CARD.number);
    const finished = step(reporting.state, { type: 'OUTCOME_REPORTED', transaction: { ...TX, status: 'CLEARED', result: 'APPROVED', receipt: 'R' } });
    expect(finished.effects.at(-1)).toEqual({ type: 'EXIT', code: 0 });
  });

  it('a card chosen at the prompt goes the same way', () => {
    const r = run([{ type: 'POLLED', transaction: TX }, { type: 'CARD_CHOSEN', card: { ...CARD, entry_mode: 'CHIP' } }], { outcome_mode: true });
    expect(r.last).toEqual([{ type: 'REPORT_PRESENTED', transaction_id: '123', entry_mode: 'CHIP' }]);
  });

  it('presented: retried when nobody answered, cancelled on 409, refused otherwise', () => {
    const base = run([{ type: 'POLLED', transaction: TX }, { type: 'CARD_CHOSEN', card: CARD }], { outcome_mode: true });
    const off = step(base.state, { type: 'PRESENTED_REPORT_FAILED', failure: offline });
    expect(statusOf(off.state)).toBe('offline');
    expect(types(off.effects)).toEqual(['SLEEP']); // nothing decided yet: nothing to keep on disk
    expect(step(off.state, { type: 'TIMER' }).effects).toEqual([{ type: 'REPORT_PRESENTED', transaction_id: '123', entry_mode: 'CONTACTLESS' }]);
    const gone = step(base.state, { type: 'PRESENTED_REPORT_FAILED', failure: { offline: false, status: 409, reason: '409 cancelled' } });
    expect(gone.state.phase.kind).toBe('idle');
    expect(gone.effects[0]).toMatchObject({ type: 'NOTIFY', notice: { kind: 'cancelled', by: 'platform' } });
    const refused = step(base.state, { type: 'PRESENTED_REPORT_FAILED', failure: { offline: false, status: 400, reason: '400 bad' } });
    expect(refused.state.phase.kind).toBe('awaiting_card');
  });

  it('keeps an unreported outcome on disk (no card number), reports it again, and after a restart too', () => {
    const base = run([{ type: 'POLLED', transaction: TX }, { type: 'CARD_CHOSEN', card: CARD }, { type: 'PRESENTED_REPORTED', transaction: presented }, { type: 'AUTHORIZED_LOCALLY', outcome: APPROVED }], { outcome_mode: true });
    const off = step(base.state, { type: 'OUTCOME_REPORT_FAILED', failure: offline });
    const save = off.effects.find((e) => e.type === 'SAVE_PENDING') as { record: PendingRecord };
    expect(save.record).toMatchObject({ transaction_id: '123', card_last4: '1111', outcome: APPROVED });
    expect(JSON.stringify(save.record)).not.toContain(CARD.number);
    expect(step(off.state, { type: 'TIMER' }).effects).toEqual([{ type: 'REPORT_OUTCOME', transaction_id: '123', outcome: APPROVED }]);
    const reported = step(step(off.state, { type: 'TIMER' }).state, { type: 'OUTCOME_REPORTED', transaction: { ...TX, status: 'CLEARED', result: 'APPROVED' } });
    expect(reported.effects[0]).toEqual({ type: 'CLEAR_PENDING', transaction_id: '123' });

    // Restarted: the kept outcome is reported for a transaction still open.
    let state = step(initialState({ ...OPTIONS, outcome_mode: true }), { type: 'START' }).state;
    state = step(state, { type: 'CONFIG_LOADED', config: CONFIG, restored: save.record }).state;
    const resumed = step(state, { type: 'FETCHED', transaction: { ...TX, status: 'CREATED' } });
    expect(resumed.effects).toEqual([{ type: 'REPORT_OUTCOME', transaction_id: '123', outcome: APPROVED }]);
  });

  it('an outcome the platform does not record (cancelled meanwhile) is reversed by the payment app', () => {
    const base = run([{ type: 'POLLED', transaction: TX }, { type: 'CARD_CHOSEN', card: CARD }, { type: 'PRESENTED_REPORTED', transaction: presented }, { type: 'AUTHORIZED_LOCALLY', outcome: APPROVED }], { outcome_mode: true, once: true });
    const refused = step(base.state, { type: 'OUTCOME_REPORT_FAILED', failure: { offline: false, status: 409, reason: '409 cancelled' } });
    expect(refused.effects[0]).toMatchObject({ type: 'NOTIFY', notice: { kind: 'message', text: expect.stringMatching(/reverses the approval/) } });
    expect(refused.effects.at(-1)).toEqual({ type: 'EXIT', code: 1 });
  });

  it('the payment app decides as the sandbox acquirer does, and reports brand and last four only', () => {
    const report = (number: string, entry_mode: 'CONTACTLESS' | 'CHIP' | 'SWIPE' = 'CONTACTLESS') => ({ transaction: TX, card: { number, expiry: '12/30', entry_mode } });
    const approved = outcomeOf(report('4111111111111111'), decideTestCard('4111111111111111', 1250), 1250, 'AB12CD');
    expect(approved).toEqual({ ...APPROVED });
    expect(outcomeOf(report('4000000000009995', 'CHIP'), decideTestCard('4000000000009995', 1250), 1250, 'X')).toMatchObject({
      result: 'DECLINED', decline_reason: 'INSUFFICIENT_FUNDS', emv: { cvm: 'PIN' },
    });
    expect(outcomeOf(report('4242424242424242'), decideTestCard('4242424242424242', 1051), 1051, 'X')).toMatchObject({ result: 'DECLINED', decline_reason: 'DO_NOT_HONOUR' });
    expect(outcomeOf(report('4242424242424242'), decideTestCard('4242424242424242', 1050), 1050, 'X')).toMatchObject({ result: 'APPROVED', card: { brand: 'VISA', last4: '4242' } });
    // The acquirer never answers: the app cannot go online and declines.
    expect(outcomeOf(report('4000000000000119'), decideTestCard('4000000000000119', 100), 100, 'X')).toMatchObject({ result: 'DECLINED', decline_reason: 'UNABLE_TO_GO_ONLINE' });
    const swiped = outcomeOf(report('5555555555554444', 'SWIPE'), decideTestCard('5555555555554444', 100), 100, 'X');
    expect(swiped.emv).toEqual({ cvm: 'SIGNATURE' });
    expect(JSON.stringify(swiped)).not.toMatch(/5555555555554444/);
  });
});
