/** Writes sightings, with the terminal.online and terminal.offline events they imply (EventRepository). */
export interface PresenceRecorder {
  /** `seen`: terminals to write as last seen at `seenAt(id)` (may be reordered in place); `held`:
   * terminals to write as seen `now` (may be reordered in place too), a list the caller never
   * changes once given, so that the same list given again may be written from what was made of it
   * the first time. */
  recordLastSeen(seen: number[], seenAt: (id: number) => number, held: number[], now: number, onlineWindowMs: number): Promise<number>;
}

/** When each terminal was last seen, kept in memory and written in batches, so that a poll costs
 * no database write. A terminal holding a long poll counts as seen for as long as it holds it. */
export class TerminalPresence {
  /** When each terminal was last seen: as that time while the next flush is to write it, as the
   * time negated once a flush took it. No map of the terminals to write is built and emptied at
   * each round, nor kept beside this one: with a fleet holding polls, each was a hash table of
   * half a megabyte, outside the young generation. The sign is the mark, so the clock (`now`,
   * epoch milliseconds) must read above 0: a sighting at 0 would count as written already. */
  private readonly seen = new Map<number, number>();
  private readonly holding = new Map<number, number>();
  /** The terminals holding a poll, as a list made again only after a terminal started or stopped
   * holding one: a fleet holding the same polls flush after flush is written from the same list
   * (PresenceRecorder keeps its statements' text), not from a new one each time. */
  private heldList: number[] = [];
  private heldChanged = false;

  constructor(
    private readonly repo: PresenceRecorder,
    private readonly now: () => number,
    /** seen within this window counts as online: a few poll intervals */
    readonly onlineWindowMs: number,
    /** told when a flush wrote online/offline events */
    private readonly onEvents: () => void = () => {},
  ) {}

  markSeen(terminalId: number) {
    this.seen.set(terminalId, this.now());
  }

  pollStarted(terminalId: number) {
    this.markSeen(terminalId);
    const n = this.holding.get(terminalId) ?? 0;
    if (n === 0) this.heldChanged = true;
    this.holding.set(terminalId, n + 1);
  }

  pollEnded(terminalId: number) {
    this.markSeen(terminalId);
    const n = (this.holding.get(terminalId) ?? 1) - 1;
    if (n <= 0) this.heldChanged = this.holding.delete(terminalId) || this.heldChanged;
    else this.holding.set(terminalId, n);
  }

  /** Whether a long poll of the terminal is held on this instance. */
  holdsPoll(terminalId: number): boolean {
    return this.holding.has(terminalId);
  }

  /** The later of what this process saw and what the store says (another instance may have seen it). */
  lastSeen(terminalId: number, stored: number | null): number | null {
    if (this.holding.has(terminalId)) return this.now();
    const at = this.seen.get(terminalId);
    if (at === undefined) return stored;
    const mine = Math.abs(at);
    return stored === null ? mine : Math.max(mine, stored);
  }

  online(terminalId: number, stored: number | null): boolean {
    if (this.holdsPoll(terminalId)) return true;
    const last = this.lastSeen(terminalId, stored);
    return last !== null && this.now() - last <= this.onlineWindowMs;
  }

  /** Writes what changed since the last flush; terminals holding a long poll are refreshed, as
   * seen now. Also when nothing did: terminals nobody has seen for the window go offline. Nothing
   * is allocated per held terminal while the same polls are held (their time is the flush's, their
   * list the last one): a fleet holding polls would otherwise make garbage every five seconds, and
   * V8 lowers the heap's limit only in a process it finds allocating little. */
  async flush() {
    const now = this.now();
    const seen: number[] = [];
    if (this.heldChanged) {
      this.heldList = [...this.holding.keys()];
      this.heldChanged = false;
    }
    const held = this.heldList;
    this.seen.forEach((at, id) => {
      if (at <= 0) return;
      this.seen.set(id, -at);
      if (!this.holding.has(id)) seen.push(id);
    });
    try {
      if ((await this.repo.recordLastSeen(seen, (id) => Math.abs(this.seen.get(id)!), held, now, this.onlineWindowMs)) > 0) this.onEvents();
    } catch (e) {
      // Not written: the next round writes them again.
      for (const ids of [seen, held]) {
        for (const id of ids) {
          const at = this.seen.get(id)!;
          if (at < 0) this.seen.set(id, -at);
        }
      }
      throw e;
    }
  }
}
