import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { parseEncryptionKey } from './webhooks/secrets.js';
import { DATABASE_SCHEMES, maskPassword } from './db/url.js';
import { EXIT, ExitError } from './exit-codes.js';

export const DEFAULT_DATABASE_URL = 'sqlite:./data/cloudpos.sqlite';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Environment → typed, validated configuration. A bad setting stops the process with a clear message. */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  /** Serves /metrics on this port alone (on HOST), and then not on PORT. */
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.String({ pattern: '^(sqlite:|postgres(ql)?://)', default: DEFAULT_DATABASE_URL }),
  /** A direct PostgreSQL connection for LISTEN, when DATABASE_URL leads through a pooler in
   * transaction mode (PgBouncer), where a session's LISTEN would not last. Unset: DATABASE_URL. */
  DATABASE_LISTEN_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  /** PostgreSQL: the most connections this instance holds at once (LISTEN's own not counted). Every
   * instance holds up to this many: the sum stays under the server's max_connections. */
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 1_000, default: 10 }),
  /** PostgreSQL: each connection prepares the platform's fixed queries once, under a name. Behind
   * PgBouncer in transaction mode that needs max_prepared_statements > 0 (PgBouncer 1.21+); set
   * false behind a pooler that cannot keep them. */
  PG_PREPARED_STATEMENTS: Type.Boolean({ default: true }),
  /** Unset: `warn` in the sandbox (no line per request under the first-run banner), `info` in production. */
  LOG_LEVEL: Type.Optional(Type.Enum(LOG_LEVELS)),
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
  /** Webhook endpoints a customer may have at once: each event is written and sent once per endpoint. */
  WEBHOOK_MAX_ENDPOINTS: Type.Integer({ minimum: 1, maximum: 1_000, default: 16 }),
  /** Events, deliveries and attempts are kept this long (at least 30 days). */
  EVENT_RETENTION_DAYS: Type.Integer({ minimum: 30, maximum: 3_650, default: 30 }),
});

export type Config = Omit<Static<typeof ConfigSchema>, 'LOG_LEVEL'> & { LOG_LEVEL: (typeof LOG_LEVELS)[number] };

/** A setting the process cannot start with: one line per setting, exit code 78. */
export class ConfigError extends ExitError {
  constructor(message: string) {
    super(message, EXIT.CONFIG);
    this.name = 'ConfigError';
  }
}

type PropertySchema = { type?: string; enum?: readonly string[]; minimum?: number; maximum?: number; pattern?: string };

/** What a setting must be, in words (never a regular expression). */
function expectation(key: string, value: string): string {
  const schema = (ConfigSchema.properties as Record<string, PropertySchema>)[key] ?? {};
  if (key === 'DATABASE_URL') {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1];
    return `${scheme ? `the ${scheme}: scheme is not supported` : 'not a database URL'}; use ${DATABASE_SCHEMES}`;
  }
  if (key === 'PUBLIC_URL') return 'must be the http(s) address clients reach this platform at, such as https://pay.example.com (no query, no fragment)';
  if (schema.enum) return `must be one of ${schema.enum.join(', ')}`;
  if (schema.type === 'boolean') return 'must be true or false';
  if (schema.type === 'integer') {
    const { minimum: min, maximum: max } = schema;
    return `must be a whole number${min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : ''}`;
  }
  return 'must not be empty';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  // Value.Convert turns "80.5" into the integer 80: whole numbers are checked before conversion.
  const bad = new Set(
    Object.entries(ConfigSchema.properties)
      .filter(([key, schema]) => (schema as PropertySchema).type === 'integer' && typeof raw[key] === 'string' && !/^-?\d+$/.test((raw[key] as string).trim()))
      .map(([key]) => key),
  );
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw));
  for (const e of Value.Errors(ConfigSchema, converted)) bad.add(e.instancePath.replace(/^\//, '').split('/')[0]!);
  if (bad.size > 0) {
    // One line per bad setting, naming it and what it must be; a URL's password is never echoed.
    const lines = [...bad].map((key) => `${key}=${JSON.stringify(maskPassword(env[key] ?? ''))}: ${expectation(key, env[key] ?? '')}`);
    throw new ConfigError(lines.join('\n'));
  }
  const config = converted as Config;
  config.LOG_LEVEL ??= config.CLOUDPOS_ENV === 'sandbox' ? 'warn' : 'info';
  if (config.CLOUDPOS_ENV === 'production') {
    // Never the defaults: a production deployment says where its data lives and where it is reached.
    for (const key of ['DATABASE_URL', 'PUBLIC_URL', 'SECRET_ENCRYPTION_KEY']) {
      if (!env[key]) throw new ConfigError(`${key} must be set when CLOUDPOS_ENV=production`);
    }
  }
  if ((config.TLS_CERT_FILE === undefined) !== (config.TLS_KEY_FILE === undefined)) {
    throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  }
  if (config.SECRET_ENCRYPTION_KEY !== undefined && !parseEncryptionKey(config.SECRET_ENCRYPTION_KEY)) {
    throw new ConfigError('SECRET_ENCRYPTION_KEY: must be 32 bytes, written as 64 hex digits or in base64 (openssl rand -base64 32)');
  }
  if (config.PUBLIC_URL !== undefined) config.PUBLIC_URL = config.PUBLIC_URL.replace(/\/+$/, '');
  return config;
}
