/** What the delivery worker and the send thread tell each other. Apart from the sender, so that
 * the API's thread, which needs these alone, does not load the HTTP client the send thread uses. */

/** A 2xx within this long is delivered (Standard Webhooks; DESIGN.md, "Webhooks"). */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** One POST to make: the event as stored, signed with each of `keys` (the endpoint's signing keys
 * now, the current one first). */
export interface SendOrder {
  /** the delivery's id */
  id: number;
  url: string;
  /** `webhook-timestamp`, in seconds */
  timestamp: number;
  keys: Uint8Array[];
  event: { id: string; type: string; created_at: number; sequence: number; data: string };
}

/** How an attempt ended. */
export interface SendResult {
  /** the delivery's id */
  id: number;
  ok: boolean;
  ms: number;
  status?: number;
  error?: string;
  /** no answer within DELIVERY_TIMEOUT_MS (connecting, or waiting for the answer or its end) */
  timedOut?: true;
}

export interface SenderSettings {
  /** connections to an origin at most */
  connections: number;
  /** refuse connections to internal addresses (production, WEBHOOK_ALLOW_PRIVATE unset) */
  publicOnly: boolean;
}
