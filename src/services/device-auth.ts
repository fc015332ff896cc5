import { err, ok, type Result } from '../domain/result.js';
import { hashSecret } from '../secrets.js';
import type { OnboardingRepository } from '../db/onboarding-repository.js';
import type { Terminal } from '../domain/terminal.js';
import type { AuthChanges } from './auth-changes.js';
import { ExpiringCache } from './expiring-cache.js';

/** Checks a terminal's device token. The terminal of a token found is kept in memory (at most
 * `cacheMs`), so that a fleet of polling terminals costs no query per poll; a rotated token is
 * forgotten on every instance when the notification of the rotation arrives (`changes`). */
export class DeviceAuth {
  private readonly cache: ExpiringCache<Terminal>;

  constructor(
    private readonly repo: OnboardingRepository,
    private readonly now: () => number,
    cacheMs: number,
    changes?: AuthChanges,
    /** told of every terminal read from the store (the creations' directory keeps it) */
    private readonly found?: (terminal: Terminal) => void,
  ) {
    this.cache = new ExpiringCache(cacheMs, 50_000, changes ? () => changes.live : () => true);
    changes?.watch((hash) => (hash === null ? this.cache.clear() : this.cache.delete(hash)));
  }

  /** `hash`: the token's SHA-256, when the caller has it already. */
  async authenticate(token: string, hash = hashSecret(token)): Promise<Result<Terminal, 'DEVICE_TOKEN_INVALID'>> {
    return this.remembered(hash) ?? found(await this.cache.get(hash, this.now(), () => this.load(hash)));
  }

  private async load(hash: string) {
    const terminal = await this.repo.findTerminalByTokenHash(hash);
    if (terminal) this.found?.(terminal);
    return terminal;
  }

  /** The terminal of a token kept in memory, without a promise (a polling fleet asks on every
   * poll); undefined when the store must be asked (`authenticate`). */
  remembered(hash: string): Result<Terminal, 'DEVICE_TOKEN_INVALID'> | undefined {
    const terminal = this.cache.peek(hash, this.now());
    return terminal && ok(terminal);
  }
}

const found = (terminal: Terminal | undefined): Result<Terminal, 'DEVICE_TOKEN_INVALID'> =>
  terminal ? ok(terminal) : err('DEVICE_TOKEN_INVALID', 'Invalid device token.');
