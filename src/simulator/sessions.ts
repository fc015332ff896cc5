import { err, ok, type Result } from '../domain/result.js';
import type { Terminal } from '../domain/terminal.js';
import { hashSecret, newSecret } from '../secrets.js';
import { DeviceAuth } from '../services/device-auth.js';
import type { OnboardingService } from '../services/onboarding.js';

/**
 * Simulator sessions: what lets the browser screen (or `terminal run` without a device token) act
 * as one terminal of the sandbox. A session is a random secret the server keeps only as a SHA-256,
 * bound to one customer (the API key that opened it) and one of that customer's terminals. It
 * expires after SESSION_IDLE_MS without use and SESSION_MAX_MS after it was opened, whichever
 * comes first. A customer holds at most MAX_SESSIONS_PER_CUSTOMER: opening one more ends that
 * customer's oldest, never another customer's. Sessions live in this process: after a restart the
 * page opens a new one by itself.
 */

export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 12 * 3_600_000;
export const MAX_SESSIONS_PER_CUSTOMER = 20;
const SESSION_PREFIX = 'cpos_sim_';
const SWEEP_EVERY_MS = 60_000;

export interface SimulatorSession {
  customerId: number;
  terminalPk: number;
  /** idle deadline, moved by every use */
  expiresAt: number;
  /** hard deadline */
  endsAt: number;
}

export class SimulatorSessions {
  /** by token hash; a Map keeps insertion order, so each customer's list below is oldest first */
  private readonly sessions = new Map<string, SimulatorSession>();
  private readonly byCustomer = new Map<number, string[]>();
  private lastSweep = 0;

  constructor(private readonly now: () => number) {}

  open(customerId: number, terminalPk: number): { token: string; expires_in_s: number } {
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    const own = (this.byCustomer.get(customerId) ?? []).filter((hash) => this.live(hash, now));
    while (own.length >= MAX_SESSIONS_PER_CUSTOMER) this.sessions.delete(own.shift()!);
    const token = newSecret(SESSION_PREFIX);
    const hash = hashSecret(token);
    this.sessions.set(hash, { customerId, terminalPk, expiresAt: now + SESSION_IDLE_MS, endsAt: now + SESSION_MAX_MS });
    own.push(hash);
    this.byCustomer.set(customerId, own);
    return { token, expires_in_s: SESSION_IDLE_MS / 1000 };
  }

  /** The live session behind a token, without extending it. */
  find(token: string): SimulatorSession | undefined {
    const hash = hashSecret(token);
    return this.live(hash, this.now()) ? this.sessions.get(hash) : undefined;
  }

  /** The live session behind a token; every use extends it up to its hard deadline. */
  use(token: string): SimulatorSession | undefined {
    const s = this.find(token);
    if (s) s.expiresAt = Math.min(s.endsAt, this.now() + SESSION_IDLE_MS);
    return s;
  }

  /** How many live sessions a customer holds. */
  countOf(customerId: number): number {
    const now = this.now();
    return (this.byCustomer.get(customerId) ?? []).filter((hash) => this.live(hash, now)).length;
  }

  private live(hash: string, now: number): boolean {
    const s = this.sessions.get(hash);
    if (!s) return false;
    if (s.expiresAt > now && s.endsAt > now) return true;
    this.sessions.delete(hash);
    return false;
  }

  private sweep(now: number) {
    this.lastSweep = now;
    for (const [customerId, hashes] of this.byCustomer) {
      const live = hashes.filter((hash) => this.live(hash, now));
      if (live.length === 0) this.byCustomer.delete(customerId);
      else this.byCustomer.set(customerId, live);
    }
  }
}

/** The device API's authentication, by simulator session instead of device token; the session's
 * customer is checked against the request's API key before this runs (screen-routes.ts). */
export class SessionAuth extends DeviceAuth {
  constructor(
    private readonly sessions: SimulatorSessions,
    private readonly terminals: OnboardingService,
    now: () => number,
  ) {
    super(terminals.repo, now, 0);
  }

  /** A session is checked on every request (it may have ended): nothing is answered from memory. */
  override remembered(): undefined {
    return undefined;
  }

  override async authenticate(token: string): Promise<Result<Terminal, 'DEVICE_TOKEN_INVALID'>> {
    const s = this.sessions.use(token);
    const terminal = s && (await this.terminals.terminalByPk(s.terminalPk));
    return terminal && terminal.customer_id === s.customerId
      ? ok(terminal)
      : err('DEVICE_TOKEN_INVALID', 'The simulator session is unknown or expired: choose the terminal again.');
  }
}
