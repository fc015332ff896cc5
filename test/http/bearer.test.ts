import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { bearerOf } from '../../src/http/rate-limit.js';

const withAuthorization = (authorization: string | undefined) => ({ headers: { authorization } }) as unknown as FastifyRequest;

describe('the bearer token of a request', () => {
  it('reads what the regular expression of the scheme reads, and nothing else', () => {
    const cases = [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Bearer  ',
      'Bearer abc',
      'bearer abc',
      'BEARER\tabc',
      'Bearer \t abc',
      'Bearer abc ',
      'Bearer a b',
      'Bearerabc',
      'Basic abc',
      'Bearer\u00a0abc',
      'Bearer abc\u2003',
      'Bearer ab\u000bc',
      'Bearer\u000cabc',
      'Bearer é',
      'Bearer 😀',
      'Bearex abc',
      ' Bearer abc',
      'Bearer cp_dev_0123456789abcdef0123456789abcdef',
    ];
    for (const value of cases) {
      const expected = /^Bearer\s+(\S+)$/i.exec(value ?? '')?.[1];
      expect(bearerOf(withAuthorization(value)), JSON.stringify(value)).toBe(expected);
    }
  });
});
