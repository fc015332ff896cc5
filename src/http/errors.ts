import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/failures.js';
import { problem, sendProblem, Problem, type ProblemKind, type FieldError } from './problem.js';
import { ONE_LINE_PATTERN } from './schemas.js';

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const PARTS: Record<string, FieldError['in']> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** Validation failures as JSON pointers to the offending member (not to its parent object). */
export function fieldErrors(issues: ValidationIssue[], context: string | undefined): FieldError[] {
  const where = PARTS[context ?? 'body'] ?? 'body';
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const issue of issues) {
    let pointer = issue.instancePath ?? '';
    const params = issue.params ?? {};
    let detail = issue.keyword === 'pattern' && params.pattern === ONE_LINE_PATTERN ? 'must be one line, without control characters or marks that reorder text' : (issue.message ?? 'is invalid');
    if (issue.keyword === 'required') {
      const missing = (params.requiredProperties ?? params.missingProperty) as string[] | string | undefined;
      for (const name of Array.isArray(missing) ? missing : [missing]) {
        if (name === undefined) continue;
        const p = `${pointer}/${name}`;
        if (!seen.has(p)) out.push({ pointer: p, in: where, detail: 'is required' });
        seen.add(p);
      }
      continue;
    }
    if (issue.keyword === 'additionalProperties') {
      const extra = (params.additionalProperties ?? params.additionalProperty) as string[] | string | undefined;
      for (const name of Array.isArray(extra) ? extra : [extra]) {
        if (name === undefined) continue;
        const p = `${pointer}/${name}`;
        if (!seen.has(p)) out.push({ pointer: p, in: where, detail: 'is not a known member' });
        seen.add(p);
      }
      continue;
    }
    // "schema is false" repeats the additionalProperties issue for the same member.
    if (issue.keyword === 'boolean' || detail === 'schema is false') continue;
    if (issue.keyword === 'anyOf' && out.some((e) => e.pointer.startsWith(pointer))) continue;
    pointer ||= '';
    const key = `${pointer} ${detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, in: where, detail });
  }
  return out;
}

const FASTIFY_CODES: Record<string, ProblemKind> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_BODY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_BODY',
};

function toProblem(error: FastifyError & { validation?: ValidationIssue[]; validationContext?: string }): Problem | null {
  if (error instanceof Problem) return error;
  if (error.validation) {
    const errors = fieldErrors(error.validation, error.validationContext);
    const summary = errors.map((e) => `${e.pointer || '(root)'} ${e.detail}`).join('; ');
    return problem('VALIDATION_FAILED', `The request ${PARTS[error.validationContext ?? 'body'] ?? 'body'} is invalid: ${summary}`, { errors });
  }
  const kind = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (kind === 'UNSUPPORTED_MEDIA_TYPE') return problem(kind, 'Send the request body as application/json.');
  if (kind === 'PAYLOAD_TOO_LARGE') return problem(kind, 'The request body is larger than this server accepts.');
  if (kind) return problem(kind, `The request body is not valid JSON: ${error.message}`);
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return problem('MALFORMED_BODY', 'The request body is not valid JSON.');
  }
  if (error.statusCode === 413) return problem('PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts.');
  if (error.statusCode === 415) return problem('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.');
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return problem('VALIDATION_FAILED', error.message);
  }
  if (isDatabaseUnavailable(error)) return problem('SERVICE_UNAVAILABLE', 'The database does not answer now; retry the request shortly.');
  return null;
}

/** Every 4xx/5xx leaves as application/problem+json; a 5xx never shows its internals. */
export function installErrorHandling(app: FastifyInstance, routePatterns: () => Array<{ method: string; pattern: RegExp }>) {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const p = toProblem(error);
    if (p?.status === 503) {
      request.log.warn({ err: error }, 'the database does not answer');
      reply.header('Retry-After', '5');
    }
    if (p) return sendProblem(reply, request, p);
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, request, problem('INTERNAL', 'An unexpected error occurred. It has been logged.'));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = [...new Set(routePatterns().filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      reply.header('Allow', allowed.join(', '));
      return sendProblem(reply, request, problem('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}.`));
    }
    return sendProblem(reply, request, problem('NOT_FOUND', `There is no resource at ${path}.`));
  });
}

/** Turns a Fastify route URL (`/terminals/:terminalId/transactions`) into a matcher for 405s. */
export function routePattern(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}
