import { type Result, ok, err } from './result.js';

export type TerminalIdParts = { manufacturer: string; model: string; serial: string };

/** Parses `{manufacturer}-{model}-{serial}`: manufacturer before the first `-`, serial after the
 * last `-`, model in between (a model may itself contain `-`). Null unless all three are non-empty. */
export function parseTerminalId(s: string): TerminalIdParts | null {
  const first = s.indexOf('-');
  const last = s.lastIndexOf('-');
  if (first <= 0 || last === first) return null;
  const parts = { manufacturer: s.slice(0, first), model: s.slice(first + 1, last), serial: s.slice(last + 1) };
  return parts.model && parts.serial ? parts : null;
}

export function formatTerminalId(parts: TerminalIdParts): string {
  return `${parts.manufacturer}-${parts.model}-${parts.serial}`;
}

/** The id used to match terminals case-insensitively (store it in a unique column). */
export function terminalKey(parts: TerminalIdParts): string {
  return formatTerminalId(parts).toLowerCase();
}

/** For onboarding: parts that would not read back from their own id are refused, since a `-` in
 * the manufacturer or serial would move the split points. */
export function checkTerminalParts(parts: TerminalIdParts): Result<TerminalIdParts, 'VALIDATION_FAILED'> {
  for (const [name, value] of Object.entries(parts)) {
    if (!value || /[\s/?#%\\]|[\u0000-\u001f\u007f]/.test(value)) {
      return err('VALIDATION_FAILED', `${name} must be non-empty, without spaces, control characters or / ? # % \\`);
    }
  }
  if (parts.manufacturer.includes('-')) return err('VALIDATION_FAILED', 'manufacturer must not contain "-"');
  if (parts.serial.includes('-')) return err('VALIDATION_FAILED', 'serial must not contain "-"');
  return ok({ manufacturer: parts.manufacturer, model: parts.model, serial: parts.serial });
}
