/**
 * A request's logger is made on its first line at a level the server writes: what it writes is
 * what Fastify's own child writes (the request's bindings on every line), and a level the server
 * does not write writes nothing.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { requestLogger } from '../../src/http/request-logger.js';

function server(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  // The logger Fastify makes for a server (pino), as the platform's server makes it.
  const logger = Fastify({ logger: { level, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } } }).log;
  return { logger, lines };
}

describe('the request logger', () => {
  it('writes the levels the server writes, with the request bindings, and nothing below them', () => {
    const { logger, lines } = server('warn');
    const log = requestLogger.call(undefined as never, logger, { request_id: 'r-1' }, {}, undefined as never);
    log.info('not written');
    log.debug({ x: 1 }, 'not written');
    expect(lines).toEqual([]);
    expect(log.level).toBe('warn');
    log.warn({ err: new Error('boom') }, 'the database does not answer');
    log.error('unhandled');
    expect(lines.map((l) => [l.level, l.msg, l.request_id])).toEqual([
      [40, 'the database does not answer', 'r-1'],
      [50, 'unhandled', 'r-1'],
    ]);
    expect((lines[0]!.err as { message: string }).message).toBe('boom');
  });

  it('gives children the request bindings, and a route level its own child at once', () => {
    const { logger, lines } = server('info');
    const log = requestLogger.call(undefined as never, logger, { request_id: 'r-2' }, {}, undefined as never);
    log.child({ part: 'acquirer' }).info('asked');
    const quiet = requestLogger.call(undefined as never, logger, { request_id: 'r-3' }, { level: 'error' }, undefined as never);
    quiet.warn('not written at the route level');
    quiet.error('written');
    expect(lines.map((l) => [l.msg, l.request_id, l.part])).toEqual([
      ['asked', 'r-2', 'acquirer'],
      ['written', 'r-3', undefined],
    ]);
  });
});
