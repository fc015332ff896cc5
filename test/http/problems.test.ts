import { describe, expect, it } from 'vitest';
import { isProblem, merchantApi, type Response } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';

const SECRET = 'kaboom: password=hunter2 at /srv/secret/path.ts';

/** RFC 9457 body with every member the design requires, and a status that matches the response. */
function expectProblem(res: Response, status: number, instance?: string) {
  expect(res.statusCode).toBe(status);
  expect(isProblem(res)).toBe(true);
  const body = res.json();
  expect(body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      instance: instance ?? expect.any(String),
    }),
  );
  expect(body.title).not.toBe('');
  expect(body.detail).not.toBe('');
  expect(body.request_id).toBe(res.headers['request-id']);
  return body;
}

describeEachStore('problem details for every error', (dialect) => {
  const ctx = usePlatform(dialect, {
    env: { BODY_LIMIT_BYTES: '1024' },
    extend: (app) => {
      app.get('/boom', async () => {
        const e = new Error(SECRET);
        e.stack = `Error: ${SECRET}\n    at handler (/srv/secret/path.ts:1:1)`;
        throw e;
      });
      app.get('/boom-async-status', async () => {
        throw Object.assign(new Error(SECRET), { statusCode: 503 });
      });
    },
  });
  let key = '';
  const api = async () => {
    key ||= (await onboard(ctx().app)).apiKey;
    return merchantApi(ctx().app, key);
  };

  it('answers an unknown route with 404', async () => {
    const res = await (await api())('GET', '/no/such/thing?x=1');
    expectProblem(res, 404, '/no/such/thing');
    // without a key as well: an unknown route is not an authentication matter
    expectProblem(await merchantApi(ctx().app)('GET', '/no/such/thing'), 404, '/no/such/thing');
  });

  it.each(['PUT', 'DELETE', 'PATCH'] as const)('answers %s /stores with 405 and an Allow header', async (method) => {
    const res = await (await api())(method, '/stores', method === 'DELETE' ? undefined : {});
    expectProblem(res, 405, '/stores');
    const allow = String(res.headers.allow).split(/\s*,\s*/);
    expect(allow).toContain('GET');
    expect(allow).not.toContain(method);
  });

  it('answers PUT /apikeys/{id} with 405 listing DELETE', async () => {
    const res = await (await api())('PUT', '/apikeys/1', {});
    expectProblem(res, 405);
    expect(String(res.headers.allow).split(/\s*,\s*/)).toContain('DELETE');
  });

  it('answers malformed JSON with 400', async () => {
    const res = await (await api())('POST', '/apikeys', '{"label": "x",', { 'content-type': 'application/json' });
    const body = expectProblem(res, 400, '/apikeys');
    expect(body.detail).toMatch(/JSON/);
  });

  it('answers an empty JSON body with 400', async () => {
    const res = await (await api())('POST', '/apikeys', '', { 'content-type': 'application/json' });
    expectProblem(res, 400, '/apikeys');
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])('answers a %s body with 415', async (type) => {
    const res = await (await api())('POST', '/apikeys', 'label=x', { 'content-type': type });
    expectProblem(res, 415, '/apikeys');
  });

  it('answers a body over the limit with 413', async () => {
    const res = await (await api())('POST', '/apikeys', { label: 'x'.repeat(2000) });
    expectProblem(res, 413, '/apikeys');
  });

  it('answers an unexpected exception with a 500 that reveals nothing of it', async () => {
    const res = await merchantApi(ctx().app)('GET', '/boom');
    const body = expectProblem(res, 500, '/boom');
    expect(res.body).not.toContain('kaboom');
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('/srv/secret');
    expect(res.body).not.toMatch(/\bat\s+\S+\s+\(/);
    expect(Object.keys(body).sort()).toEqual(['detail', 'instance', 'request_id', 'status', 'title', 'type']);
    expect(body.request_id).toBe(res.headers['request-id']);
  });

  it('hides the message of a 5xx error that carries its own status as well', async () => {
    const res = await merchantApi(ctx().app)('GET', '/boom-async-status');
    expect(res.statusCode).toBeGreaterThanOrEqual(500);
    expect(isProblem(res)).toBe(true);
    expect(res.body).not.toContain('kaboom');
    expect(res.body).not.toContain('hunter2');
  });

  it('refuses an unknown body member with 400 and a pointer to it', async () => {
    const res = await (await api())('POST', '/apikeys', { label: 'ok', colour: 'blue' });
    const body = expectProblem(res, 400, '/apikeys');
    expect(body.errors).toEqual([{ pointer: '/colour', in: 'body', detail: expect.any(String) }]);
  });

  it('names the failing member of a nested object and of a wrong type', async () => {
    const res = await (await api())('POST', '/apikeys', { label: 42 });
    const body = expectProblem(res, 400, '/apikeys');
    expect(body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/label');
  });

  it('checks the key before the body: no key and a bad body is 401', async () => {
    const anonymous = merchantApi(ctx().app);
    expectProblem(await anonymous('POST', '/apikeys', { colour: 'blue' }), 401, '/apikeys');
    expectProblem(await anonymous('POST', '/apikeys', '{oops', { 'content-type': 'application/json' }), 401, '/apikeys');
    expectProblem(await anonymous('POST', '/apikeys', 'label=x', { 'content-type': 'text/plain' }), 401, '/apikeys');
    expectProblem(await anonymous('GET', '/stores?size=0'), 401, '/stores');
    expectProblem(await merchantApi(ctx().app, 'cpos_key_unknown')('POST', '/apikeys', { colour: 'blue' }), 403, '/apikeys');
  });
});
