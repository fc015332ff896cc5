import type { Kysely } from 'kysely';
import type { Tables } from '../../src/db/schema.js';
import type { WebhookRepository } from '../../src/db/webhook-repository.js';

/** A customer (named after its endpoint) with one webhook endpoint subscribed to every event type;
 * its secret is a placeholder, never used to sign. Returns the customer's id. */
export async function customerWithEndpoint(kysely: Kysely<Tables>, webhooks: WebhookRepository, endpointId: string, url: string): Promise<number> {
  const customer = await kysely.insertInto('customers').values({ name: endpointId, created_at: 0 }).returning('id').executeTakeFirstOrThrow();
  const customer_id = Number(customer.id);
  await webhooks.insertEndpoint({ id: endpointId, customer_id, url, events: null, description: null, secret: 'sealed', previous_secret: null, previous_secret_until: null, created_at: 0 }, 16);
  return customer_id;
}
