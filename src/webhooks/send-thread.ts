/** The webhook send thread (a worker thread the platform starts when it first sends): makes the
 * POSTs the delivery worker hands it and reports how each ended, so requests to receivers, their
 * answers and their garbage stay off the event loop that serves the API. Messages in: arrays of
 * SendOrder. Messages out: arrays of SendResult, what ended since the last message. */
import { parentPort, workerData } from 'node:worker_threads';
import { Sender, type SendOrder, type SendResult, type SenderSettings } from './sender.js';

const port = parentPort!;
let ended: SendResult[] = [];
const report = () => {
  const results = ended;
  ended = [];
  port.postMessage(results);
};
const sender = new Sender(workerData as SenderSettings, (result) => {
  // What ends in one turn of this thread's loop goes back in one message.
  if (ended.push(result) === 1) setImmediate(report);
});
port.on('message', (orders: SendOrder[]) => {
  for (const order of orders) sender.send(order);
});
