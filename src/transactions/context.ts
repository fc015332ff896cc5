import type { Caller } from '../services/api-keys.js';
import type { TerminalNotifier } from '../services/notifier.js';
import type { OnboardingService } from '../services/onboarding.js';
import type { TransactionGateway } from './gateway.js';
import type { TransactionQueries } from './transaction-queries.js';

/** What every transaction use case is built from. */
export interface UseCaseContext {
  gateway: TransactionGateway;
  queries: TransactionQueries;
  terminals: OnboardingService;
  notifier: TerminalNotifier;
  now: () => number;
}

export type { Caller };
