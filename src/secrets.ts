import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** API keys and device tokens: 256 random bits behind a readable prefix. Only the SHA-256 is stored. */
export const API_KEY_PREFIX = 'cpos_key_';
export const DEVICE_TOKEN_PREFIX = 'cpos_dev_';

export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Hashed on every authenticated request: the one-shot `hash` costs a quarter of a Hash object's
 * create, update and digest. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
