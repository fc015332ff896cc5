import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import { SANDBOX_CARDS } from '../acquirer/sandbox.js';
import { deviceRoutesOf } from '../device-api/routes.js';
import { err, ok, type Result } from '../domain/result.js';
import type { Terminal } from '../domain/terminal.js';
import { problem } from '../http/problem.js';
import { hashSecret, newSecret } from '../secrets.js';
import { DeviceAuth } from '../services/device-auth.js';
import type { OnboardingService } from '../services/onboarding.js';

/**
 * The terminal screen in the browser, at /simulator, in the sandbox environment only.
 *
 * Token safety: the page never sees a device token (only hashes are stored, so the platform could
 * not hand one out anyway). Choosing a terminal opens a simulator session: a random secret the
 * server keeps only as a SHA-256, bound to that one terminal, expiring after SESSION_IDLE_MS
 * without use, held by the page in memory only. It is accepted solely under
 * /simulator/api/device — the device API's own routes mounted a second time with a session
 * check instead of the token check — never on /device/v1. Sessions live in this process: after a
 * restart the page opens a new one by itself.
 */

const SESSION_IDLE_MS = 30 * 60_000;
const MAX_SESSIONS = 1_000;
const SESSION_PREFIX = 'cpos_sim_';

export class SimulatorSessions {
  private readonly sessions = new Map<string, { terminalPk: number; expiresAt: number }>();

  constructor(private readonly now: () => number) {}

  open(terminalPk: number): { token: string; expires_in_s: number } {
    const now = this.now();
    for (const [hash, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(hash);
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const token = newSecret(SESSION_PREFIX);
    this.sessions.set(hashSecret(token), { terminalPk, expiresAt: now + SESSION_IDLE_MS });
    return { token, expires_in_s: SESSION_IDLE_MS / 1000 };
  }

  /** The terminal behind a live session; every use extends it. */
  terminalOf(token: string): number | undefined {
    const hash = hashSecret(token);
    const s = this.sessions.get(hash);
    const now = this.now();
    if (!s || s.expiresAt <= now) {
      this.sessions.delete(hash);
      return undefined;
    }
    s.expiresAt = now + SESSION_IDLE_MS;
    return s.terminalPk;
  }
}

/** The device API's authentication, by simulator session instead of device token. */
class SessionAuth extends DeviceAuth {
  constructor(
    private readonly sessions: SimulatorSessions,
    private readonly terminals: OnboardingService,
    now: () => number,
  ) {
    super(terminals.repo, now, 0);
  }

  override async authenticate(token: string): Promise<Result<Terminal, 'DEVICE_TOKEN_INVALID'>> {
    const pk = this.sessions.terminalOf(token);
    const terminal = pk === undefined ? undefined : await this.terminals.terminalByPk(pk);
    return terminal ? ok(terminal) : err('DEVICE_TOKEN_INVALID', 'The simulator session is unknown or expired: choose the terminal again.');
  }
}

// The page's files sit in src/simulator/screen/ and are read from there both when running from
// src/ (tests) and from dist/simulator/ (tsc does not copy them): two levels up is the package root.
const SCREEN_DIR = fileURLToPath(new URL('../../src/simulator/screen/', import.meta.url));
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'screen.js': 'text/javascript; charset=utf-8',
  'screen.css': 'text/css; charset=utf-8',
};

const hide = { hide: true } as const;
const TerminalIdParams = Type.Object({ terminalId: Type.String() });

function identifiers(t: Pick<Terminal, 'manufacturer' | 'model' | 'serial'>) {
  return { manufacturer: t.manufacturer, model: t.model, serial: t.serial };
}

/** Registered from app.ts; adds nothing outside the sandbox, so /simulator answers 404 there. */
export const simulatorScreen: FastifyPluginAsyncTypebox = async (app) => {
  const platform = app.platform;
  if (platform.config.CLOUDPOS_ENV !== 'sandbox') return;
  const onboarding = platform.onboarding;
  const sessions = new SimulatorSessions(platform.now);
  const files = new Map<string, Buffer>();
  const asset = (name: string) => {
    let body = files.get(name);
    if (!body) {
      body = readFileSync(SCREEN_DIR + name);
      files.set(name, body);
    }
    return body;
  };
  const findTerminal = (id: string) => onboarding.terminalById(id);

  // Everything under this plugin stays out of the OpenAPI document, the mounted device API included.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });

  const page = async (_request: unknown, reply: FastifyReply) =>
    reply.type(ASSETS['index.html']!).header('cache-control', 'no-store').send(asset('index.html'));
  app.get('/simulator', { schema: hide }, page);
  app.get('/simulator/', { schema: hide }, page);
  for (const name of ['screen.js', 'screen.css']) {
    app.get(`/simulator/${name}`, { schema: hide }, async (_request, reply) => reply.type(ASSETS[name]!).header('cache-control', 'no-cache').send(asset(name)));
  }

  app.get('/simulator/api/terminals', { schema: hide }, async () => {
    const terminals = await onboarding.listTerminals();
    return terminals.map((t) => ({
      id: t.id,
      ...identifiers(t),
      cloud_integration: t.cloud_integration,
      merchant: { name: t.merchant.name },
      store: { uuid: t.store.uuid, name: t.store.name },
      last_seen: t.last_seen_at === null ? null : new Date(t.last_seen_at).toISOString(),
    }));
  });

  app.get('/simulator/api/cards', { schema: hide }, async () =>
    SANDBOX_CARDS.map((c) => ({ number: c.number, brand: c.brand, outcome: c.outcome, description: c.description })),
  );

  app.get('/simulator/api/terminals/:terminalId/qr.svg', { schema: { ...hide, params: TerminalIdParams } }, async (request, reply) => {
    const t = await findTerminal(request.params.terminalId);
    if (!t) throw problem('NOT_FOUND', `There is no terminal ${request.params.terminalId}.`);
    const svg = await QRCode.toString(JSON.stringify(identifiers(t)), { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return reply.type('image/svg+xml').header('cache-control', 'no-cache').send(svg);
  });

  app.post(
    '/simulator/api/sessions',
    { schema: { ...hide, body: Type.Object({ terminal: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const t = await findTerminal(request.body.terminal);
      if (!t) throw problem('NOT_FOUND', `There is no terminal ${request.body.terminal}.`);
      const session = sessions.open(t.pk);
      return reply.code(201).header('cache-control', 'no-store').send({ ...session, terminal: { id: t.id, ...identifiers(t) } });
    },
  );

  await app.register(deviceRoutesOf(platform, new SessionAuth(sessions, onboarding, platform.now)), { prefix: '/simulator/api/device' });
};

export default simulatorScreen;
