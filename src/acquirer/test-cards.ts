import { randomInt } from 'node:crypto';
import { type Brand, detectBrand, luhnValid } from '../domain/card.js';

/**
 * The sandbox's test cards and how each is decided, in one place: the sandbox acquirer decides by
 * them when the platform is asked (the `card` route), and the terminal simulator's own payment app
 * (`terminal run --outcome`, the browser page's "terminal decides" mode) decides by them before it
 * reports an outcome through `presented` and `outcome`.
 */

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

/** What the test-card table decides for one card and amount. `SLOW` approves after a while;
 * `NO_ANSWER`: the acquirer never answers. */
export type TestCardDecision =
  | { outcome: 'APPROVED'; brand: Brand; slow: boolean }
  | { outcome: 'DECLINED'; brand: Brand; decline_reason: string }
  | { outcome: 'NO_ANSWER'; brand: Brand };

const BY_NUMBER = new Map(SANDBOX_CARDS.map((c) => [c.number, c]));

export function testCard(number: string): SandboxCard | undefined {
  return BY_NUMBER.get(number);
}

/** The one rule of the sandbox: a listed card as the table says; any other Luhn-valid card approved
 * unless the amount in minor units ends in 51 (DO_NOT_HONOUR); a number failing Luhn INVALID_CARD. */
export function decideTestCard(number: string, amountMinor: number): TestCardDecision {
  const card = BY_NUMBER.get(number);
  if (!card) {
    const brand = detectBrand(number);
    if (!luhnValid(number)) return { outcome: 'DECLINED', brand, decline_reason: 'INVALID_CARD' };
    return amountMinor % 100 === 51 ? { outcome: 'DECLINED', brand, decline_reason: 'DO_NOT_HONOUR' } : { outcome: 'APPROVED', brand, slow: false };
  }
  switch (card.behaviour) {
    case 'APPROVE':
    case 'SLOW_APPROVE':
      return { outcome: 'APPROVED', brand: card.brand, slow: card.behaviour === 'SLOW_APPROVE' };
    case 'DECLINE':
      return { outcome: 'DECLINED', brand: card.brand, decline_reason: card.decline_reason ?? 'DO_NOT_HONOUR' };
    case 'TIMEOUT':
      return { outcome: 'NO_ANSWER', brand: card.brand };
  }
}

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

/** A six-character authorization code, as acquirers hand out. */
export function authorizationCode(): string {
  let code = '';
  for (let i = 0; i < 6; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** The EMV application a test card of each brand selects (public AIDs), for the receipt. */
export const EMV_APPLICATIONS: Readonly<Record<Brand, { aid: string; application_label: string } | undefined>> = {
  VISA: { aid: 'A0000000031010', application_label: 'VISA CREDIT' },
  V_PAY: { aid: 'A0000000032020', application_label: 'V PAY' },
  MASTERCARD: { aid: 'A0000000041010', application_label: 'MASTERCARD' },
  MAESTRO: { aid: 'A0000000043060', application_label: 'MAESTRO' },
  AMEX: { aid: 'A000000025010801', application_label: 'AMERICAN EXPRESS' },
  UNKNOWN: undefined,
};
