import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config.js';
import { ACQUIRER_METHODS, type Acquirer } from './acquirer.js';
import type { ContractCards } from './contract.js';

/** Loads an acquirer connector: an ES module whose default export implements the Acquirer
 * interface, either as an object or as a function (a class or a factory) that makes one. */
export async function loadAcquirer(path: string): Promise<Acquirer> {
  return (await loadConnector(path)).acquirer;
}

/** The connector and, when its module exports them, the cards its test environment decides as the
 * contract checks expect. */
export async function loadConnector(path: string): Promise<{ acquirer: Acquirer; cards: ContractCards | undefined }> {
  let module: { default?: unknown; contractCards?: ContractCards };
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (e) {
    throw new ConfigError(`ACQUIRER_MODULE=${path}: cannot be loaded (${(e as Error).message.split('\n')[0]})`);
  }
  let candidate = module.default;
  if (typeof candidate === 'function') {
    const make = candidate as (new () => unknown) & (() => unknown);
    candidate = /^class\b/.test(Function.prototype.toString.call(make)) ? new make() : await make();
  }
  const missing = ACQUIRER_METHODS.filter((m) => typeof (candidate as Record<string, unknown> | undefined)?.[m] !== 'function');
  if (!candidate || missing.length > 0) {
    throw new ConfigError(`ACQUIRER_MODULE=${path}: its default export does not implement the Acquirer interface (missing ${missing.join(', ')})`);
  }
  return { acquirer: candidate as Acquirer, cards: module.contractCards };
}
