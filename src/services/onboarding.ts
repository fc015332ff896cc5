import { randomUUID } from 'node:crypto';
import { currencyDigits } from '../domain/money.js';
import { err, ok, type Result } from '../domain/result.js';
import { formatTerminalId, terminalKey } from '../domain/terminal-id.js';
import { DEVICE_TOKEN_PREFIX, hashSecret, newSecret } from '../secrets.js';
import type { Store } from '../store/database.js';
import { OnboardingRepository } from '../store/onboarding-repository.js';

export type OnboardingError = 'NOT_FOUND' | 'VALIDATION_FAILED' | 'CONFLICT';

export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** What the operators ("Customer Care") do when they onboard a customer. */
export class OnboardingService {
  readonly repo: OnboardingRepository;

  constructor(
    store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.repo = new OnboardingRepository(store.db);
  }

  async createCustomer(name: string) {
    if (!name.trim()) return err('VALIDATION_FAILED', '--name must not be empty');
    const { id } = await this.repo.insertCustomer(name.trim(), this.now());
    return ok({ id: Number(id), name: name.trim() });
  }

  async createMerchant(customerId: number, name: string): Promise<Result<{ id: number; customer_id: number; name: string }, OnboardingError>> {
    if (!name.trim()) return err('VALIDATION_FAILED', '--name must not be empty');
    if (!(await this.repo.findCustomer(customerId))) return err('NOT_FOUND', `no customer ${customerId}`);
    const { id } = await this.repo.insertMerchant(customerId, name.trim(), this.now());
    return ok({ id: Number(id), customer_id: customerId, name: name.trim() });
  }

  async createStore(input: {
    merchantId: number;
    name: string;
    address?: string;
    timezone?: string;
    currency?: string;
    receiptWidth?: number;
  }) {
    const timezone = input.timezone ?? 'Europe/Amsterdam';
    const currency = (input.currency ?? 'EUR').toUpperCase();
    const receiptWidth = input.receiptWidth ?? 24;
    if (!input.name.trim()) return err('VALIDATION_FAILED', '--name must not be empty');
    if (!validTimezone(timezone)) return err('VALIDATION_FAILED', `unknown timezone ${timezone} (use an IANA name such as Europe/Amsterdam)`);
    if (currencyDigits(currency) === undefined) return err('VALIDATION_FAILED', `unknown currency ${currency} (use an ISO 4217 code such as EUR)`);
    if (!Number.isInteger(receiptWidth) || receiptWidth < 24 || receiptWidth > 48) {
      return err('VALIDATION_FAILED', '--receipt-width must be a whole number from 24 to 48');
    }
    if (!(await this.repo.findMerchant(input.merchantId))) return err('NOT_FOUND', `no merchant ${input.merchantId}`);
    const store = {
      uuid: randomUUID(),
      merchant_id: input.merchantId,
      name: input.name.trim(),
      address: input.address ?? '',
      timezone,
      currency,
      receipt_width: receiptWidth,
      created_at: this.now(),
    };
    await this.repo.insertStore(store);
    return ok(store);
  }

  async registerTerminal(input: { storeUuid: string; manufacturer: string; model: string; serial: string }) {
    const parts = { manufacturer: input.manufacturer.trim(), model: input.model.trim(), serial: input.serial.trim() };
    const ident = /^[A-Za-z0-9_.]+$/;
    if (!ident.test(parts.manufacturer) || !ident.test(parts.serial)) {
      return err('VALIDATION_FAILED', 'manufacturer and serial take letters, digits, "_" and "." (no "-": it separates the parts of a terminal id)');
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(parts.model) || parts.model.startsWith('-') || parts.model.endsWith('-')) {
      return err('VALIDATION_FAILED', 'model takes letters, digits, "_", "." and inner "-"');
    }
    if (!(await this.repo.findStore(input.storeUuid))) return err('NOT_FOUND', `no store ${input.storeUuid}`);
    const key = terminalKey(parts);
    if (await this.repo.findTerminalByKey(key)) return err('CONFLICT', `terminal ${formatTerminalId(parts)} is already registered`);
    const deviceToken = newSecret(DEVICE_TOKEN_PREFIX);
    const { id } = await this.repo.insertTerminal({
      store_uuid: input.storeUuid,
      ...parts,
      terminal_key: key,
      device_token_hash: hashSecret(deviceToken),
      created_at: this.now(),
    });
    return ok({ id: formatTerminalId(parts), internal_id: Number(id), store_uuid: input.storeUuid, ...parts, device_token: deviceToken });
  }

  /** Issues a new device token (the old one stops working), e.g. when a terminal is replaced. */
  async rotateDeviceToken(terminalIdString: string) {
    const terminal = await this.repo.findTerminalByKey(terminalIdString.toLowerCase());
    if (!terminal) return err('NOT_FOUND', `no terminal ${terminalIdString}`);
    const deviceToken = newSecret(DEVICE_TOKEN_PREFIX);
    await this.repo.updateTerminal(Number(terminal.id), { device_token_hash: hashSecret(deviceToken) });
    return ok({ id: formatTerminalId(terminal), device_token: deviceToken });
  }
}
