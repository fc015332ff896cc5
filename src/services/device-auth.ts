import { err, ok, type Result } from '../domain/result.js';
import { hashSecret } from '../secrets.js';
import type { OnboardingRepository, TerminalView } from '../store/onboarding-repository.js';

/** Checks a terminal's device token. A token found is trusted for `cacheMs`, so that a fleet of
 * polling terminals costs no query per poll; a rotated token stops working within `cacheMs`. */
export class DeviceAuth {
  private readonly cache = new Map<string, { terminal: TerminalView; fetchedAt: number }>();

  constructor(
    private readonly repo: OnboardingRepository,
    private readonly now: () => number,
    private readonly cacheMs: number,
  ) {}

  async authenticate(token: string): Promise<Result<TerminalView, 'DEVICE_TOKEN_INVALID'>> {
    const hash = hashSecret(token);
    const now = this.now();
    const cached = this.cache.get(hash);
    if (cached && now - cached.fetchedAt <= this.cacheMs) return ok(cached.terminal);
    const terminal = await this.repo.findTerminalByTokenHash(hash);
    if (!terminal) {
      this.cache.delete(hash);
      return err('DEVICE_TOKEN_INVALID', 'Invalid device token.');
    }
    if (this.cacheMs > 0) {
      this.cache.set(hash, { terminal, fetchedAt: now });
      if (this.cache.size > 50_000) this.cache.delete(this.cache.keys().next().value!);
    }
    return ok(terminal);
  }
}
