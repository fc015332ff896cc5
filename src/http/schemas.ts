import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from 'typebox';

/** One line of text (no control characters: a line break, an escape sequence; no marks that
 * reorder text: bidirectional overrides and isolates), for what is printed as it was sent, such
 * as a terminal's decline reason on the receipt. */
export const ONE_LINE_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F\\u200E\\u200F\\u2028-\\u202E\\u2066-\\u2069]*$';

export const OneLine = (options: { minLength: number; maxLength: number; description?: string; examples?: string[] }) => Type.String({ ...options, pattern: ONE_LINE_PATTERN });

/** Shapes shared by several routes. Each carries an `$id`, so the OpenAPI document names it as a
 * component; validation and serialisation use the very same objects. */
export const ProblemDetails = Type.Object(
  {
    type: Type.String({ description: 'URI reference identifying the problem kind' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({ description: 'The request path' }),
    request_id: Type.Optional(Type.String({ description: 'The Request-Id of the response: quote it when asking for support' })),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.String({ description: 'JSON pointer into the request part' }),
          in: Type.String({ enum: ['body', 'query', 'path', 'header'] }),
          detail: Type.String(),
        }),
      ),
    ),
  },
  { $id: 'ProblemDetails', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const StoreRef = Type.Object(
  { uuid: Type.String({ format: 'uuid' }), name: Type.String() },
  { $id: 'StoreRef', additionalProperties: false },
);

export const Timestamp = (description?: string) =>
  Type.String({ format: 'date-time', description: description ?? 'RFC 3339, UTC, milliseconds' });

export const iso = (ms: number | null | undefined): string | undefined =>
  ms === null || ms === undefined ? undefined : new Date(ms).toISOString();

/** Problem responses documented for a route, by status code: as `application/problem+json` (the
 * content type they are sent with) and by reference, so the document names one ProblemDetails. */
export function problems(...codes: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  const response = {
    description: 'Problem details (RFC 9457)',
    content: { 'application/problem+json': { schema: Type.Ref('ProblemDetails') } },
  };
  for (const code of codes) out[code] = response as unknown as TSchema;
  return out;
}

/** What any request may be answered, whatever its route: 400 (a request Node or the input guard
 * refuses: broken HTTP, a NUL character, a malformed number), 408 (not received whole within
 * REQUEST_TIMEOUT_MS), 431 (headers too large), 503 with Retry-After (the database does not answer
 * or is busy past its timeouts); and for a method that carries a body, 413 (larger than
 * BODY_LIMIT_BYTES) and 415 (not JSON). */
export function documentEveryRouteProblems(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { response?: object; hide?: boolean } | undefined;
    if (!schema?.response || schema.hide) return;
    const takesBody = [route.method].flat().some((m) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(m));
    route.schema = { ...route.schema, response: { ...problems(400, 408, 431, 503, ...(takesBody ? [413, 415] : [])), ...schema.response } };
  });
}
