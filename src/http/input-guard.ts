import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import Format from 'typebox/format';
import { Type } from 'typebox';
import { problem } from './problem.js';

/** How deep a JSON body may nest. The platform's own bodies nest three levels; the bound keeps
 * recursive code (the idempotency fingerprint, validation) far from the stack's end. */
export const MAX_JSON_DEPTH = 32;

/** The largest whole number a path or query parameter may carry: exact in JavaScript and in a
 * PostgreSQL bigint, so a huge id is "not found" or a 400, never a database error. */
export const MAX_WHOLE_NUMBER = Number.MAX_SAFE_INTEGER;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 3339 date-time, stricter than the format checker: a real calendar date, no leap second
 * (JavaScript time has none, so it could only be stored wrong), and a time Date.parse reads. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;
export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return false;
  return Number.isFinite(Date.parse(value));
}

/** Replaces the lenient `date-time` format (which accepts `23:59:60`) for every schema. */
export function registerStrictFormats() {
  Format.Set('date-time', isRfc3339);
}

/** Where the request's text has a NUL or nests too deep, as a JSON pointer; undefined when fine. */
function findBadValue(value: unknown, pointer: string, depth: number): { pointer: string; why: string } | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? { pointer, why: 'contains a NUL character' } : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_JSON_DEPTH) return { pointer, why: `nests deeper than ${MAX_JSON_DEPTH} levels` };
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [k, v] of entries) {
    const at = `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (k.includes('\u0000')) return { pointer: at, why: 'has a member name with a NUL character' };
    const bad = findBadValue(v, at, depth + 1);
    if (bad) return bad;
  }
  return undefined;
}

const invalid = (where: 'body' | 'query' | 'path' | 'header', pointer: string, detail: string) =>
  problem('VALIDATION_FAILED', `The request ${where} is invalid: ${pointer || '(root)'} ${detail}`, { errors: [{ pointer, in: where, detail }] });

/** JSON bodies: an object, valid UTF-8 only (never stored as U+FFFD), bounded nesting, no NUL in any text. */
function installJsonParser(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(problem('MALFORMED_BODY', 'The request body is not valid UTF-8.'), undefined);
    }
    parse(request, text, (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      // Every body of this API is an object; `null` would otherwise pass for a missing body.
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return done(invalid('body', '', 'must be a JSON object'), undefined);
      const bad = findBadValue(value, '', 0);
      if (bad) return done(invalid('body', bad.pointer, bad.why), undefined);
      done(null, value);
    });
  });
}

type Schemaish = { type?: unknown; multipleOf?: unknown; properties?: Record<string, Schemaish>; anyOf?: Schemaish[] };

/** The kind of number a parameter schema wants, if any. */
function numberKind(schema: Schemaish | undefined): 'whole' | 'decimal' | undefined {
  if (!schema) return undefined;
  if (schema.type === 'integer' || (schema.type === 'number' && schema.multipleOf === 1)) return 'whole';
  if (schema.type === 'number') return 'decimal';
  return undefined;
}

const hasNumbers = (schema: Schemaish | undefined) => Object.values(schema?.properties ?? {}).some((p) => numberKind(p) !== undefined);

const WHOLE = /^(0|[1-9][0-9]*)$/;
const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** Numbers in paths and queries are plain decimals (no `1e20`, `0x10`, ` 1`), and whole numbers
 * stay within MAX_WHOLE_NUMBER: the schema's conversion alone would read `0x10` as 16. A single
 * value is converted here as well, so that the validation finds the part fitting as it is and does
 * not walk the schema to convert it (every long poll sends `wait`). */
function checkNumbers(where: 'query' | 'path', values: Record<string, unknown> | undefined, schema: Schemaish | undefined) {
  if (!values || !schema?.properties) return;
  for (const name in values) {
    const kind = numberKind(schema.properties[name]);
    if (!kind) continue;
    const raw = values[name];
    if (Array.isArray(raw)) for (const v of raw) checkNumber(where, name, kind, v);
    else values[name] = checkNumber(where, name, kind, raw);
  }
}

/** `v` as a number, if it is text in the form `kind` wants; a 400 otherwise. */
function checkNumber(where: 'query' | 'path', name: string, kind: 'whole' | 'decimal', v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (!(kind === 'whole' ? WHOLE : DECIMAL).test(v)) {
    throw invalid(where, `/${name}`, kind === 'whole' ? 'must be a whole number in decimal digits' : 'must be a decimal number');
  }
  const n = Number(v);
  if (kind === 'whole' && n > MAX_WHOLE_NUMBER) throw invalid(where, `/${name}`, `must be at most ${MAX_WHOLE_NUMBER}`);
  return n;
}

/** POST routes that take no body (release, device cancel): nothing, or an empty object. */
export const EmptyBody = Type.Object({}, { additionalProperties: false, description: 'No body, or an empty JSON object' });

/** Central input checks for every route: NUL characters, numbers, JSON bodies, bodiless POSTs. */
export function installInputGuard(app: FastifyInstance) {
  registerStrictFormats();
  installJsonParser(app);

  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    const emptyBody = methods.includes('POST') && !route.schema?.body;
    if (emptyBody) route.schema = { ...route.schema, body: EmptyBody };
    // Only routes with a number in their path or query, or without a body, check anything here:
    // the others (an idle poll, a status read) pay for no hook.
    const params = route.schema?.params as Schemaish | undefined;
    const query = route.schema?.querystring as Schemaish | undefined;
    if (!emptyBody && !hasNumbers(params) && !hasNumbers(query)) return;
    const check: preValidationHookHandler = (request, _reply, done) => {
      try {
        checkNumbers('path', request.params as Record<string, unknown>, params);
        checkNumbers('query', request.query as Record<string, unknown>, query);
      } catch (error) {
        return done(error as Error);
      }
      // An empty object stands for a missing body.
      if (emptyBody && request.body === undefined) request.body = {};
      done();
    };
    // First, where a hook of the whole application would run.
    route.preValidation = [check, ...[route.preValidation ?? []].flat()];
  });

  // A callback hook that allocates nothing on the way: it runs on every request.
  app.addHook('onRequest', (request, _reply, done) => {
    // Node refuses a raw NUL in the request line and headers; its percent-encoded form is decoded
    // into path parameters and query values, where PostgreSQL would choke on it.
    if (request.url.includes('%00')) return done(invalid(request.url.split('?')[0]!.includes('%00') ? 'path' : 'query', '', 'contains a NUL character (%00)'));
    const raw = request.raw.rawHeaders;
    for (let i = 1; i < raw.length; i += 2) {
      if (raw[i]!.includes('\u0000')) return done(invalid('header', `/${raw[i - 1]!.toLowerCase()}`, 'contains a NUL character'));
    }
    done();
  });
}

