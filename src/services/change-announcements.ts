import type { Transaction } from '../domain/transaction.js';

/** A change of a transaction as instances tell each other on the transactions channel, tab
 * separated: the operation ('INSERT' wakes the terminal's polls, 'UPDATE' only tells what
 * remembers the transaction), the terminal, the transaction, the writer's application_name (it may
 * hold anything but a tab), and after a creation told by an instance, the transaction as committed
 * (JSON has no raw tab). The trigger of migrations 0007 and 0008 writes the first four only, and an
 * older instance reads the first four only. */
export interface Announcement {
  op: 'INSERT' | 'UPDATE';
  created?: Transaction;
}

/** PostgreSQL refuses a notification payload of 8,000 bytes or more: a longer one goes without the transaction. */
const MAX_PAYLOAD_BYTES = 7_900;

/** The payload of `told` about `terminalAndTransaction` (the two fields, tab separated) by `from`. */
export function announcementPayload({ op, created }: Announcement, terminalAndTransaction: string, from: string): string {
  const payload = `${op}\t${terminalAndTransaction}\t${from}`;
  const withCreated = created && `${payload}\t${JSON.stringify(created)}`;
  return withCreated && Buffer.byteLength(withCreated) <= MAX_PAYLOAD_BYTES ? withCreated : payload;
}

/** A payload read back; `created` only if it is the transaction told, of the terminal told. */
export function parseAnnouncement(payload: string) {
  const [op, terminal, transaction, from, created] = payload.split('\t', 5);
  const terminalPk = Number(terminal);
  return { op, terminalPk: terminal ? terminalPk : undefined, transaction: transaction || undefined, from, created: createdOf(created, terminalPk, transaction) };
}

function createdOf(json: string | undefined, terminalPk: number, id: string | undefined): Transaction | undefined {
  if (!json || !id) return undefined;
  try {
    const t = JSON.parse(json) as Transaction;
    return t && t.id === id && t.terminal_pk === terminalPk ? t : undefined;
  } catch {
    return undefined;
  }
}
