import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import { SANDBOX_CARDS } from '../acquirer/test-cards.js';
import { ENTRY_MODES, type EntryMode } from './terminal-model.js';

/** What the terminal simulator asks its operator: which card, and how it is presented. */

/** A card expiry a few years ahead, so the default test card never expires. */
export function defaultExpiry(now = new Date()): string {
  return `12/${String((now.getUTCFullYear() + 3) % 100).padStart(2, '0')}`;
}

export const DEFAULT_CARD = SANDBOX_CARDS[0]!;
const ENTRY_WORDS: Record<string, EntryMode> = { '1': 'CONTACTLESS', t: 'CONTACTLESS', tap: 'CONTACTLESS', '2': 'CHIP', i: 'CHIP', insert: 'CHIP', '3': 'SWIPE', s: 'SWIPE', swipe: 'SWIPE' };

export function parseEntryMode(answer: string, fallback: EntryMode): EntryMode | undefined {
  const a = answer.trim().toLowerCase();
  if (a === '') return fallback;
  return ENTRY_WORDS[a] ?? ENTRY_MODES.find((m) => m.toLowerCase() === a);
}

/** The operator's answer to the card prompt: a line number of the list, a card number, or x to cancel. */
export function parseCardAnswer(answer: string): { card: string } | { cancel: true } | undefined {
  const a = answer.trim().toLowerCase();
  if (a === '') return { card: DEFAULT_CARD.number };
  if (a === 'x' || a === 'cancel') return { cancel: true };
  if (/^\d{1,2}$/.test(a)) {
    const c = SANDBOX_CARDS[Number(a) - 1];
    return c ? { card: c.number } : undefined;
  }
  const digits = a.replace(/[\s-]/g, '');
  return /^\d{12,19}$/.test(digits) ? { card: digits } : undefined;
}

export function formatAmount(amount: { value: number; currency: string }): string {
  try {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency: amount.currency }).resolvedOptions().maximumFractionDigits ?? 2;
    return `${amount.value.toFixed(digits)} ${amount.currency}`;
  } catch {
    return `${amount.value} ${amount.currency}`;
  }
}

/** Lines from the operator's input, read one at a time; null once the input ended. */
export class LineReader {
  private readonly lines: string[] = [];
  private readonly waiting: Array<(line: string | null) => void> = [];
  private ended = false;
  private readonly rl: Interface;

  constructor(private readonly input: Readable) {
    this.rl = createInterface({ input, terminal: false });
    this.rl.on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(null);
    });
  }

  read(signal: AbortSignal): Promise<string | null | 'aborted'> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift()!);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      const onLine = (line: string | null) => {
        signal.removeEventListener('abort', onAbort);
        resolve(line);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(onLine);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve('aborted');
      };
      if (signal.aborted) return resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(onLine);
    });
  }

  close() {
    this.rl.close();
    // A paused stdin pipe still holds the event loop open: let go of it, the run is over.
    if (this.input === process.stdin) process.stdin.destroy();
  }
}

