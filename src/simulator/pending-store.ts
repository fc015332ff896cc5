import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PendingRecord } from './terminal-model.js';

export const DEFAULT_STATE_DIR = join(tmpdir(), 'cloudpos-terminal');

/**
 * A card result the terminal could not report, kept on disk: one small JSON file per terminal.
 *
 * Why the full card number is not in it: the device API needs the number to report a card, so the
 * simulator keeps the whole report (number included) in memory and sends it again until the
 * platform answers — reporting twice is harmless, the platform answers the outcome it recorded.
 * The file holds only what is safe (transaction id, amount, entry mode, last four digits): a
 * terminal restarted after a crash asks the platform how that transaction ended and, if the card
 * never reached it, shows the payment again so the card is presented again, as a real terminal
 * that lost its memory would.
 */
export class PendingStore {
  constructor(readonly dir: string = DEFAULT_STATE_DIR) {}

  fileOf(terminalId: string): string {
    return join(this.dir, `pending-${terminalId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }

  load(terminalId: string): PendingRecord | undefined {
    try {
      const record = JSON.parse(readFileSync(this.fileOf(terminalId), 'utf8')) as PendingRecord;
      return record.version === 1 && record.terminal_id === terminalId ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes atomically (temporary file, then rename), readable by the owner only. */
  save(record: PendingRecord): void {
    if (!/^\d{4}$/.test(record.card_last4)) throw new Error('a pending record carries the last four digits only');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileOf(record.terminal_id);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  }

  clear(terminalId: string, transactionId: string): void {
    const current = this.load(terminalId);
    if (current && current.transaction_id !== transactionId) return;
    rmSync(this.fileOf(terminalId), { force: true });
  }
}
