import { Worker } from 'node:worker_threads';
import type { SendOrder, SendResult, SenderSettings } from './send-orders.js';

/** The send thread (send-thread.ts) as the delivery worker sees it: started with the first
 * orders, a look's orders posted in one message, what ended reported back in batches. Run from
 * TypeScript's sources (the tests), the thread loads them through tsx. */
export class SendThread {
  private worker: Worker | undefined;

  constructor(
    private readonly settings: SenderSettings,
    private readonly ended: (results: SendResult[]) => void,
    /** The thread failed: what it was sending will not be reported. */
    private readonly lost: (e: unknown) => void,
  ) {}

  get running(): Worker | undefined {
    return this.worker;
  }

  send(orders: SendOrder[]) {
    if (orders.length > 0) (this.worker ??= this.start()).postMessage(orders);
  }

  private start(): Worker {
    const sources = import.meta.url.endsWith('.ts');
    const entry = new URL(sources ? './send-thread.ts' : './send-thread.js', import.meta.url);
    const worker = sources
      ? // Node.js 20 loads a thread's entry before any --import hook: tsx is registered first, then the entry imported.
        new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, workerData: this.settings })
      : new Worker(entry, { workerData: this.settings });
    // The platform's server and timers keep the process up; the thread alone does not.
    worker.unref();
    worker.on('message', this.ended);
    let failure: unknown;
    worker.on('error', (e) => (failure = e));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.lost(failure ?? new Error(`the webhook send thread exited (${code})`));
    });
    return worker;
  }

  /** Ends the thread: what it was sending is abandoned (its connections closed), not reported. */
  async stop() {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
