import { randomFillSync } from 'node:crypto';
import type { LifecycleState } from '../domain/transaction-lifecycle.js';

/** Every type of event a customer can receive (DESIGN.md, "Events"). */
export const EVENT_TYPES = [
  'transaction.created',
  'transaction.retrieved',
  'transaction.card_presented',
  'transaction.authorized',
  'transaction.cleared',
  'transaction.cancelled',
  'terminal.online',
  'terminal.offline',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** The event a transaction reaching `to` yields, by where it stands afterwards: one table, so a new
 * transition of the life cycle needs no new code here. */
export function transactionEventType(to: LifecycleState): EventType {
  if (to.status === 'CREATED') {
    return to.stage === 'PENDING' ? 'transaction.created' : to.stage === 'RETRIEVED' ? 'transaction.retrieved' : 'transaction.card_presented';
  }
  return to.status === 'AUTHORIZED' ? 'transaction.authorized' : to.status === 'CLEARED' ? 'transaction.cleared' : 'transaction.cancelled';
}

/** Event ids are the `webhook-id` of their deliveries, the same on every retry: 32 hex digits, the
 * millisecond the id was made (12) and 80 random bits (20), unguessable. Ordered by time, like
 * transaction ids, so the events' primary key grows at its right edge. */
export function newEventId(): string {
  if (drawn + RANDOM_BYTES > pool.length) {
    randomFillSync(pool);
    drawn = 0;
  }
  const id = `evt_${Date.now().toString(16).padStart(12, '0')}${pool.toString('hex', drawn, drawn + RANDOM_BYTES)}`;
  drawn += RANDOM_BYTES;
  return id;
}

/** The random bytes of event ids, drawn from the system's generator 4 KiB at a time (as
 * randomUUID does) instead of one call per id: a payment makes several events, and the call cost
 * more than the rest of making one. */
const pool = Buffer.alloc(4096);
const RANDOM_BYTES = 10;
let drawn = pool.length;

/** An event as the API shows it and as a webhook delivers it. */
export interface EventJson {
  id: string;
  type: EventType;
  created_at: string;
  sequence: number;
  data: Record<string, unknown>;
}

export function eventJson(row: { id: string; type: string; created_at: number; sequence: number; data: string }): EventJson {
  return { id: row.id, type: row.type as EventType, created_at: new Date(Number(row.created_at)).toISOString(), sequence: Number(row.sequence), data: JSON.parse(row.data) as Record<string, unknown> };
}

/** The JSON text of eventJson(row), written around the stored `data` (already JSON) rather than
 * parsing and serialising it again: what a delivery sends and signs. */
export function eventBody(row: { id: string; type: string; created_at: number; sequence: number; data: string }): string {
  return `{"id":${JSON.stringify(row.id)},"type":${JSON.stringify(row.type)},"created_at":"${new Date(Number(row.created_at)).toISOString()}","sequence":${Number(row.sequence)},"data":${row.data}}`;
}
