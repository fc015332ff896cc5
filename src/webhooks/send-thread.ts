/** The webhook send thread (a worker thread the platform starts when it first sends): makes the
 * POSTs the delivery worker hands it and reports how each ended, so requests to receivers, their
 * answers and their garbage stay off the event loop that serves the API. Messages in: arrays of
 * SendOrder. Messages out: arrays of SendResult, what ended since the last message, at most one
 * every REPORT_MS (each message wakes the API's event loop; an answer is recorded by the next look
 * anyway, at most every 50 ms under load). */
import { parentPort, workerData } from 'node:worker_threads';
import type { SendOrder, SendResult, SenderSettings } from './send-orders.js';
import { Sender } from './sender.js';

const REPORT_MS = 5;
const port = parentPort!;
let ended: SendResult[] = [];
const report = () => {
  const results = ended;
  ended = [];
  port.postMessage(results);
};
const sender = new Sender(workerData as SenderSettings, (result) => {
  if (ended.push(result) === 1) setTimeout(report, REPORT_MS);
});
port.on('message', (orders: SendOrder[]) => {
  for (const order of orders) sender.send(order);
});
