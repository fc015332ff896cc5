import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';

/** A raw connection to a listening app: what was received, and when the server closed it. */
function rawClient(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d) => (received += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, received: () => received, closed };
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

function parseRaw(text: string) {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [status, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(status?.split(' ')[1]), headers, body };
}

describe('connections: Node-level errors, timeouts and request ids', () => {
  const REQUEST_TIMEOUT_MS = 1_000;
  const ctx = usePlatform('sqlite', { env: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) } });
  let port = 0;
  const listening = async () => {
    if (port === 0) {
      await ctx().app.listen({ port: 0, host: '127.0.0.1' });
      port = (ctx().app.server.address() as { port: number }).port;
    }
    return port;
  };
  // The deadline and Node's check interval (1 s), plus room for a busy machine.
  const DEADLINE = REQUEST_TIMEOUT_MS + 1_000 + 3_000;

  it('closes a connection whose body trickles in byte by byte with a 408 problem', async () => {
    const c = await onboard(ctx().app);
    const client = rawClient(await listening());
    const body = JSON.stringify({ label: 'trickled' });
    client.socket.write(`POST /apikeys HTTP/1.1\r\nHost: localhost\r\nAPI-Key: ${c.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 50}\r\n\r\n`);
    let i = 0;
    const trickle = setInterval(() => client.socket.writable && client.socket.write(body[i++ % body.length]!), 100);
    try {
      await within(client.closed, DEADLINE, 'connection closed');
    } finally {
      clearInterval(trickle);
    }
    const res = parseRaw(client.received());
    expect(res.status).toBe(408);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 408, request_id: res.headers['request-id'] });
    // nothing was created
    const keys = await merchantApi(ctx().app, c.apiKey)('GET', '/apikeys');
    expect(keys.json().map((k: { label: string }) => k.label)).not.toContain('trickled');
  });

  it('closes the connection of a slow client even after answering its 401', async () => {
    const client = rawClient(await listening());
    client.socket.write(`POST /apikeys HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`);
    const trickle = setInterval(() => client.socket.writable && client.socket.write('x'), 100);
    try {
      await within(client.closed, DEADLINE, 'connection closed');
    } finally {
      clearInterval(trickle);
    }
    expect(parseRaw(client.received()).status).toBe(401);
  });

  it('answers a header over the limit with a 431 problem', async () => {
    const client = rawClient(await listening());
    client.socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await within(client.closed, 5_000, 'connection closed');
    const res = parseRaw(client.received());
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 431, title: expect.any(String), detail: expect.any(String) });
  });

  it('answers a request Node cannot parse, and a body shorter than its Content-Length, with a 400 problem', async () => {
    for (const raw of [
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n',
      'BREW / HTCPCP/1.0\r\n\r\n',
    ]) {
      const client = rawClient(await listening());
      client.socket.write(raw);
      await within(client.closed, 5_000, 'connection closed');
      const res = parseRaw(client.received());
      expect(res.status, raw).toBe(400);
      expect(res.headers['content-type'], raw).toBe('application/problem+json');
    }
    const short = rawClient(await listening());
    short.socket.end('POST /apikeys HTTP/1.1\r\nHost: localhost\r\nAPI-Key: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"label"');
    await within(short.closed, DEADLINE, 'connection closed');
    const res = parseRaw(short.received());
    if (res.status) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('gives every response a Request-Id, keeps a well-formed one from the client, repeats it in problems and logs', async () => {
    const app = ctx().app;
    const given = 'support-ticket-42/retry:1';
    const ok = await app.inject({ url: '/healthz', headers: { 'request-id': given } });
    expect(ok.headers['request-id']).toBe(given);
    const missing = await app.inject({ url: '/nowhere' });
    expect(missing.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(missing.json().request_id).toBe(missing.headers['request-id']);
    for (const bad of ['', 'x'.repeat(201), 'with space', 'ünïcode']) {
      const res = await app.inject({ url: '/nowhere', headers: { 'request-id': bad } });
      expect(res.headers['request-id'], JSON.stringify(bad)).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.json().request_id).toBe(res.headers['request-id']);
    }
    const unauthorized = await app.inject({ url: '/stores', headers: { 'request-id': 'abc' } });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers['request-id']).toBe('abc');
    expect(unauthorized.json().request_id).toBe('abc');
  });
});

describe('request ids in the log', () => {
  const logs: string[] = [];
  const ctx = usePlatform('sqlite', { logs });

  it('writes the request id into every log line of the request', async () => {
    const res = await ctx().app.inject({ url: '/stores', headers: { 'request-id': 'trace-me-1' } });
    expect(res.statusCode).toBe(401);
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => JSON.stringify(l).includes('/stores') || l.request_id === 'trace-me-1');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line.request_id).toBe('trace-me-1');
  });
});
