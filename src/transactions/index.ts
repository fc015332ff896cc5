import type { Acquirer } from '../acquirer/acquirer.js';
import type { Database } from '../db/database.js';
import type { EventRepository } from '../db/event-repository.js';
import type { ChangeSignals } from '../services/change-signals.js';
import { transactionEventOf, transactionOutbox } from '../webhooks/outbox.js';
import type { TerminalNotifier } from '../services/notifier.js';
import type { OnboardingService } from '../services/onboarding.js';
import type { TerminalPresence } from '../services/presence.js';
import { cancelTransactions } from './cancel.js';
import type { UseCaseContext } from './context.js';
import { createTransaction } from './create.js';
import { dayTotals } from './day-totals.js';
import { TransactionGateway, type StatusReached } from './gateway.js';
import { TransactionQueries } from './transaction-queries.js';
import { Pickup } from './pickup.js';
import { completePreAuthorizations } from './pre-authorization.js';
import { PresentCard } from './present-card.js';
import { readTransactions } from './read.js';
import { reportOutcomes } from './report-outcome.js';
import { StatusViews } from './status-views.js';
import { sweeps } from './sweeps.js';
import { StatusWaits } from './wait.js';

export interface TransactionSettings {
  expiryMs: number;
  maxAmountMinor: number;
  acquirerTimeoutMs: number;
  longPollMaxS: number;
}

/** The transaction use cases, one per thing a route or a background job does. */
export function transactionUseCases(deps: {
  database: Database;
  terminals: OnboardingService;
  notifier: TerminalNotifier;
  /** every committed change of a transaction: `?wait=` reads, the webhook worker */
  changes: ChangeSignals;
  events: EventRepository;
  presence: TerminalPresence;
  /** none in production without a connector */
  acquirer: Acquirer | undefined;
  now: () => number;
  closing: AbortSignal;
  settings: TransactionSettings;
  /** each public status a transaction came to, after the commit (the metrics count them) */
  reached?: StatusReached;
}) {
  const { settings } = deps;
  const { notifier } = deps;
  // Every move and supersession reaches the status views, the idle hints and the ?wait= reads,
  // here and (announced after the commit) on every other instance.
  const queries = new TransactionQueries(deps.database);
  const gateway = new TransactionGateway(deps.database, queries, transactionOutbox(deps.events), (t) => notifier.changed(t.terminal_pk, t.id), transactionEventOf(deps.events), deps.reached);
  const ctx: UseCaseContext = { gateway, queries, terminals: deps.terminals, notifier, now: deps.now };
  const read = readTransactions(ctx, new StatusViews(notifier));
  const waits = new StatusWaits(read, deps.changes, deps.closing);
  const cancel = cancelTransactions(ctx, read);
  const preAuthorizations = completePreAuthorizations(ctx, read, deps.acquirer, settings);
  const presentCard = new PresentCard(ctx, deps.acquirer, settings.acquirerTimeoutMs);
  const pickup = new Pickup(ctx, deps.presence, settings.longPollMaxS, deps.closing);
  const reported = reportOutcomes(ctx);
  return {
    create: createTransaction(ctx, settings, (terminalPk) => pickup.waits(terminalPk)),
    status: read.status,
    statusView: read.statusView,
    /** The status read with `?wait=S`. */
    awaitStatus: (...args: Parameters<StatusWaits['status']>) => waits.status(...args),
    heldWaits: () => waits.heldWaits,
    list: read.list,
    forTerminal: read.forTerminal,
    cancelByCustomer: cancel.byCustomer,
    cancelOnTerminal: cancel.onTerminal,
    capture: preAuthorizations.capture,
    release: preAuthorizations.release,
    dayTotals: dayTotals(ctx),
    next: pickup.next.bind(pickup),
    heldPolls: () => pickup.heldPolls,
    presentCard: (...args: Parameters<PresentCard['run']>) => presentCard.run(...args),
    presented: reported.presented,
    outcome: reported.outcome,
    ...sweeps(ctx, presentCard, settings.acquirerTimeoutMs),
    /** Open transactions by type and stage (the metrics). */
    openCounts: () => ctx.queries.openCounts(),
    /** The recorded history of one transaction, oldest first. */
    events: (id: string) => ctx.queries.events(id),
  };
}

export type TransactionUseCases = ReturnType<typeof transactionUseCases>;
