import { randomInt } from 'node:crypto';
import { type Brand, detectBrand, luhnValid } from '../domain/card.js';
import {
  type Acquirer,
  AcquirerUnavailableError,
  type AuthorizationRequest,
  type AuthorizationResponse,
  type CompletionRequest,
  type CompletionResponse,
} from './acquirer.js';

export type SandboxBehaviour = 'APPROVE' | 'DECLINE' | 'TIMEOUT' | 'SLOW_APPROVE';

export type SandboxCard = {
  number: string;
  brand: Brand;
  /** What the acquirer answers; TIMEOUT never answers. */
  outcome: 'APPROVED' | 'DECLINED' | 'NO_ANSWER';
  behaviour: SandboxBehaviour;
  decline_reason?: string;
  description: string;
};

/** Test cards of the sandbox acquirer (well-known public test numbers, all Luhn-valid). Every
 * transaction type (purchase, refund, pre-authorization) is decided the same way. */
export const SANDBOX_CARDS: readonly SandboxCard[] = [
  { number: '4111111111111111', brand: 'VISA', outcome: 'APPROVED', behaviour: 'APPROVE', description: 'Visa, approved' },
  {
    number: '4000000000000002', brand: 'VISA', outcome: 'DECLINED', behaviour: 'DECLINE', decline_reason: 'DO_NOT_HONOUR',
    description: 'Visa, declined (do not honour)',
  },
  {
    number: '4000000000009995', brand: 'VISA', outcome: 'DECLINED', behaviour: 'DECLINE', decline_reason: 'INSUFFICIENT_FUNDS',
    description: 'Visa, declined (insufficient funds)',
  },
  { number: '5555555555554444', brand: 'MASTERCARD', outcome: 'APPROVED', behaviour: 'APPROVE', description: 'Mastercard, approved' },
  { number: '2223003122003222', brand: 'MASTERCARD', outcome: 'APPROVED', behaviour: 'APPROVE', description: 'Mastercard (2-series), approved' },
  { number: '4013250000000000006', brand: 'V_PAY', outcome: 'APPROVED', behaviour: 'APPROVE', description: 'V PAY, approved' },
  { number: '6759649826438453', brand: 'MAESTRO', outcome: 'APPROVED', behaviour: 'APPROVE', description: 'Maestro, approved' },
  { number: '378282246310005', brand: 'AMEX', outcome: 'APPROVED', behaviour: 'APPROVE', description: 'American Express, approved' },
  {
    number: '4000000000000119', brand: 'VISA', outcome: 'NO_ANSWER', behaviour: 'TIMEOUT',
    description: 'Visa, the acquirer never answers: times out after timeoutMs (default 10 s), transaction cancelled as acquirer unavailable',
  },
  {
    number: '5105105105105100', brand: 'MASTERCARD', outcome: 'APPROVED', behaviour: 'SLOW_APPROVE',
    description: 'Mastercard, answers after slowMs (default 3 s), approved',
  },
];

/** How any other Luhn-valid card is decided, as published with the table. */
export const SANDBOX_OTHER_CARDS_RULE =
  'Any other Luhn-valid card: approved, unless the amount in minor units ends in 51 (e.g. 10.51 EUR), then declined (DO_NOT_HONOUR). A number failing the Luhn check never reaches the acquirer: the device API refuses it (422).';

export type SandboxAcquirerOptions = {
  /** How long the TIMEOUT card keeps the caller waiting before AcquirerUnavailableError. */
  timeoutMs?: number;
  /** How long the SLOW_APPROVE card takes to approve. */
  slowMs?: number;
};

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

function authorizationCode(): string {
  let code = '';
  for (let i = 0; i < 6; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

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

const BY_NUMBER = new Map(SANDBOX_CARDS.map((c) => [c.number, c]));

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
    const number = req.card.number;
    const card = BY_NUMBER.get(number);
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

    if (!card) {
      const brand = detectBrand(number);
      if (!luhnValid(number)) return decline(brand, 'INVALID_CARD');
      return req.amount_minor % 100 === 51 ? decline(brand, 'DO_NOT_HONOUR') : approve(brand);
    }
    switch (card.behaviour) {
      case 'APPROVE':
        return approve(card.brand);
      case 'DECLINE':
        return decline(card.brand, card.decline_reason ?? 'DO_NOT_HONOUR');
      case 'SLOW_APPROVE':
        await wait(this.slowMs, signal);
        return approve(card.brand);
      case 'TIMEOUT':
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
