import { randomUUID } from 'node:crypto';
import { currencyDigits } from '../domain/money.js';
import { err, ok, type Result } from '../domain/result.js';
import { isValidTimeZone, RECEIPT_MAX_WIDTH, RECEIPT_MIN_WIDTH } from '../domain/receipt.js';
import type { Terminal } from '../domain/terminal.js';
import { checkTerminalParts, formatTerminalId, parseTerminalId, terminalKey } from '../domain/terminal-id.js';
import { DEVICE_TOKEN_PREFIX, hashSecret, newSecret } from '../secrets.js';
import type { Database } from '../db/database.js';
import { OnboardingRepository } from '../db/onboarding-repository.js';
import { announceAuthChange } from './auth-changes.js';

/** How many customer terminals `rememberedCustomerTerminal` keeps: as many as the device tokens
 * DeviceAuth keeps checked, whose terminals it shares (a key and a map entry each beyond them). */
const REMEMBERED_TERMINALS = 50_000;

/** What the operators ("Customer Care") do when they onboard a customer, and the directory of
 * customers, merchants, stores and terminals the rest of the platform reads. */
export class OnboardingService {
  readonly repo: OnboardingRepository;

  constructor(
    private readonly store: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.repo = new OnboardingRepository(store.db, store.dialect);
  }

  async createCustomer(name: string) {
    if (!name.trim()) return err('VALIDATION_FAILED', '--name must not be empty');
    const { id } = await this.repo.insertCustomer(name.trim(), this.now());
    return ok({ id: Number(id), name: name.trim() });
  }

  async createMerchant(customerId: number, name: string): Promise<Result<{ id: number; customer_id: number; name: string }, 'NOT_FOUND' | 'VALIDATION_FAILED'>> {
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
    return ok({ id: formatTerminalId(parts), pk: Number(id), store_uuid: input.storeUuid, ...parts, device_token: deviceToken });
  }

  /** Issues a new device token (the old one stops working), e.g. when a terminal is replaced. */
  async rotateDeviceToken(terminalId: string) {
    const terminal = await this.terminalById(terminalId);
    if (!terminal) return err('NOT_FOUND', `no terminal ${terminalId}`);
    const deviceToken = newSecret(DEVICE_TOKEN_PREFIX);
    const replaced = await this.store.db.transaction().execute(async (tx) => {
      const old = await this.repo.replaceDeviceToken(terminal.pk, hashSecret(deviceToken), tx, this.store.dialect === 'postgres');
      // Every instance forgets the old token when this commits.
      if (old) await announceAuthChange(tx, this.store.dialect, old);
      return old !== undefined;
    });
    if (!replaced) return err('NOT_FOUND', `no terminal ${terminalId}`);
    return ok({ id: terminal.id, device_token: deviceToken });
  }

  /** Terminals as creations and device tokens found them, by terminal key: at most
   * REMEMBERED_TERMINALS, the oldest forgotten first. */
  private readonly remembered = new Map<string, Terminal>();

  /** The terminal a creation names, if it is the customer's: from memory once found, so that a
   * creation on PostgreSQL is one round trip. Correct without any notification because nothing
   * a creation reads of it ever changes once registered: terminals, stores and merchants are
   * only inserted (a rotation changes the device token alone, which a creation does not read),
   * and only a terminal found is remembered (one registered later is looked up). Its
   * `last_seen_at` is as it was then: callers that show it use `customerTerminal`. A change that
   * updates or deletes a terminal, store or merchant must make every instance drop this (the
   * auth-change notification). */
  async rememberedCustomerTerminal(customerId: number, terminalId: string): Promise<Result<Terminal, 'NOT_FOUND'>> {
    const known = this.remembered.get(terminalId.toLowerCase());
    if (known) return known.customer_id === customerId ? ok(known) : notFound(terminalId);
    const found = await this.customerTerminal(customerId, terminalId);
    if (found.ok) this.remember(found.value);
    return found;
  }

  /** Keeps a terminal read from the store for `rememberedCustomerTerminal`: a terminal whose
   * device token was just checked is the one a payment is most likely pushed to next. */
  remember(terminal: Terminal) {
    const key = terminal.id.toLowerCase();
    // Seen again: it goes to the back of the line.
    if (!this.remembered.delete(key) && this.remembered.size >= REMEMBERED_TERMINALS) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(key, terminal);
  }

  /** The terminal a MerchantAPI path names, if it is the customer's. */
  async customerTerminal(customerId: number, terminalId: string): Promise<Result<Terminal, 'NOT_FOUND'>> {
    const parts = parseTerminalId(terminalId);
    const terminal = parts && (await this.repo.findCustomerTerminal(customerId, terminalKey(parts)));
    return terminal ? ok(terminal) : notFound(terminalId);
  }

  terminalByPk(pk: number) {
    return this.repo.findTerminalById(pk);
  }

  /** Any terminal by its public id, whoever's it is (operators, the sandbox simulator). */
  terminalById(terminalId: string) {
    return this.repo.findTerminalByKey(terminalId.toLowerCase());
  }

  async customerStores(customerId: number, offset: number, limit: number) {
    const [total, rows] = await Promise.all([this.repo.countStores(customerId), this.repo.pageStores(customerId, offset, limit)]);
    const stores = rows.map(({ merchant_id, merchant_name, ...store }) => ({ ...store, receipt_width: Number(store.receipt_width), merchant: { id: Number(merchant_id), name: merchant_name } }));
    return { total, stores };
  }

  async customerTerminals(customerId: number, offset: number, limit: number) {
    const [total, terminals] = await Promise.all([this.repo.countTerminals(customerId), this.repo.pageTerminals(customerId, offset, limit)]);
    return { total, terminals };
  }

  findCustomer(id: number) {
    return this.repo.findCustomer(id);
  }

  listCustomers() {
    return this.repo.listCustomers();
  }

  listMerchants(customerId?: number) {
    return this.repo.listMerchants(customerId);
  }

  listStores(merchantId?: number) {
    return this.repo.listAllStores(merchantId);
  }

  listTerminals(storeUuid?: string) {
    return this.repo.listAllTerminals(storeUuid);
  }
}

const notFound = (terminalId: string) => err('NOT_FOUND', `There is no terminal ${terminalId}.`);
