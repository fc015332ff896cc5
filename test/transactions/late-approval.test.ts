import { expect, it } from 'vitest';
import type { AuthorizationRequest, CompletionRequest } from '../../src/acquirer/acquirer.js';
import { SandboxAcquirer } from '../../src/acquirer/sandbox.js';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { pay, purchase } from '../support/terminal.js';

/** An acquirer that ignores the platform's signal and approves once the platform has given up. */
class LateAcquirer extends SandboxAcquirer {
  readonly reversed: CompletionRequest[] = [];
  answered!: Promise<void>;
  override async authorize(req: AuthorizationRequest) {
    const approval = super.authorize(req);
    let answered!: () => void;
    this.answered = new Promise((r) => (answered = r));
    await new Promise((r) => setTimeout(r, 400));
    answered();
    return approval;
  }
  override async reverse(req: CompletionRequest, signal?: AbortSignal) {
    this.reversed.push(req);
    return super.reverse(req, signal);
  }
}

describeEachStore('an approval after the platform gave up', (dialect) => {
  const acquirer = new LateAcquirer();
  const ctx = usePlatform(dialect, { env: { ACQUIRER_TIMEOUT_MS: '100' }, acquirer });

  it('is reversed through the connector and recorded against the cancelled payment', async () => {
    const c = await onboard(ctx().app);
    const { created, finished } = await pay(ctx().app, c, purchase(12.5));
    const id = created.json().id;
    expect(finished.json()).toMatchObject({ status: 'CANCELLED', cancel_reason: 'ACQUIRER_UNAVAILABLE' });
    expect(finished.json().result).toBeUndefined();
    await acquirer.answered;
    // The reversal follows the late answer; wait for its event, not for a clock.
    let events = await ctx().app.platform.transactions.events(id);
    for (let i = 0; i < 200 && !events.some((e) => e.event === 'REVERSE'); i++) {
      await new Promise((r) => setTimeout(r, 25));
      events = await ctx().app.platform.transactions.events(id);
    }
    const reversal = events.find((e) => e.event === 'REVERSE');
    expect(reversal).toMatchObject({ actor: 'SYSTEM', from_status: 'CANCELLED', to_status: 'CANCELLED' });
    expect(reversal!.detail).toMatch(/^late approval \w+ reversed$/);
    expect(acquirer.reversed.map((r) => r.transaction_id)).toEqual([id]);
    const now = (await merchantApi(ctx().app, c.apiKey)('GET', `/terminals/${c.terminals[0]!.id}/transactions/${id}`)).json();
    expect(now).toMatchObject({ status: 'CANCELLED', cancel_reason: 'ACQUIRER_UNAVAILABLE' });
  });
});
