import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import QRCode from 'qrcode';
import { SANDBOX_CARDS } from '../acquirer/test-cards.js';
import { DeviceClient } from './device-client.js';
import { DEFAULT_CARD, defaultExpiry, formatAmount, LineReader, parseCardAnswer, parseEntryMode } from './operator-prompt.js';
import { DEFAULT_STATE_DIR, PendingStore } from './pending-store.js';
import { TERMINAL_USAGE, usageOf } from './terminal-usage.js';
import { authorizeLocally } from './payment-app.js';
import { sandboxSession } from './sandbox-session.js';
import { initialState, statusOf, step } from './terminal-app.js';
import { type AppEvent, type AppState, type DeviceTransaction, type Effect, ENTRY_MODES, type EntryMode, type Notice, type PresentedCard } from './terminal-model.js';

export interface TerminalIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** operator input for the card prompt; process.stdin by default */
  input?: Readable;
  /** colour the status bar (a TTY) */
  color?: boolean;
}

const EX_USAGE = 64;

const OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  card: { type: 'string' },
  entry: { type: 'string' },
  expiry: { type: 'string' },
  once: { type: 'boolean' },
  state: { type: 'string' },
  'retry-ms': { type: 'string' },
  terminal: { type: 'string' },
  outcome: { type: 'boolean' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COLORS: Record<string, string> = {
  'connected · polling': '\x1b[44;97m',
  offline: '\x1b[41;97m',
  'configuration failed': '\x1b[43;30m',
  'loading configuration': '\x1b[100;97m',
  stopped: '\x1b[100;97m',
};

interface RunOptions {
  server: string;
  token: string;
  devicePath?: string;
  headers?: Record<string, string>;
  outcome: boolean;
  card?: PresentedCard;
  entry?: EntryMode;
  expiry: string;
  once: boolean;
  stateDir: string;
  retryBaseMs: number;
}

/** The I/O shell around the pure state machine: carries out its effects and draws its state. */
export async function runTerminal(o: RunOptions, io: TerminalIo): Promise<number> {
  const client = new DeviceClient({ server: o.server, token: o.token, ...(o.devicePath && { devicePath: o.devicePath }), ...(o.headers && { headers: o.headers }) });
  const pending = new PendingStore(o.stateDir);
  let state: AppState = initialState({ once: o.once, outcome_mode: o.outcome, retry_base_ms: o.retryBaseMs, retry_max_ms: Math.max(o.retryBaseMs, 10_000), ...(o.card && { auto_card: o.card }) });
  let scope = new AbortController();
  let reader: LineReader | undefined;
  let lastStatus = '';
  let stopped = false;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    finish = (code) => {
      stopped = true;
      resolve(code);
    };
  });
  const paint = (text: string, status: string) => (io.color ? `${COLORS[status] ?? ''} ${text} \x1b[0m` : `[ ${text} ]`);

  const drawStatus = () => {
    const status = statusOf(state);
    const p = state.phase;
    const reason = 'reason' in p && p.reason && status !== 'connected · polling' ? ` ${p.reason}` : '';
    const where =
      status === 'connected · polling' && state.config
        ? ` ${state.config.terminal.id} · ${state.config.long_poll_max_wait_s > 0 ? `long poll ${state.config.long_poll_max_wait_s} s` : `every ${state.config.poll_interval_ms} ms`}`
        : '';
    const line = `${paint(status, status)}${where}${reason}`;
    if (line !== lastStatus && status !== 'stopped') io.out(line);
    lastStatus = line;
  };

  const notify = (n: Notice) => {
    switch (n.kind) {
      case 'config': {
        const t = n.config.terminal;
        io.out(`terminal ${t.id} · QR ${JSON.stringify({ manufacturer: t.manufacturer, model: t.model, serial: t.serial })}`);
        return;
      }
      case 'transaction':
        io.out(`\n>> ${n.transaction.type} ${formatAmount(n.transaction.amount)}  (transaction ${n.transaction.id}${n.transaction.merchant_order_reference ? `, order ${n.transaction.merchant_order_reference}` : ''})`);
        return;
      case 'outcome': {
        const t = n.transaction;
        const outcome = t.result ?? `${t.status}${t.cancel_reason ? ` (${t.cancel_reason})` : ''}`;
        io.out(`<< ${t.type} ${formatAmount(t.amount)}: ${outcome}${t.result ? ` · status ${t.status}` : ''}`);
        if (t.receipt) io.out(`\n${t.receipt.replace(/\n+$/, '')}\n`);
        return;
      }
      case 'cancelled':
        io.out(`<< ${n.transaction.type} ${formatAmount(n.transaction.amount)}: CANCELLED ${n.by === 'platform' ? 'by the platform' : 'on the terminal'}${n.transaction.cancel_reason ? ` (${n.transaction.cancel_reason})` : ''}`);
        return;
      case 'message':
        io.out(n.text);
    }
  };

  const askCard = async (t: DeviceTransaction, signal: AbortSignal): Promise<AppEvent | undefined> => {
    reader ??= new LineReader(io.input ?? process.stdin);
    io.out(`Present a test card for ${formatAmount(t.amount)} (x cancels on the terminal):`);
    SANDBOX_CARDS.forEach((c, i) => io.out(`  ${String(i + 1).padStart(2)}) ${c.number.padEnd(19)}  ${c.description}`));
    for (;;) {
      io.out(`Card [1: ${DEFAULT_CARD.number}]:`);
      const line = await reader.read(signal);
      if (line === 'aborted') return undefined;
      if (line === null) {
        io.out('no operator input: cancelling on the terminal');
        return { type: 'OPERATOR_CANCELLED' };
      }
      const answer = parseCardAnswer(line);
      if (!answer) {
        io.out('  not a card of the list nor a card number');
        continue;
      }
      if ('cancel' in answer) return { type: 'OPERATOR_CANCELLED' };
      let entry = o.entry;
      while (!entry) {
        io.out('Entry mode 1) CONTACTLESS (tap)  2) CHIP (insert)  3) SWIPE [1]:');
        const e = await reader.read(signal);
        if (e === 'aborted') return undefined;
        entry = e === null ? 'CONTACTLESS' : parseEntryMode(e, 'CONTACTLESS');
      }
      return { type: 'CARD_CHOSEN', card: { number: answer.card, expiry: o.expiry, entry_mode: entry } };
    }
  };

  const dispatch = (event: AppEvent, seq?: number) => {
    if (stopped || (seq !== undefined && seq !== state.seq)) return; // the run is over, or the screen is gone
    const before = state.seq;
    const result = step(state, event);
    state = result.state;
    if (state.seq !== before) {
      scope.abort();
      scope = new AbortController();
    }
    drawStatus();
    for (const effect of result.effects) perform(effect);
  };

  const perform = (e: Effect) => {
    const seq = state.seq;
    const signal = scope.signal;
    const answer = (event: AppEvent) => dispatch(event, seq);
    switch (e.type) {
      case 'LOAD_CONFIG':
        void client.config(signal).then((a) =>
          answer(a.ok ? { type: 'CONFIG_LOADED', config: a.value, restored: pending.load(a.value.terminal.id) } : { type: 'CONFIG_FAILED', failure: a.failure }),
        );
        return;
      case 'POLL':
        void client.next(e.wait_s, signal).then((a) => answer(a.ok ? { type: 'POLLED', transaction: a.value } : { type: 'POLL_FAILED', failure: a.failure }));
        return;
      case 'FETCH':
        void client.transaction(e.transaction_id, signal).then((a) =>
          answer(
            a.ok
              ? { type: 'FETCHED', transaction: a.value }
              : !a.failure.offline && a.failure.status === 404
                ? { type: 'FETCHED', transaction: null }
                : { type: 'FETCH_FAILED', failure: a.failure },
          ),
        );
        return;
      case 'ASK_CARD':
        void askCard(e.transaction, signal).then((event) => event && answer(event));
        return;
      case 'REPORT_CARD':
        // Not tied to the screen's signal: a card report is never abandoned halfway.
        void client.presentCard(e.report.transaction.id, e.report.card).then((a) =>
          answer(a.ok ? { type: 'CARD_REPORTED', transaction: a.value } : { type: 'CARD_REPORT_FAILED', failure: a.failure }),
        );
        return;
      case 'REPORT_PRESENTED':
        void client.presented(e.transaction_id, e.entry_mode, signal).then((a) =>
          answer(a.ok ? { type: 'PRESENTED_REPORTED', transaction: a.value } : { type: 'PRESENTED_REPORT_FAILED', failure: a.failure }),
        );
        return;
      case 'AUTHORIZE_LOCALLY':
        void authorizeLocally(e.report).then((outcome) => {
          const c = outcome.card;
          io.out(`payment app: ${outcome.result}${outcome.authorization_code ? ` (authorization ${outcome.authorization_code})` : ''}${outcome.decline_reason ? ` (${outcome.decline_reason})` : ''} · ${c.brand} ****${c.last4}`);
          answer({ type: 'AUTHORIZED_LOCALLY', outcome });
        });
        return;
      case 'REPORT_OUTCOME':
        // Like a card report, never abandoned halfway.
        void client.outcome(e.transaction_id, e.outcome).then((a) =>
          answer(a.ok ? { type: 'OUTCOME_REPORTED', transaction: a.value } : { type: 'OUTCOME_REPORT_FAILED', failure: a.failure }),
        );
        return;
      case 'CANCEL_ON_TERMINAL':
        void client.cancel(e.transaction_id).then((a) =>
          answer(a.ok ? { type: 'TERMINAL_CANCEL_DONE', transaction: a.value } : { type: 'TERMINAL_CANCEL_FAILED', failure: a.failure }),
        );
        return;
      case 'SLEEP': {
        const timer = setTimeout(() => answer({ type: 'TIMER' }), e.ms);
        signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
        return;
      }
      case 'SAVE_PENDING':
        try {
          pending.save(e.record);
          io.out(`result of transaction ${e.record.transaction_id} not reported yet: kept in ${pending.fileOf(e.record.terminal_id)}, sent when the server is back`);
        } catch (err) {
          io.err(`could not keep the pending result on disk: ${(err as Error).message}`);
        }
        return;
      case 'CLEAR_PENDING':
        if (state.config) pending.clear(state.config.terminal.id, e.transaction_id);
        return;
      case 'NOTIFY':
        notify(e.notice);
        return;
      case 'EXIT':
        finish(e.code);
        return;
    }
  };

  const onSignal = () => {
    if (state.phase.kind === 'reporting' || state.phase.kind === 'reporting_outcome') io.err('stopping with a card result not reported yet: it is kept on disk (without the card number)');
    finish(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    dispatch({ type: 'START' });
    return await finished;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    scope.abort();
    reader?.close();
  }
}

/** `cloudpos terminal run|qr …` */
export async function runTerminalCommand(argv: string[], io: TerminalIo, env: Record<string, string | undefined> = process.env): Promise<number> {
  const [action, ...rest] = argv;
  const known = action === 'run' || action === 'qr';
  let values;
  try {
    values = parseArgs({ args: known ? rest : argv, options: OPTIONS, allowPositionals: !known, strict: true }).values;
  } catch (e) {
    io.err(`${(e as Error).message}\n\n${known ? usageOf(action) : TERMINAL_USAGE}`);
    return EX_USAGE;
  }
  if (values.help) {
    io.out(known ? usageOf(action) : TERMINAL_USAGE);
    return 0;
  }
  if (!known) {
    io.err(`${action === undefined ? 'which command?' : `unknown command "${action}"`}\n\n${TERMINAL_USAGE}`);
    return EX_USAGE;
  }
  const server = values.server ?? env.CLOUDPOS_SERVER ?? 'http://localhost:8080';
  const token = values.token ?? env.CLOUDPOS_DEVICE_TOKEN;
  const usage = (why: string) => {
    io.err(`${why}\n\n${usageOf(action)}`);
    return EX_USAGE;
  };
  if (!/^https?:\/\/[^\s]+$/.test(server)) return usage(`--server must be an http(s) URL, not ${JSON.stringify(server)}`);
  let session: { token: string; devicePath: string; headers: Record<string, string> } | undefined;
  if (!token) {
    if (action === 'qr') return usage('--token is required (the device token issued when the terminal was registered)');
    const opened = await sandboxSession(server, values['api-key'] ?? env.CLOUDPOS_API_KEY, values.terminal);
    if (typeof opened === 'string') return usage(opened);
    session = { token: opened.token, devicePath: opened.devicePath, headers: opened.headers };
    io.out(`no --token: acting as sandbox terminal ${opened.terminalId} through a simulator session`);
  }

  if (action === 'qr') {
    const a = await new DeviceClient({ server, token: token! }).config();
    if (!a.ok) {
      io.err(`configuration failed: ${a.failure.reason}`);
      return 1;
    }
    const t = a.value.terminal;
    const json = JSON.stringify({ manufacturer: t.manufacturer, model: t.model, serial: t.serial });
    io.out(json);
    if (io.color) io.out(await QRCode.toString(json, { type: 'utf8' }));
    return 0;
  }

  const expiry = values.expiry ?? defaultExpiry();
  if (!/^(0[1-9]|1[0-2])\/\d\d$/.test(expiry)) return usage('--expiry must be MM/YY');
  let entry: EntryMode | undefined;
  if (values.entry !== undefined) {
    entry = ENTRY_MODES.find((m) => m === values.entry!.toUpperCase());
    if (!entry) return usage('--entry must be CONTACTLESS, CHIP or SWIPE');
  }
  let card: PresentedCard | undefined;
  if (values.card !== undefined) {
    const number = values.card.replace(/[\s-]/g, '');
    if (!/^\d{12,19}$/.test(number)) return usage('--card must be a card number of 12 to 19 digits');
    card = { number, expiry, entry_mode: entry ?? 'CONTACTLESS' };
  }
  const retry = values['retry-ms'] === undefined ? 500 : Number(values['retry-ms']);
  if (!Number.isInteger(retry) || retry < 10) return usage('--retry-ms must be a whole number of milliseconds, at least 10');
  return runTerminal(
    { server, ...(session ?? { token: token! }), outcome: values.outcome ?? false, ...(card && { card }), ...(entry && { entry }), expiry, once: values.once ?? false, stateDir: values.state ?? DEFAULT_STATE_DIR, retryBaseMs: retry },
    io,
  );
}
