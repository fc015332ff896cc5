/** The webhooks scenario's (webhooks.ts) other parties: the receiver, in a thread of this process,
 * and its control's sender, in a process of its own. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Report, Start } from './webhook-receiver.js';

/** The receiver's thread (webhook-receiver.ts), loaded through tsx like the rest of the bench. */
export async function startReceiver() {
  const entry = new URL('./webhook-receiver.ts', import.meta.url).href;
  const worker = new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
  // Answers come in the order of the questions.
  const waiting: Array<{ resolve: (m: unknown) => void; reject: (e: unknown) => void }> = [];
  worker.on('message', (m: unknown) => waiting.shift()?.resolve(m));
  worker.on('error', (e) => waiting.splice(0).forEach((w) => w.reject(e)));
  const next = <T>() => new Promise<T>((resolve, reject) => waiting.push({ resolve: (m) => resolve(m as T), reject }));
  const { url, lowest } = await next<Start>();
  let last: Report = { received: 0, duplicates: 0, latencies: [] };
  const report = async () => {
    const answer = next<Report>();
    worker.postMessage('report');
    return (last = await answer);
  };
  return {
    url,
    /** How the receiver runs, for the rows' text. */
    priority: lowest ? 'at nice 19' : 'at the normal priority (its thread id could not be read)',
    report,
    /** What the last report said. */
    last: () => last,
    track: () => worker.postMessage('track'),
    close: async () => {
      worker.postMessage('close');
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

/** The control's sender (http-load.ts), in a process of its own like the platform's send thread
 * is outside the bench's: started paused; `run(true)` lets it send, `run(false)` stops it between
 * rounds. */
export async function startHttpLoad(url: string, perSecond: number, data: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./http-load.ts', import.meta.url)), url, String(perSecond)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_EVENT_DATA: data },
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench/http-load.ts exited (${code})`)));
    child.stdout!.once('data', () => resolve());
  });
  child.removeAllListeners('exit');
  child.kill('SIGSTOP');
  return {
    pid: child.pid!,
    run: async (on: boolean) => void child.kill(on ? 'SIGCONT' : 'SIGSTOP'),
    /** Throws if it ended on its own: its rounds would have measured no requests at all. */
    check: () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`bench/http-load.ts ended during the control's rounds (${child.exitCode ?? child.signalCode})`);
    },
    close: () => void child.kill('SIGKILL'),
  };
}
