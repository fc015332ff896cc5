import type { Brand } from '../domain/card.js';
import {
  type Acquirer,
  AcquirerUnavailableError,
  type AuthorizationRequest,
  type AuthorizationResponse,
  type CompletionRequest,
  type CompletionResponse,
} from './acquirer.js';
import { authorizationCode, decideTestCard } from './test-cards.js';

// The table lives with the rule that decides by it, shared with the simulator's own payment app.
export { SANDBOX_CARDS, SANDBOX_OTHER_CARDS_RULE, type SandboxBehaviour, type SandboxCard } from './test-cards.js';

export type SandboxAcquirerOptions = {
  /** How long the TIMEOUT card keeps the caller waiting before AcquirerUnavailableError. */
  timeoutMs?: number;
  /** How long the SLOW_APPROVE card takes to approve. */
  slowMs?: number;
};

function unavailable(signal: AbortSignal): AcquirerUnavailableError {
  return new AcquirerUnavailableError('acquirer request aborted', { cause: signal.reason });
}

/** Waits `ms`, or rejects with AcquirerUnavailableError when the signal aborts first. */
function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(unavailable(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(unavailable(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The built-in acquirer of sandbox environments: decides by test card number. */
export class SandboxAcquirer implements Acquirer {
  readonly timeoutMs: number;
  readonly slowMs: number;

  constructor(options: SandboxAcquirerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.slowMs = options.slowMs ?? 3_000;
  }

  async authorize(req: AuthorizationRequest, signal?: AbortSignal): Promise<AuthorizationResponse> {
    if (signal?.aborted) throw unavailable(signal);
    const approve = (brand: Brand): AuthorizationResponse => ({
      outcome: 'APPROVED',
      authorization_code: authorizationCode(),
      acquirer_reference: `SBX-${req.transaction_id}`,
      brand,
    });
    const decline = (brand: Brand, reason: string): AuthorizationResponse => ({
      outcome: 'DECLINED',
      brand,
      decline_reason: reason,
    });

    const decided = decideTestCard(req.card.number, req.amount_minor);
    switch (decided.outcome) {
      case 'APPROVED':
        if (decided.slow) await wait(this.slowMs, signal);
        return approve(decided.brand);
      case 'DECLINED':
        return decline(decided.brand, decided.decline_reason);
      case 'NO_ANSWER':
        await wait(this.timeoutMs, signal);
        throw new AcquirerUnavailableError(`acquirer did not answer within ${this.timeoutMs} ms`);
    }
  }

  /** What became of each authorization completed through this acquirer (the sandbox keeps it in
   * memory; one it does not know it takes as the request describes it). */
  private readonly completions = new Map<string, { captured_minor?: number; released?: true; reversed?: true }>();

  async capture(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse> {
    if (signal?.aborted) throw unavailable(signal);
    const done = this.completions.get(req.transaction_id) ?? {};
    if (done.released || done.reversed) return { outcome: 'REFUSED', reason: 'the authorization was released' };
    if (req.amount_minor > req.authorized_minor) return { outcome: 'REFUSED', reason: 'the capture exceeds the authorized amount' };
    if (done.captured_minor !== undefined) {
      return done.captured_minor === req.amount_minor ? { outcome: 'ACCEPTED' } : { outcome: 'REFUSED', reason: 'the authorization was captured already' };
    }
    this.completions.set(req.transaction_id, { captured_minor: req.amount_minor });
    return { outcome: 'ACCEPTED' };
  }

  async release(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse> {
    if (signal?.aborted) throw unavailable(signal);
    const done = this.completions.get(req.transaction_id) ?? {};
    if (done.captured_minor !== undefined) return { outcome: 'REFUSED', reason: 'the authorization was captured' };
    this.completions.set(req.transaction_id, { released: true });
    return { outcome: 'ACCEPTED' };
  }

  async reverse(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse> {
    if (signal?.aborted) throw unavailable(signal);
    this.completions.set(req.transaction_id, { ...this.completions.get(req.transaction_id), reversed: true });
    return { outcome: 'ACCEPTED' };
  }
}
