import { parseArgs } from 'node:util';
import { loadConnector } from '../acquirer/connector.js';
import { checkAcquirer } from '../acquirer/contract.js';
import type { Io } from './admin.js';

export const ACQUIRER_USAGE = `usage: cloudpos acquirer check PATH/TO/CONNECTOR.js [--timeout-ms 2000] [--json]

  Runs the Acquirer interface's contract checks against a connector (an ES module whose default
  export implements it): approve, decline, timeout, capture at most the authorized amount, release
  once, retries that move no money twice. Exit code 0 when every check passed, 1 otherwise.
  The module may export \`contractCards\` ({ approve, decline, timeout?, expiry }): card numbers of
  its test environment; the sandbox's test cards otherwise. Exit code 64 for a usage error.`;

export async function runAcquirerCommand(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { json: { type: 'boolean' }, 'timeout-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    io.err(`${(e as Error).message}\n\n${ACQUIRER_USAGE}`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(ACQUIRER_USAGE);
    return 0;
  }
  const [action, path, ...extra] = positionals;
  const timeout = values['timeout-ms'];
  if (action !== 'check' || !path || extra.length > 0 || (timeout !== undefined && !/^\d{1,6}$/.test(timeout))) {
    io.err(`${action !== 'check' ? `unknown command "${action ?? ''}"` : !path ? 'which connector? (a path to an ES module)' : extra.length > 0 ? `unexpected argument "${extra[0]}"` : '--timeout-ms must be a whole number'}\n\n${ACQUIRER_USAGE}`);
    return 64;
  }
  let connector;
  try {
    connector = await loadConnector(path);
  } catch (e) {
    if (values.json) io.out(JSON.stringify({ passed: false, error: (e as Error).message }));
    io.err((e as Error).message);
    return 1;
  }
  const results = await checkAcquirer(connector.acquirer, connector.cards, timeout === undefined ? {} : { timeoutMs: Number(timeout) });
  const passed = results.every((r) => r.passed);
  if (values.json) io.out(JSON.stringify({ passed, checks: results }));
  else {
    for (const r of results) io.out(`${r.passed ? 'PASS' : 'FAIL'}  ${r.check}: ${r.detail}`);
    io.out(passed ? `all ${results.length} checks passed` : `${results.filter((r) => !r.passed).length} of ${results.length} checks failed`);
  }
  return passed ? 0 : 1;
}
