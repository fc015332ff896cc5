/** What the delivery worker and the webhook repository hand each other (webhook-repository.ts). */

/** A delivery claimed for sending, with what sending it needs. */
export interface ClaimedDelivery {
  id: number;
  attempts: number;
  lease_until: number | null;
  endpoint_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  event: { id: string; type: string; created_at: number; sequence: number; data: string };
}

/** A claimed delivery as read, before its event and endpoint are known to be still there. */
export interface ClaimedRow {
  id: number | string;
  attempts: number | string;
  lease_until: number | string | null;
  endpoint_id: string;
  url: string | null;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_until: number | string | null;
  event_id: string | null;
  type: string | null;
  created_at: number | string | null;
  sequence: number | string | null;
  data: string | null;
}

/** An attempt made, and the delivery's next step. */
export interface FinishedAttempt {
  delivery: ClaimedDelivery;
  attempt: { at: number; status_code: number | null; error: string | null; duration_ms: number; outcome: 'DELIVERED' | 'RETRYING' | 'FAILED'; next_attempt_at: number };
}
