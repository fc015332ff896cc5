import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clientSchema, SCHEMA_FILE } from '../../scripts/generate-client.js';
import { usePlatform } from '../support/platform.js';

describe('the typed client (@cloudpos/client)', () => {
  const ctx = usePlatform('sqlite');

  it('is generated from the document the current server serves', async () => {
    const res = await ctx().app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const expected = await clientSchema(res.json());
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    // On a difference: `npm run client:generate`, then commit client/src/schema.ts.
    expect(committed === expected, 'client/src/schema.ts is out of date with /openapi.json: run `npm run client:generate`').toBe(true);
  });
});
