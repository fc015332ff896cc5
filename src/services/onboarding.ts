import { randomUUID } from 'node:crypto';
import { currencyDigits } from '../domain/money.js';
import { err, ok, type Result } from '../domain/result.js';
import { isValidTimeZone, RECEIPT_MAX_WIDTH, RECEIPT_MIN_WIDTH } from '../domain/receipt.js';
import { checkTerminalParts, formatTerminalId, terminalKey } from '../domain/terminal-id.js';
import { DEVICE_TOKEN_PREFIX, hashSecret, newSecret } from '../secrets.js';
import type { Store } from '../store/database.js';
import { OnboardingRepository } from '../store/onboarding-repository.js';

export type OnboardingError = 'NOT_FOUND' | 'VALIDATION_FAILED' | 'CONFLICT';

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
    const receiptWidth = input.receiptWidth ?? RECEIPT_MIN_WIDTH;
    if (!input.name.trim()) return err('VALIDATION_FAILED', '--name must not be empty');
    if (!isValidTimeZone(timezone)) return err('VALIDATION_FAILED', `unknown timezone ${timezone} (use an IANA name such as Europe/Amsterdam)`);
    if (currencyDigits(currency) === undefined) return err('VALIDATION_FAILED', `unknown currency ${currency} (use an ISO 4217 code such as EUR)`);
    if (!Number.isInteger(receiptWidth) || receiptWidth < RECEIPT_MIN_WIDTH || receiptWidth > RECEIPT_MAX_WIDTH) {
      return err('VALIDATION_FAILED', `--receipt-width must be a whole number from ${RECEIPT_MIN_WIDTH} to ${RECEIPT_MAX_WIDTH}`);
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
    const checked = checkTerminalParts({ manufacturer: input.manufacturer.trim(), model: input.model.trim(), serial: input.serial.trim() });
    if (!checked.ok) return err('VALIDATION_FAILED', checked.detail);
    const parts = checked.value;
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
