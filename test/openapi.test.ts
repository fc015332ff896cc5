import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { isProblem, merchantApi } from './support/http.js';
import { onboard, usePlatform } from './support/platform.js';

const ROOT = resolve(import.meta.dirname, '..');

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location?: Array<{ pointer?: string }>;
}

type Doc = {
  openapi: string;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, Record<string, unknown>> };
  security?: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, { operationId?: string; security?: Array<Record<string, string[]>>; parameters?: Array<{ in: string; name: string }>; requestBody?: unknown; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }>; headers?: Record<string, unknown> }> }>>;
};

const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));

describe('the OpenAPI document', () => {
  const ctx = usePlatform('sqlite', { env: { BODY_LIMIT_BYTES: '1024' } });
  const fetchDoc = async (): Promise<Doc> => {
    const res = await merchantApi(ctx().app)('GET', '/openapi.json');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    return res.json();
  };

  it('is OpenAPI 3.1 with named components and the API-Key security scheme', async () => {
    const doc = await fetchDoc();
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['ProblemDetails', 'Store', 'Terminal', 'ApiKeyOverview']));
    expect(doc.components.securitySchemes.ApiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'API-Key' });
    expect(doc.security).toEqual([{ ApiKey: [] }]);
  });

  it('documents lists and errors the way they are sent', async () => {
    const doc = await fetchDoc();
    const ids = new Set<string>();
    for (const { key, op } of operations(doc)) {
      expect(op.operationId, `${key} has no operationId`).toBeTruthy();
      expect(ids.has(op.operationId!), `operationId ${op.operationId} is not unique`).toBe(false);
      ids.add(op.operationId!);
      const secured = (op.security ?? doc.security ?? []).some((r) => 'ApiKey' in r);
      if (secured) {
        for (const status of ['401', '403']) {
          const response = op.responses[status];
          expect(response, `${key} does not document ${status}`).toBeDefined();
          // errors leave as application/problem+json and the document says so, by reference
          expect(response!.content?.['application/problem+json']?.schema?.$ref, `${key} ${status}`).toBe('#/components/schemas/ProblemDetails');
        }
      }
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      if (query.includes('page')) {
        expect(query, key).toContain('size');
        expect(Object.keys(op.responses['200']?.headers ?? {}), key).toEqual(expect.arrayContaining(['X-Total-Count', 'Link']));
      }
    }
    expect([...ids]).toEqual(expect.arrayContaining(['listStores', 'listTerminals', 'listApiKeys', 'createApiKey', 'revokeApiKey']));
  });

  it('documents every problem a request can get, and the server gives none it does not document', async () => {
    const doc = await fetchDoc();
    const app = ctx().app;
    const c = await onboard(app);
    const PARAMS: Record<string, string> = { terminalId: c.terminals[0]!.id, transactionId: '1234567890123456789012345678901', id: '987654321' };
    const undocumented: string[] = [];
    for (const { key, op } of operations(doc)) {
      const [method, path] = key.split(' ') as [string, string];
      const security = op.security ?? doc.security ?? [];
      const device = security.some((r) => 'DeviceToken' in r);
      const secured = device || security.some((r) => 'ApiKey' in r);
      const takesBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
      // any request: Node's and the input guard's 400, the request timeout, headers too large;
      // a body: too large, not JSON; a credential: missing, refused, over the rate limit
      const expected = ['400', '408', '431', ...(takesBody ? ['413', '415'] : []), ...(secured ? ['401', '403', '429'] : [])];
      for (const status of expected) {
        expect(op.responses[status]?.content?.['application/problem+json']?.schema?.$ref, `${key} does not document ${status}`).toBe('#/components/schemas/ProblemDetails');
      }
      // What the server really answers to requests that go wrong in those ways.
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => PARAMS[name] ?? 'x1');
      const credential: Record<string, string> = device ? { authorization: `Bearer ${c.terminals[0]!.deviceToken}` } : secured ? { 'api-key': c.apiKey } : {};
      const probes: Array<[string, InjectOptions]> = [
        ['a NUL in the query', { method: method as 'GET', url: `${url}?probe=%00`, headers: credential }],
        ['no credential', { method: method as 'GET', url }],
        ...(takesBody
          ? ([
              ['a text body', { method: method as 'POST', url, headers: { ...credential, 'content-type': 'text/plain' }, payload: 'hello' }],
              ['an oversize body', { method: method as 'POST', url, headers: { ...credential, 'content-type': 'application/json' }, payload: JSON.stringify({ label: 'x'.repeat(2_000) }) }],
            ] satisfies Array<[string, InjectOptions]>)
          : []),
      ];
      for (const [what, request] of probes) {
        const res = await app.inject(request);
        if (res.statusCode < 400) continue;
        expect(isProblem(res), `${key} with ${what}: ${res.statusCode} ${res.body}`).toBe(true);
        if (!op.responses[String(res.statusCode)]) undocumented.push(`${key} with ${what}: ${res.statusCode}`);
      }
    }
    expect(undocumented).toEqual([]);
  });

  it('passes redocly lint without errors', async () => {
    const doc = await fetchDoc();
    const dir = mkdtempSync(join(tmpdir(), 'cloudpos-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc, null, 2));
      // redocly exits 1 when it finds errors; the JSON report on stdout is what counts
      const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/redocly'), ['lint', file, '--format=json', `--config=${join(ROOT, 'redocly.yaml')}`], {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
        maxBuffer: 16 * 1024 * 1024,
      }).catch((e: { stdout?: string; stderr?: string }) => {
        if (!e.stdout) throw new Error(`redocly did not run: ${e.stderr}`);
        return { stdout: e.stdout };
      });
      const report = JSON.parse(stdout) as { problems: LintProblem[] };
      const describe = (p: LintProblem) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`;
      const warnings = report.problems.filter((p) => p.severity !== 'error');
      if (warnings.length > 0) console.info(`redocly warnings:\n${warnings.map(describe).join('\n')}`);
      expect(report.problems.filter((p) => p.severity === 'error').map(describe)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves a reference page at /docs', async () => {
    let res = await merchantApi(ctx().app)('GET', '/docs');
    if (res.statusCode >= 300 && res.statusCode < 400) res = await merchantApi(ctx().app)('GET', new URL(String(res.headers.location), 'http://localhost/docs/').pathname);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/<html/i);
  });
});
