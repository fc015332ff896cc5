import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import { EMV_APPLICATIONS, SANDBOX_CARDS } from '../acquirer/test-cards.js';
import { deviceRoutesOf } from '../device-api/routes.js';
import type { Terminal } from '../domain/terminal.js';
import { problem, unwrap } from '../http/problem.js';
import { packageRoot } from '../package-root.js';
import { installApiKeyAuth } from '../merchant-api/auth.js';
import { SessionAuth, SimulatorSessions } from './sessions.js';

/**
 * The terminal screen in the browser, at /simulator, in the sandbox environment only.
 *
 * Who sees what: every /simulator/api/* call carries a customer's `API-Key` (401 missing, 403
 * invalid, as the MerchantAPI) and sees only that customer's terminals; another customer's answers
 * 404. The page (index.html) is public; it reads the key from the URL fragment, which browsers never
 * send, and keeps it in the tab's sessionStorage.
 *
 * Token safety: the page never sees a device token (only hashes are stored, so the platform could
 * not hand one out anyway). Choosing a terminal opens a simulator session (sessions.ts) for the
 * key's customer and that one terminal. It is accepted solely under /simulator/api/device — the
 * device API's own routes mounted a second time with a session check instead of the token check,
 * and the API key beside it — never on /device/v1.
 */

// The page's files sit in src/simulator/screen/ and are read from there whether the server runs
// from src/ (tests), dist/ or the bundle: neither build copies them.
const SCREEN_DIR = join(packageRoot(), 'src/simulator/screen/');
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'screen.js': 'text/javascript; charset=utf-8',
  'screen.css': 'text/css; charset=utf-8',
  'platform.js': 'text/javascript; charset=utf-8',
  'payment-app.js': 'text/javascript; charset=utf-8',
  'views.js': 'text/javascript; charset=utf-8',
};

const hide = { hide: true } as const;
/** The picker lists at most this many of a customer's terminals (a fleet is driven by `terminal run`). */
const MAX_LISTED = 500;
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

  // Everything under this plugin stays out of the OpenAPI document, the mounted device API included.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });

  const page = async (_request: unknown, reply: FastifyReply) =>
    reply.type(ASSETS['index.html']!).header('cache-control', 'no-store').send(asset('index.html'));
  app.get('/simulator', { schema: hide }, page);
  app.get('/simulator/', { schema: hide }, page);
  for (const name of Object.keys(ASSETS).filter((n) => n !== 'index.html')) {
    app.get(`/simulator/${name}`, { schema: hide }, async (_request, reply) => reply.type(ASSETS[name]!).header('cache-control', 'no-cache').send(asset(name)));
  }

  await app.register(
    async (scope) => {
      const api = scope.withTypeProvider<TypeBoxTypeProvider>();
      // The customer's key on every call, as the MerchantAPI checks it (401 missing, 403 invalid).
      installApiKeyAuth(api, platform.apiKeys);
      api.addHook('onRequest', async (request) => {
        if (!request.url.startsWith('/simulator/api/device/')) return;
        // A session is its customer's: presented with another customer's key, it is refused.
        const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
        const session = token === undefined ? undefined : sessions.find(token);
        if (session && session.customerId !== request.caller.customerId) {
          throw problem('DEVICE_TOKEN_INVALID', 'This simulator session was opened with another customer\'s API key.');
        }
      });
      const customerTerminal = async (customerId: number, id: string) => unwrap(await onboarding.customerTerminal(customerId, id));

      api.get('/terminals', { schema: hide }, async (request, reply) => {
        const { total, terminals } = await onboarding.customerTerminals(request.caller.customerId, 0, MAX_LISTED);
        reply.header('x-total-count', String(total));
        return terminals.map((t) => ({
          id: t.id,
          ...identifiers(t),
          cloud_integration: t.cloud_integration,
          merchant: { name: t.merchant.name },
          store: { uuid: t.store.uuid, name: t.store.name },
          last_seen: t.last_seen_at === null ? null : new Date(t.last_seen_at).toISOString(),
        }));
      });

      // What the page's own payment app needs to decide like the sandbox acquirer (test-cards.ts).
      api.get('/cards', { schema: hide }, async () =>
        SANDBOX_CARDS.map((c) => ({
          number: c.number,
          last4: c.number.slice(-4),
          brand: c.brand,
          outcome: c.outcome,
          ...(c.decline_reason && { decline_reason: c.decline_reason }),
          slow: c.behaviour === 'SLOW_APPROVE',
          emv: EMV_APPLICATIONS[c.brand] ?? null,
          description: c.description,
        })),
      );

      api.get('/terminals/:terminalId/qr.svg', { schema: { ...hide, params: TerminalIdParams } }, async (request, reply) => {
        const t = await customerTerminal(request.caller.customerId, request.params.terminalId);
        const svg = await QRCode.toString(JSON.stringify(identifiers(t)), { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
        return reply.type('image/svg+xml').header('cache-control', 'no-cache').send(svg);
      });

      api.post(
        '/sessions',
        { schema: { ...hide, body: Type.Object({ terminal: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }) } },
        async (request, reply) => {
          const t = await customerTerminal(request.caller.customerId, request.body.terminal);
          const session = sessions.open(request.caller.customerId, t.pk);
          return reply.code(201).header('cache-control', 'no-store').send({ ...session, terminal: { id: t.id, ...identifiers(t) } });
        },
      );

      await api.register(deviceRoutesOf(platform, new SessionAuth(sessions, onboarding, platform.now)), { prefix: '/device' });
    },
    { prefix: '/simulator/api' },
  );
};

export default simulatorScreen;
