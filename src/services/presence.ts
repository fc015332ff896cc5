/** Writes sightings, with the terminal.online and terminal.offline events they imply (EventRepository). */
export interface PresenceRecorder {
  recordLastSeen(seen: Map<number, number>, now: number, onlineWindowMs: number): Promise<number>;
}

/** When each terminal was last seen, kept in memory and written in batches, so that a poll costs
 * no database write. A terminal holding a long poll counts as seen for as long as it holds it. */
export class TerminalPresence {
  private readonly seen = new Map<number, number>();
  private readonly dirty = new Map<number, number>();
  private readonly holding = new Map<number, number>();

  constructor(
    private readonly repo: PresenceRecorder,
    private readonly now: () => number,
    /** seen within this window counts as online: a few poll intervals */
    readonly onlineWindowMs: number,
    /** told when a flush wrote online/offline events */
    private readonly onEvents: () => void = () => {},
  ) {}

  markSeen(terminalId: number) {
    const at = this.now();
    this.seen.set(terminalId, at);
    this.dirty.set(terminalId, at);
  }

  pollStarted(terminalId: number) {
    this.markSeen(terminalId);
    this.holding.set(terminalId, (this.holding.get(terminalId) ?? 0) + 1);
  }

  pollEnded(terminalId: number) {
    this.markSeen(terminalId);
    const n = (this.holding.get(terminalId) ?? 1) - 1;
    if (n <= 0) this.holding.delete(terminalId);
    else this.holding.set(terminalId, n);
  }

  /** Whether a long poll of the terminal is held on this instance. */
  holdsPoll(terminalId: number): boolean {
    return this.holding.has(terminalId);
  }

  /** The later of what this process saw and what the store says (another instance may have seen it). */
  lastSeen(terminalId: number, stored: number | null): number | null {
    if (this.holding.has(terminalId)) return this.now();
    const mine = this.seen.get(terminalId);
    if (mine === undefined) return stored;
    return stored === null ? mine : Math.max(mine, stored);
  }

  online(terminalId: number, stored: number | null): boolean {
    if (this.holdsPoll(terminalId)) return true;
    const last = this.lastSeen(terminalId, stored);
    return last !== null && this.now() - last <= this.onlineWindowMs;
  }

  /** Writes what changed since the last flush; terminals holding a long poll are refreshed. Also
   * when nothing did: terminals nobody has seen for the window go offline. */
  async flush() {
    for (const id of this.holding.keys()) this.markSeen(id);
    const batch = new Map(this.dirty);
    this.dirty.clear();
    try {
      if ((await this.repo.recordLastSeen(batch, this.now(), this.onlineWindowMs)) > 0) this.onEvents();
    } catch (e) {
      for (const [id, at] of batch) if (!this.dirty.has(id)) this.dirty.set(id, at);
      throw e;
    }
  }
}
