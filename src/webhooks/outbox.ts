import type { EventRepository, TerminalRef } from '../db/event-repository.js';
import type { Executor } from '../db/executor.js';
import type { Transaction } from '../domain/transaction.js';
import type { LifecycleState } from '../domain/transaction-lifecycle.js';
import { transactionView } from '../http/transaction-view.js';
import { newEventId, transactionEventType, type EventType } from './event-types.js';

/** Writes the event of a transaction's change inside the database transaction of the change (the
 * outbox): `data` is the transaction as GET shows it, with its terminal's id. */
export type TransactionOutbox = (db: Executor, t: Transaction, to: LifecycleState, at: number, terminal?: TerminalRef) => Promise<void>;

/** The event of a change, ready to be written by a statement that writes it itself (the creation
 * in one statement, create-statement.ts): the same fields `append` writes, `data` as its JSON. */
export interface TransactionEventRecord {
  id: string;
  customer_id: number;
  type: EventType;
  subject: string;
  data: string;
  at: number;
}

/** `terminal`: the transaction's terminal as the caller has just read it, if it has (no lookup then). */
export type TransactionEventOf = (db: Executor, t: Transaction, to: LifecycleState, at: number, terminal?: TerminalRef) => Promise<TransactionEventRecord>;

export function transactionEventOf(events: EventRepository): TransactionEventOf {
  return async (db, t, to, at, known) => {
    const terminal = known ? events.remember(t.terminal_pk, known) : await events.terminalRef(t.terminal_pk, db);
    const data = { ...transactionView(t, terminal.store), terminal_id: terminal.id };
    return { id: newEventId(), customer_id: t.customer_id, type: transactionEventType(to), subject: `transaction:${t.id}`, data: JSON.stringify(data), at };
  };
}

export function transactionOutbox(events: EventRepository): TransactionOutbox {
  return async (db, t, to, at, known) => {
    const terminal = known ? events.remember(t.terminal_pk, known) : await events.terminalRef(t.terminal_pk, db);
    await events.append(db, {
      customer_id: t.customer_id,
      type: transactionEventType(to),
      subject: `transaction:${t.id}`,
      data: { ...transactionView(t, terminal.store), terminal_id: terminal.id },
      at,
    });
  };
}
