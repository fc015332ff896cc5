import { randomUUID } from 'node:crypto';
import { completionOf, type Acquirer, type AuthorizationRequest, type CompletionRequest } from './acquirer.js';

/** Cards a connector's test environment decides as the checks expect; the sandbox's by default.
 * A connector module may export its own as `contractCards`. */
export interface ContractCards {
  approve: string;
  decline: string;
  /** a card the acquirer never answers, if the test environment has one */
  timeout?: string;
  expiry: string;
}

export const SANDBOX_CONTRACT_CARDS: ContractCards = { approve: '4111111111111111', decline: '4000000000000002', timeout: '4000000000000119', expiry: '12/39' };

export interface CheckResult {
  check: string;
  passed: boolean;
  detail: string;
}

class Failed extends Error {}
const expect = (condition: unknown, detail: string) => {
  if (!condition) throw new Failed(detail);
};

/** Runs the Acquirer interface's contract against a connector: what the platform relies on. */
export async function checkAcquirer(acquirer: Acquirer, cards: ContractCards = SANDBOX_CONTRACT_CARDS, options: { timeoutMs?: number } = {}): Promise<CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const signal = () => AbortSignal.timeout(timeoutMs * 5);
  const authorization = (card: string, type: AuthorizationRequest['type'] = 'PURCHASE', amount = 1_000): AuthorizationRequest => ({
    transaction_id: `check-${randomUUID()}`,
    type,
    amount_minor: amount,
    currency: 'EUR',
    card: { number: card, expiry: cards.expiry, entry_mode: 'CHIP' },
    terminal_id: 'CHECK-CONTRACT-0001',
    stan: '000001',
  });
  /** An authorized pre-authorization of 10.00 EUR, as the platform would complete it. */
  const preAuthorized = async () => {
    const req = authorization(cards.approve, 'PRE_AUTHORIZATION');
    const res = await acquirer.authorize(req, signal());
    expect(res.outcome === 'APPROVED', `the pre-authorization with ${mask(cards.approve)} was ${res.outcome}, not APPROVED`);
    return (amount: number): CompletionRequest => completionOf(req, res, amount);
  };

  const checks: Array<[string, () => Promise<string>]> = [
    [
      'approve',
      async () => {
        const res = await acquirer.authorize(authorization(cards.approve), signal());
        expect(res.outcome === 'APPROVED', `${mask(cards.approve)} was ${res.outcome}`);
        expect(typeof res.authorization_code === 'string' && res.authorization_code.length > 0, 'an approval carries no authorization_code');
        return `APPROVED, authorization code ${res.authorization_code}`;
      },
    ],
    [
      'decline',
      async () => {
        const res = await acquirer.authorize(authorization(cards.decline), signal());
        expect(res.outcome === 'DECLINED', `${mask(cards.decline)} was ${res.outcome}`);
        return `DECLINED${res.decline_reason ? ` (${res.decline_reason})` : ''}`;
      },
    ],
    [
      'timeout',
      async () => {
        if (!cards.timeout) return 'skipped: no card that times out';
        const started = Date.now();
        const answer = await acquirer.authorize(authorization(cards.timeout), AbortSignal.timeout(timeoutMs)).then(
          (res) => `answered ${res.outcome}`,
          () => undefined,
        );
        expect(answer === undefined, `${mask(cards.timeout)} ${answer} instead of failing when the platform gave up`);
        const took = Date.now() - started;
        expect(took < timeoutMs * 3, `it took ${took} ms to give up after the platform's ${timeoutMs} ms signal`);
        return `failed as unavailable after ${took} ms (signal at ${timeoutMs} ms)`;
      },
    ],
    [
      'capture at most the authorized amount',
      async () => {
        const completion = await preAuthorized();
        const over = await acquirer.capture(completion(1_001), signal());
        expect(over.outcome === 'REFUSED', 'a capture of 10.01 EUR of 10.00 EUR authorized was accepted');
        const part = await acquirer.capture(completion(600), signal());
        expect(part.outcome === 'ACCEPTED', `a capture of 6.00 EUR of 10.00 EUR was refused: ${reason(part)}`);
        const again = await acquirer.capture(completion(600), signal());
        expect(again.outcome === 'ACCEPTED', `the same capture retried was refused: ${reason(again)}`);
        const other = await acquirer.capture(completion(700), signal());
        expect(other.outcome === 'REFUSED', 'a second, different capture was accepted');
        const release = await acquirer.release(completion(1_000), signal());
        expect(release.outcome === 'REFUSED', 'a release after the capture was accepted');
        return 'over the authorization refused; 6.00 of 10.00 EUR captured once, its retry harmless, a second capture and a release refused';
      },
    ],
    [
      'release once',
      async () => {
        const completion = await preAuthorized();
        const first = await acquirer.release(completion(1_000), signal());
        expect(first.outcome === 'ACCEPTED', `the release was refused: ${reason(first)}`);
        const again = await acquirer.release(completion(1_000), signal());
        expect(again.outcome === 'ACCEPTED', `the same release retried was refused: ${reason(again)}`);
        const capture = await acquirer.capture(completion(1_000), signal());
        expect(capture.outcome === 'REFUSED', 'a capture after the release was accepted');
        return 'released, its retry harmless, a capture afterwards refused';
      },
    ],
    [
      'reverse, retried',
      async () => {
        const req = authorization(cards.approve);
        const res = await acquirer.authorize(req, signal());
        expect(res.outcome === 'APPROVED', `${mask(cards.approve)} was ${res.outcome}`);
        const completion = completionOf(req, res);
        for (const attempt of ['first', 'retried']) {
          const r = await acquirer.reverse(completion, signal());
          expect(r.outcome === 'ACCEPTED', `the ${attempt} reversal was refused: ${reason(r)}`);
        }
        return 'an approval reversed, the retry harmless';
      },
    ],
  ];

  const results: CheckResult[] = [];
  for (const [check, run] of checks) {
    try {
      results.push({ check, passed: true, detail: await run() });
    } catch (e) {
      results.push({ check, passed: false, detail: e instanceof Failed ? e.message : `threw ${(e as Error)?.message ?? String(e)}` });
    }
  }
  return results;
}

const mask = (card: string) => `card ${'*'.repeat(Math.max(0, card.length - 4))}${card.slice(-4)}`;
const reason = (r: { outcome: string; reason?: string }) => r.reason ?? r.outcome;
