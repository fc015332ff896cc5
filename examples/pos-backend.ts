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
import { createMerchantClient, isSettled, type ProblemDetails, type Transaction } from '@cloudpos/client';

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

// 2. Wait for the result: the status read holds for up to 25 s and answers the moment the status
// changes (`?wait=`), so the loop asks again only when 25 s pass without a change.
while (!isSettled(transaction)) {
  const read = await cloudpos.GET('/terminals/{terminalId}/transactions/{transactionId}', {
    params: { path: { terminalId, transactionId: transaction.id }, query: { wait: 25 } },
  });
  if (!read.data) fail('reading the payment', read.error, read.response.status);
  transaction = read.data!;
}

// 3. The outcome and the cardholder's receipt.
console.log(outcome(transaction));
if (transaction.receipt) console.log(`\n${transaction.receipt}`);
process.exit(transaction.result === 'APPROVED' ? 0 : 1);

function outcome(t: Transaction): string {
  if (t.result) return `${t.status} ${t.result}${t.brand ? ` (${t.brand}, authorization ${t.authorization_code ?? '-'})` : ''}`;
  return `${t.status}${t.cancel_reason ? ` (${t.cancel_reason})` : ''}`;
}
