import { ACQUIRER_METHODS, type Acquirer } from './acquirer.js';

export type AcquirerCall = (typeof ACQUIRER_METHODS)[number];

/** Reports how long each acquirer call took and how it ended: its outcome (APPROVED, DECLINED,
 * ACCEPTED, REFUSED), or UNAVAILABLE when it threw. */
export function timedAcquirer(acquirer: Acquirer, observe: (call: AcquirerCall, outcome: string, seconds: number) => void): Acquirer {
  const timed = <K extends AcquirerCall>(call: K): Acquirer[K] =>
    (async (...args: Parameters<Acquirer[K]>) => {
      const started = process.hrtime.bigint();
      const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const answer = await (acquirer[call] as (...a: Parameters<Acquirer[K]>) => Promise<{ outcome: string }>).apply(acquirer, args);
        observe(call, answer.outcome, elapsed());
        return answer;
      } catch (e) {
        observe(call, 'UNAVAILABLE', elapsed());
        throw e;
      }
    }) as Acquirer[K];
  return { authorize: timed('authorize'), capture: timed('capture'), release: timed('release'), reverse: timed('reverse') };
}
