/**
 * A POS backend's side of one payment, with the typed client (@cloudpos/client): push a payment
 * to a terminal, wait for the cardholder, print the receipt.
 *
 *   CLOUDPOS_API_KEY=cpos_key_… npx tsx examples/pos-backend.ts \
 *     [--server http://localhost:8080] [--terminal SUNMI-P2lite-SIM00000001] [--amount 12.50] [--currency EUR]
 *
 * Exits 0 when the payment was approved, 1 when it was declined or cancelled, 2 on a usage error.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createMerchantClient, isSettled, type paths, type ProblemDetails, type Transaction } from '@cloudpos/client';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: process.env.CLOUDPOS_URL ?? 'http://localhost:8080' },
    terminal: { type: 'string', default: 'SUNMI-P2lite-SIM00000001' },
    amount: { type: 'string', default: '12.50' },
    currency: { type: 'string', default: 'EUR' },
    reference: { type: 'string', default: `pos-${Date.now()}` },
  },
});
const apiKey = process.env.CLOUDPOS_API_KEY;
if (!apiKey) {
  console.error('CLOUDPOS_API_KEY must hold the API key (the first run of `npm start` prints one)');
  process.exit(2);
}
const terminalId = values.terminal;
const cloudpos = createMerchantClient({ baseUrl: values.server, apiKey });
const fail = (what: string, problem: ProblemDetails | undefined, status: number): never => {
  console.error(`${what}: ${status} ${problem?.detail ?? problem?.title ?? ''}`);
  process.exit(1);
};

// 1. Push the payment to the terminal. The Idempotency-Key makes a retry after a lost answer safe.
const created = await cloudpos.POST('/terminals/{terminalId}/transactions', {
  params: { path: { terminalId }, header: { 'idempotency-key': randomUUID() } },
  body: { type: 'PURCHASE', merchant_order_reference: values.reference, amount: { value: Number(values.amount), currency: values.currency } },
});
if (!created.data) fail('creating the payment', created.error, created.response.status);
let transaction = created.data!;
console.log(`payment ${transaction.id} of ${transaction.amount.value} ${transaction.amount.currency} is on terminal ${terminalId}: waiting for the card`);

// 2. Wait for the result. A server whose document offers `wait` on the status read holds the
// request until the status changes; an older one answers at once, and then we poll every second.
type StatusQuery = paths['/terminals/{terminalId}/transactions/{transactionId}']['get']['parameters']['query'];
const holds = await offersWait();
while (!isSettled(transaction)) {
  const started = Date.now();
  const read = await cloudpos.GET('/terminals/{terminalId}/transactions/{transactionId}', {
    params: { path: { terminalId, transactionId: transaction.id }, query: (holds ? { wait: 25 } : undefined) as StatusQuery },
  });
  if (!read.data) fail('reading the payment', read.error, read.response.status);
  transaction = read.data!;
  if (!isSettled(transaction) && Date.now() - started < 1_000) await new Promise((r) => setTimeout(r, 1_000 - (Date.now() - started)));
}

// 3. The outcome and the cardholder's receipt.
console.log(outcome(transaction));
if (transaction.receipt) console.log(`\n${transaction.receipt}`);
process.exit(transaction.result === 'APPROVED' ? 0 : 1);

function outcome(t: Transaction): string {
  if (t.result) return `${t.status} ${t.result}${t.brand ? ` (${t.brand}, authorization ${t.authorization_code ?? '-'})` : ''}`;
  return `${t.status}${t.cancel_reason ? ` (${t.cancel_reason})` : ''}`;
}

/** Whether the served document lets the status read wait for a change (`?wait=S`). */
async function offersWait(): Promise<boolean> {
  type Parameter = { name?: string; in?: string };
  type Doc = { paths?: Record<string, { get?: { parameters?: Parameter[] } }> };
  const res = await fetch(`${values.server.replace(/\/+$/, '')}/openapi.json`).catch(() => undefined);
  const doc = res?.ok ? ((await res.json()) as Doc) : undefined;
  const parameters = doc?.paths?.['/terminals/{terminalId}/transactions/{transactionId}']?.get?.parameters ?? [];
  return parameters.some((p) => p.in === 'query' && p.name === 'wait');
}
