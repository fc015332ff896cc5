import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** The sandbox's fixed key for webhook signing secrets at rest, so a sandbox needs no setting. It is
 * published (README, "Webhooks"): it protects nothing, and production refuses to start without
 * SECRET_ENCRYPTION_KEY. Base64 of the 32 bytes "cloudpos-sandbox-not-a-secret-!!". */
export const SANDBOX_SECRET_ENCRYPTION_KEY = 'Y2xvdWRwb3Mtc2FuZGJveC1ub3QtYS1zZWNyZXQtISE=';

/** 32 bytes written as 64 hexadecimal digits or as base64; undefined for anything else. */
export function parseEncryptionKey(text: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  return key?.length === 32 ? key : undefined;
}

/** A signing secret as Standard Webhooks writes it: `whsec_` and the base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Signing secrets at rest: AES-256-GCM, a fresh IV each time, bound to the endpoint it belongs
 * to (additional data), so a secret copied to another row does not decrypt. */
export class SecretBox {
  constructor(private readonly key: Buffer) {}

  seal(secret: string, endpointId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(endpointId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string, endpointId: string): string {
    const raw = Buffer.from(sealed.replace(/^v1:/, ''), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12)).setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/** The HMAC key of a signing secret: the bytes its base64 stands for. */
export function signingKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
}

/** `webhook-signature` of Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of
 * `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes; one per secret, space-separated.
 * A secret is given as written (`whsec_…`) or as its key (signingKey). */
export function signatureHeader(secrets: Array<string | Uint8Array>, id: string, timestamp: number, body: string): string {
  return secrets
    .map((secret) => `v1,${createHmac('sha256', typeof secret === 'string' ? signingKey(secret) : secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`)
    .join(' ');
}
