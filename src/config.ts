import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { parseEncryptionKey } from './webhooks/secrets.js';

/** Environment → typed, validated configuration. A bad setting stops the process with a clear message. */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  /** Serves /metrics on this port alone (on HOST), and then not on PORT. */
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.String({ pattern: '^(sqlite:|postgres(ql)?://)', default: 'sqlite:./data/cloudpos.sqlite' }),
  /** A direct PostgreSQL connection for LISTEN, when DATABASE_URL leads through a pooler in
   * transaction mode (PgBouncer), where a session's LISTEN would not last. Unset: DATABASE_URL. */
  DATABASE_LISTEN_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  /** PostgreSQL: each connection prepares the platform's fixed queries once, under a name. Behind
   * PgBouncer in transaction mode that needs max_prepared_statements > 0 (PgBouncer 1.21+); set
   * false behind a pooler that cannot keep them. */
  PG_PREPARED_STATEMENTS: Type.Boolean({ default: true }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  /** `sandbox` onboards a demo on first run, serves /simulator and uses the sandbox acquirer. */
  CLOUDPOS_ENV: Type.Enum(['sandbox', 'production'], { default: 'sandbox' }),
  /** Honour X-Forwarded-* (Link headers, client address) only behind a proxy we trust. */
  TRUST_PROXY: Type.Boolean({ default: false }),
  TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 64 * 1024 }),
  /** The longest a checked API key or device token is answered from memory before the store is asked
   * again: a safety net only, since a revocation or rotation reaches every instance's memory by
   * notification at once. 0 asks the store on every request. */
  AUTH_CACHE_MS: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 600_000 }),
  /** An unfetched transaction expires after this long. */
  TRANSACTION_EXPIRY_MS: Type.Integer({ minimum: 1_000, default: 5 * 60_000 }),
  POLL_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2_000 }),
  LONG_POLL_MAX_S: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
  ACQUIRER_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  SANDBOX_SLOW_MS: Type.Integer({ minimum: 0, default: 3_000 }),
  /** An acquirer connector: an ES module whose default export implements the Acquirer interface. */
  ACQUIRER_MODULE: Type.Optional(Type.String({ minLength: 1 })),
  /** Upper bound of one transaction's amount, in minor units of its currency. */
  MAX_AMOUNT_MINOR: Type.Integer({ minimum: 1, default: 100_000_000 }),
  /** The base of every absolute URL the platform writes (Link, Location); required in production. */
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$' })),
  /** A request not received whole by then is answered 408 and its connection closed. */
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 30_000 }),
  /** On SIGTERM/SIGINT, the process exits by then whatever the clients do. */
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  /** Requests per minute per API key and per device token; past them, 429. */
  RATE_LIMIT_API_KEY_PER_MIN: Type.Integer({ minimum: 1, default: 6_000 }),
  RATE_LIMIT_DEVICE_PER_MIN: Type.Integer({ minimum: 1, default: 600 }),
  /** Encrypts webhook signing secrets at rest (AES-256-GCM): 32 bytes as 64 hex digits or base64.
   * Required in production; the sandbox uses a fixed, published key when it is unset. */
  SECRET_ENCRYPTION_KEY: Type.Optional(Type.String({ minLength: 1 })),
  /** Production refuses webhook URLs whose host resolves to a loopback, private or link-local
   * address, and never connects to one; true allows them (a receiver inside your own network). */
  WEBHOOK_ALLOW_PRIVATE: Type.Boolean({ default: false }),
  /** The waits between a failed delivery and its retries; after the last one it is FAILED. */
  WEBHOOK_RETRY_SCHEDULE: Type.String({ pattern: '^\\s*\\d+(ms|s|m|h)\\s*(,\\s*\\d+(ms|s|m|h)\\s*)*$', default: '5s,5m,30m,2h,5h,10h,10h' }),
  /** Deliveries this instance sends at once, at most: slow receivers wait their turn, the API does not. */
  WEBHOOK_MAX_IN_FLIGHT: Type.Integer({ minimum: 1, maximum: 10_000, default: 64 }),
  /** Events, deliveries and attempts are kept this long (at least 30 days). */
  EVENT_RETENTION_DAYS: Type.Integer({ minimum: 30, maximum: 3_650, default: 30 }),
});

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  // Value.Convert turns "80.5" into the integer 80: whole numbers are checked before conversion.
  const notWhole = Object.entries(ConfigSchema.properties)
    .filter(([key, schema]) => (schema as { type?: string }).type === 'integer' && typeof raw[key] === 'string' && !/^-?\d+$/.test((raw[key] as string).trim()))
    .map(([key]) => key);
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw));
  const errors = [...Value.Errors(ConfigSchema, converted)];
  if (errors.length > 0 || notWhole.length > 0) {
    const lines = notWhole.map((key) => `  ${key}=${JSON.stringify(env[key] ?? '')}: must be a whole number`);
    for (const e of errors) {
      const key = e.instancePath.replace(/^\//, '') || String((e.params as { requiredProperties?: string[] }).requiredProperties ?? '');
      if (!notWhole.includes(key)) lines.push(`  ${key}=${JSON.stringify(env[key] ?? '')}: ${e.message}`);
    }
    throw new ConfigError(`invalid configuration:\n${[...new Set(lines)].join('\n')}`);
  }
  const config = converted as Config;
  if (config.CLOUDPOS_ENV === 'production') {
    // Never the defaults: a production deployment says where its data lives and where it is reached.
    for (const key of ['DATABASE_URL', 'PUBLIC_URL', 'SECRET_ENCRYPTION_KEY']) {
      if (!env[key]) throw new ConfigError(`${key} must be set when CLOUDPOS_ENV=production`);
    }
  }
  if ((config.TLS_CERT_FILE === undefined) !== (config.TLS_KEY_FILE === undefined)) {
    throw new ConfigError('invalid configuration:\n  TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  }
  if (config.CLOUDPOS_ENV === 'production' && config.PUBLIC_URL === undefined) {
    throw new ConfigError('invalid configuration:\n  PUBLIC_URL="": required when CLOUDPOS_ENV=production (the base of the URLs in Link and Location headers)');
  }
  if (config.SECRET_ENCRYPTION_KEY !== undefined && !parseEncryptionKey(config.SECRET_ENCRYPTION_KEY)) {
    throw new ConfigError('invalid configuration:\n  SECRET_ENCRYPTION_KEY: must be 32 bytes, written as 64 hex digits or in base64 (openssl rand -base64 32)');
  }
  if (config.PUBLIC_URL !== undefined) config.PUBLIC_URL = config.PUBLIC_URL.replace(/\/+$/, '');
  return config;
}
