import { describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform.js';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('GET / in the sandbox', () => {
  const ctx = usePlatform('sqlite');
  const get = (accept?: string) => ctx().app.inject({ method: 'GET', url: '/', headers: { host: 'pos.test:8080', ...(accept && { accept }) } });

  it('answers JSON links to anything that does not prefer HTML (curl sends */*)', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5', 'text/html;q=0, */*']) {
      const res = await get(accept);
      expect(res.statusCode, String(accept)).toBe(200);
      expect(res.headers['content-type'], String(accept)).toMatch(/^application\/json/);
      expect(res.headers.vary).toMatch(/Accept/);
      expect(res.json()).toEqual({
        name: 'cloudpos',
        environment: 'sandbox',
        links: { docs: 'http://pos.test:8080/docs', openapi: 'http://pos.test:8080/openapi.json', simulator: 'http://pos.test:8080/simulator', health: 'http://pos.test:8080/healthz' },
      });
    }
  });

  it('answers a small page to a browser, linking the reference, the document and the simulator', async () => {
    for (const accept of [BROWSER, 'text/html']) {
      const res = await get(accept);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
      for (const href of ['http://pos.test:8080/docs', 'http://pos.test:8080/openapi.json', 'http://pos.test:8080/simulator']) expect(res.body).toContain(`href="${href}"`);
      expect(res.body).not.toMatch(/cpos_key_|cpos_dev_/);
    }
  });

  it('is in the OpenAPI document, for both media types, without a credential', async () => {
    const doc = (await ctx().app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/'].get;
    expect(op.operationId).toBe('getHome');
    expect(op.security).toEqual([]);
    expect(Object.keys(op.responses['200'].content)).toEqual(['application/json', 'text/html']);
  });
});

describe('GET / in production', () => {
  const ctx = usePlatform('sqlite', { env: { CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://pay.example.com', SECRET_ENCRYPTION_KEY: '6e0d669c74f257f7c28f584622d02f4ca9c1527c3f857b199b9062bd10eb767d' } });

  it('links under PUBLIC_URL and leaves the simulator out', async () => {
    const json = await ctx().app.inject({ method: 'GET', url: '/' });
    expect(json.json()).toEqual({
      name: 'cloudpos',
      environment: 'production',
      links: { docs: 'https://pay.example.com/docs', openapi: 'https://pay.example.com/openapi.json', health: 'https://pay.example.com/healthz' },
    });
    const html = await ctx().app.inject({ method: 'GET', url: '/', headers: { accept: BROWSER } });
    expect(html.body).not.toContain('simulator');
  });
});
