import { describe, it, expect } from 'vitest';
import { checkTerminalParts, formatTerminalId, parseTerminalId, terminalKey } from '../../src/domain/terminal-id.js';

describe('parseTerminalId', () => {
  it('splits at the first and last dash', () => {
    expect(parseTerminalId('SUNMI-P2lite-PL0919CQ00305')).toEqual({ manufacturer: 'SUNMI', model: 'P2lite', serial: 'PL0919CQ00305' });
    expect(parseTerminalId('PAX-A920-Pro-X-1234')).toEqual({ manufacturer: 'PAX', model: 'A920-Pro-X', serial: '1234' });
  });
  it('refuses ids without three non-empty parts', () => {
    for (const s of ['', 'SUNMI', 'SUNMI-P2lite', '-P2lite-123', 'SUNMI--123', 'SUNMI-P2lite-', '--', '---', 'A-B']) {
      expect(parseTerminalId(s)).toBeNull();
    }
  });
  it('formats back to the same id and keys case-insensitively', () => {
    const id = 'SUNMI-P2lite-PL0919CQ00305';
    const parts = parseTerminalId(id)!;
    expect(formatTerminalId(parts)).toBe(id);
    expect(terminalKey(parts)).toBe('sunmi-p2lite-pl0919cq00305');
    expect(terminalKey(parseTerminalId('sunmi-P2LITE-pl0919cq00305')!)).toBe(terminalKey(parts));
  });
});

describe('checkTerminalParts', () => {
  it('accepts parts that read back from their id', () => {
    const r = checkTerminalParts({ manufacturer: 'PAX', model: 'A920-Pro', serial: '1' });
    expect(r.ok).toBe(true);
  });
  it('refuses a dash in manufacturer or serial, and empty or odd characters', () => {
    expect(checkTerminalParts({ manufacturer: 'A-B', model: 'M', serial: 'S' }).ok).toBe(false);
    expect(checkTerminalParts({ manufacturer: 'A', model: 'M', serial: 'S-1' }).ok).toBe(false);
    expect(checkTerminalParts({ manufacturer: '', model: 'M', serial: 'S' }).ok).toBe(false);
    expect(checkTerminalParts({ manufacturer: 'A', model: 'M 1', serial: 'S' }).ok).toBe(false);
    expect(checkTerminalParts({ manufacturer: 'A', model: 'M/1', serial: 'S' }).ok).toBe(false);
  });
});
