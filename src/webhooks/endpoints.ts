import { randomBytes } from 'node:crypto';
import type { EventRepository } from '../db/event-repository.js';
import type { EndpointRow, WebhookRepository } from '../db/webhook-repository.js';
import { err, ok, type Result } from '../domain/result.js';
import type { LogCounts } from './log-counts.js';
import type { EventJson, EventType } from './event-types.js';
import { newSigningSecret, type SecretBox } from './secrets.js';
import { refuseUrl, type UrlPolicy } from './url-policy.js';

/** How long a replaced signing secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

export interface EndpointView {
  id: string;
  url: string;
  events: EventType[] | null;
  description: string | null;
  created_at: string;
}

const view = (r: EndpointRow): EndpointView => ({
  id: r.id,
  url: r.url,
  events: r.events === null ? null : (JSON.parse(r.events) as EventType[]),
  description: r.description,
  created_at: new Date(Number(r.created_at)).toISOString(),
});

const notFound = (id: string) => err('NOT_FOUND', `There is no webhook endpoint ${id}.`);

/** A customer's webhook endpoints, the event log and the attempts to deliver it: every query is
 * scoped by the customer, and another customer's endpoint or event answers as if it did not exist. */
export class WebhookService {
  constructor(
    private readonly repo: WebhookRepository,
    private readonly events: EventRepository,
    private readonly box: SecretBox,
    private readonly policy: UrlPolicy,
    /** endpoints a customer may have at once */
    private readonly maxEndpoints: number,
    private readonly now: () => number,
    /** new deliveries are waiting (redeliver), or will be (a new endpoint) */
    private readonly wake: () => void,
    /** what the events list and each endpoint's attempts count for their totals */
    private readonly counts: { events: LogCounts<number>; attempts: LogCounts<string> },
  ) {}

  async create(customerId: number, input: { url: string; events?: EventType[]; description?: string }): Promise<Result<EndpointView & { secret: string }, 'VALIDATION_FAILED' | 'ENDPOINT_LIMIT'>> {
    const refused = await refuseUrl(input.url, this.policy);
    if (refused) return err('VALIDATION_FAILED', refused);
    const id = `we_${randomBytes(12).toString('hex')}`;
    const secret = newSigningSecret();
    const row: EndpointRow = {
      id,
      customer_id: customerId,
      // As it will be called: `HTTP://Example.com/a/../b` is kept as `http://example.com/b`.
      url: new URL(input.url).href,
      events: input.events === undefined ? null : JSON.stringify([...new Set(input.events)]),
      description: input.description ?? null,
      secret: this.box.seal(secret, id),
      previous_secret: null,
      previous_secret_until: null,
      created_at: this.now(),
    };
    if (!(await this.repo.insertEndpoint(row, this.maxEndpoints))) {
      return err('ENDPOINT_LIMIT', `A customer has at most ${this.maxEndpoints} webhook endpoints (WEBHOOK_MAX_ENDPOINTS); delete one first.`);
    }
    this.wake();
    return ok({ ...view(row), secret });
  }

  list(customerId: number, offset: number, limit: number) {
    return this.repo.listEndpoints(customerId, offset, limit).then(({ total, endpoints }) => ({ total, endpoints: endpoints.map(view) }));
  }

  async get(customerId: number, id: string): Promise<Result<EndpointView, 'NOT_FOUND'>> {
    const row = await this.repo.findEndpoint(customerId, id);
    return row ? ok(view(row)) : notFound(id);
  }

  async delete(customerId: number, id: string): Promise<Result<void, 'NOT_FOUND'>> {
    return (await this.repo.deleteEndpoint(customerId, id)) ? ok(undefined) : notFound(id);
  }

  /** A new secret; the one it replaces keeps signing beside it for 24 hours. */
  async rotateSecret(customerId: number, id: string): Promise<Result<{ secret: string }, 'NOT_FOUND'>> {
    const row = await this.repo.findEndpoint(customerId, id);
    if (!row) return notFound(id);
    const secret = newSigningSecret();
    const rotated = await this.repo.rotateSecret(customerId, id, this.box.seal(secret, id), row.secret, this.now() + ROTATION_OVERLAP_MS);
    return rotated ? ok({ secret }) : notFound(id);
  }

  async attempts(customerId: number, id: string, offset: number, limit: number) {
    if (!(await this.repo.findEndpoint(customerId, id))) return notFound(id);
    const [total, attempts] = await Promise.all([this.counts.attempts.total(id, undefined), this.repo.attempts(id, this.counts.attempts.horizon(), offset, limit)]);
    return ok({
      total,
      attempts: attempts.map((a) => ({
        event_id: a.event_id,
        type: a.event_type as EventType,
        attempt: Number(a.attempt),
        at: new Date(Number(a.at)).toISOString(),
        ...(a.status_code !== null && { status_code: Number(a.status_code) }),
        ...(a.error !== null && { error: a.error }),
        duration_ms: Number(a.duration_ms),
        outcome: a.outcome as 'DELIVERED' | 'RETRYING' | 'FAILED',
      })),
    });
  }

  /** One page of the event log, newest first, and how many events it holds in all. */
  async listEvents(customerId: number, type: EventType | undefined, offset: number, limit: number): Promise<{ total: number; events: EventJson[] }> {
    const [total, events] = await Promise.all([this.counts.events.total(customerId, type), this.events.page(customerId, type, this.counts.events.horizon(), offset, limit)]);
    return { total, events };
  }

  async event(customerId: number, id: string): Promise<Result<EventJson, 'NOT_FOUND'>> {
    const found = await this.events.find(customerId, id);
    return found ? ok(found) : err('NOT_FOUND', `There is no event ${id}.`);
  }

  /** The event again, with the same webhook-id, to every endpoint now subscribed to its type. */
  async redeliver(customerId: number, id: string): Promise<Result<{ id: string; endpoints: number }, 'NOT_FOUND'>> {
    const found = await this.events.find(customerId, id);
    if (!found) return err('NOT_FOUND', `There is no event ${id}.`);
    const endpoints = await this.repo.redeliver({ id, customer_id: customerId, type: found.type }, this.now());
    this.wake();
    return ok({ id, endpoints });
  }
}
