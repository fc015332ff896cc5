import { err, ok, type Result } from '../domain/result.js';
import { API_KEY_PREFIX, hashSecret, newSecret, sameDigest } from '../secrets.js';
import type { Database } from '../db/database.js';
import { ApiKeyRepository } from '../db/api-key-repository.js';
import type { ApiKey } from '../db/schema.js';
import { announceAuthChange, type AuthChanges } from './auth-changes.js';
import { ExpiringCache } from './expiring-cache.js';

export interface Validity {
  from?: number | null;
  until?: number | null;
}

export interface Caller {
  customerId: number;
  keyId: number;
}

/** API keys: issuing, listing, revoking, and checking the key of every MerchantAPI request.
 * A checked key is kept in memory (at most `cacheMs`) so a busy integration costs no query per
 * request; revoking forgets it at once in this process, and every other instance forgets it when
 * the notification of the revocation arrives (`changes`). `lastUsage` is written at most once a
 * minute per key. */
export class ApiKeyService {
  private readonly keys: ApiKeyRepository;
  private readonly cache: ExpiringCache<ApiKey>;
  private readonly lastWritten = new Map<number, number>();
  private readonly lastUsed = new Map<number, number>();
  static readonly USAGE_WRITE_INTERVAL_MS = 60_000;

  constructor(
    private readonly store: Database,
    private readonly now: () => number,
    cacheMs: number,
    changes?: AuthChanges,
  ) {
    this.cache = new ExpiringCache(cacheMs, 10_000, changes ? () => changes.live : () => true);
    changes?.watch((hash) => (hash === null ? this.cache.clear() : this.cache.delete(hash)));
    this.keys = new ApiKeyRepository(store);
  }

  async issue(customerId: number, label: string, validity: Validity = {}) {
    const now = this.now();
    const from = validity.from ?? null;
    const until = validity.until ?? null;
    if (from !== null && until !== null && until <= from) {
      return err('INVALID_VALIDITY', 'validity.until must be later than validity.from');
    }
    if (until !== null && until <= now) return err('INVALID_VALIDITY', 'validity.until is already in the past');
    const apikey = newSecret(API_KEY_PREFIX);
    const { id } = await this.keys.insert({
      customer_id: customerId,
      label,
      prefix: apikey.slice(0, API_KEY_PREFIX.length + 4),
      key_hash: hashSecret(apikey),
      valid_from: from,
      valid_until: until,
      created_at: now,
    });
    return ok({ id: Number(id), label, apikey, validity: { from, until } });
  }

  /** The caller behind a presented key, or why it is refused. `hash`: the presented key's SHA-256,
   * when the caller has it already. */
  async authenticate(presented: string, hash = hashSecret(presented)): Promise<Result<Caller, 'API_KEY_INVALID'>> {
    const known = this.remembered(hash);
    if (known) return known;
    return this.check(await this.cache.get(hash, this.now(), () => this.load(hash)));
  }

  /** The key stored under the hash. The index found its row by the hash: compare again in constant
   * time all the same, before memory keeps it under that hash. */
  private async load(hash: string) {
    const key = await this.keys.findByHash(hash);
    return key && sameDigest(key.key_hash, hash) ? key : undefined;
  }

  /** The answer for a key kept in memory, without a promise (every request of a busy integration
   * asks); undefined when the store must be asked (`authenticate`). The memory keeps a key under
   * its own hash, so finding it there is the comparison. */
  remembered(hash: string): Result<Caller, 'API_KEY_INVALID'> | undefined {
    const key = this.cache.peek(hash, this.now());
    return key && this.check(key);
  }

  private check(key: ApiKey | undefined): Result<Caller, 'API_KEY_INVALID'> {
    const now = this.now();
    if (!key) return err('API_KEY_INVALID', 'Invalid API Key.');
    if (key.revoked_at !== null) return err('API_KEY_INVALID', 'Invalid API Key: it has been revoked.');
    if (key.valid_until !== null && key.valid_until <= now) return err('API_KEY_INVALID', 'Invalid API Key: it has expired.');
    if (key.valid_from !== null && key.valid_from > now) return err('API_KEY_INVALID', 'Invalid API Key: it is not valid yet.');
    this.noteUsage(key.id, now);
    return ok({ customerId: Number(key.customer_id), keyId: Number(key.id) });
  }

  private noteUsage(keyId: number, now: number) {
    this.lastUsed.set(keyId, now);
    const written = this.lastWritten.get(keyId) ?? 0;
    if (now - written < ApiKeyService.USAGE_WRITE_INTERVAL_MS) return;
    this.lastWritten.set(keyId, now);
    void this.keys.touch(keyId, now).catch(() => this.lastWritten.delete(keyId));
  }

  /** Writes the usage seen since the last write (on shutdown). */
  async flushUsage() {
    for (const [id, at] of this.lastUsed) {
      if ((this.lastWritten.get(id) ?? 0) < at) await this.keys.touch(id, at);
    }
  }

  async count(customerId: number) {
    return this.keys.countUnexpired(customerId, this.now());
  }

  async page(customerId: number, offset: number, limit: number) {
    const rows = await this.keys.pageUnexpired(customerId, this.now(), offset, limit);
    // A use not yet written shows all the same.
    return rows.map((k) => ({ ...k, last_used_at: Math.max(k.last_used_at ?? 0, this.lastUsed.get(Number(k.id)) ?? 0) || null }));
  }

  /** Revokes a key. It is refused when no other key valid now and without an end date would remain:
   * a customer left with keys that end would be locked out when they do. The customer's row lock
   * makes two crossing revocations end with one such key left. */
  async revoke(caller: Caller, keyId: number): Promise<Result<void, 'NOT_FOUND' | 'KEY_IN_USE' | 'LAST_VALID_KEY'>> {
    return this.revokeChecked(caller.customerId, keyId, { keyInUse: caller.keyId });
  }

  private async revokeChecked(
    customerId: number,
    keyId: number,
    rules: { keyInUse?: number; force?: boolean },
  ): Promise<Result<void, 'NOT_FOUND' | 'KEY_IN_USE' | 'LAST_VALID_KEY'>> {
    const outcome = await this.store.db.transaction().execute(async (tx) => {
      await this.keys.lockCustomer(customerId, tx);
      const now = this.now();
      const key = await this.keys.find(customerId, keyId, tx);
      if (!key || key.revoked_at !== null || (key.valid_until !== null && key.valid_until <= now)) {
        return err('NOT_FOUND', `No API key ${keyId}.`);
      }
      if (Number(key.id) === rules.keyInUse) {
        return err('KEY_IN_USE', 'The API key making this request cannot revoke itself: switch to another key first.');
      }
      if (!rules.force && (await this.keys.countLastingExcept(customerId, keyId, now, tx)) === 0) {
        return err(
          'LAST_VALID_KEY',
          'Revoking this key would leave the customer no valid API key without an end date (locked out once the others end): create a key without validity.until first.',
        );
      }
      await this.keys.revoke(customerId, keyId, now, tx);
      await announceAuthChange(tx, this.store.dialect, key.key_hash);
      return ok(key.key_hash);
    });
    if (!outcome.ok) return outcome;
    this.cache.delete(outcome.value);
    return ok(undefined);
  }

  /** Every key of a customer, revoked and expired ones included (operators). */
  listForCustomer(customerId: number) {
    return this.keys.listForCustomer(customerId);
  }

  /** Operators revoke a customer's key under the same rule as the customer; `force` revokes even the
   * last lasting one (a leaked key must stop, whatever it costs). */
  revokeAsOperator(customerId: number, keyId: number, options: { force?: boolean } = {}): Promise<Result<void, 'NOT_FOUND' | 'KEY_IN_USE' | 'LAST_VALID_KEY'>> {
    return this.revokeChecked(customerId, keyId, { force: options.force ?? false });
  }
}
