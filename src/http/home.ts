import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { publicBase } from './public-url.js';

const Home = Type.Object(
  {
    name: Type.Literal('cloudpos'),
    environment: Type.Union([Type.Literal('sandbox'), Type.Literal('production')]),
    links: Type.Object(
      {
        docs: Type.String({ format: 'uri', description: 'The API reference (HTML)' }),
        openapi: Type.String({ format: 'uri', description: 'This OpenAPI document' }),
        simulator: Type.Optional(Type.String({ format: 'uri', description: 'The terminal simulator in the browser (sandbox only)' })),
        health: Type.String({ format: 'uri', description: 'Liveness: the process and its database answer' }),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'Home', additionalProperties: false },
);

/** How much a request's Accept header wants a media type: the q of its most specific matching range. */
function quality(accept: string, type: string): number {
  const [major] = type.split('/');
  let best = { specificity: -1, q: 0 };
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const specificity = range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (specificity <= best.specificity) continue;
    const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2) ?? '1');
    best = { specificity, q: Number.isFinite(q) ? q : 0 };
  }
  return best.q;
}

/** HTML for a browser (it names text/html and prefers it), JSON for everything else, curl included. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept || !/text\/html/i.test(accept)) return false;
  return quality(accept, 'text/html') > 0 && quality(accept, 'text/html') >= quality(accept, 'application/json');
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(links: { docs: string; openapi: string; simulator?: string; health: string }, environment: string): string {
  const item = (href: string, label: string, what: string) => `<li><a href="${escape(href)}">${label}</a> — ${what}</li>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloudpos</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body>
<h1>cloudpos</h1>
<p>A cloud payment platform for card terminals (${escape(environment)}).</p>
<ul>
${item(links.docs, 'API reference', 'the MerchantAPI and the device API, to try out')}
${item(links.openapi, 'OpenAPI document', 'for code generators and the typed client')}
${links.simulator ? `${item(links.simulator, 'Terminal simulator', 'a terminal’s screen in the browser; it asks for an API key (the first run printed one)')}\n` : ''}${item(links.health, 'Health', 'the process and its database answer')}
</ul>
</body></html>
`;
}

/** `GET /`: where to start, as a small page for a browser and as JSON links for anything else. */
export const homeRoute: FastifyPluginAsyncTypebox = async (app) => {
  const environment = app.platform.config.CLOUDPOS_ENV;
  app.get(
    '/',
    {
      schema: {
        operationId: 'getHome',
        tags: ['Service'],
        summary: 'Where to start: links to the reference, this document and (sandbox) the simulator',
        description: 'JSON links, or a small HTML page when the request prefers text/html (a browser). Needs no credential.',
        security: [],
        response: {
          200: {
            description: 'The links',
            content: { 'application/json': { schema: Home }, 'text/html': { schema: Type.String() } },
          } as unknown as TSchema,
        },
      },
    },
    async (request, reply) => {
      const base = publicBase(request);
      const links = {
        docs: `${base}/docs`,
        openapi: `${base}/openapi.json`,
        ...(environment === 'sandbox' && { simulator: `${base}/simulator` }),
        health: `${base}/healthz`,
      };
      reply.header('Vary', 'Accept');
      if (wantsHtml(request)) {
        // Nothing on the page runs or loads from elsewhere.
        reply.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
        return reply.type('text/html; charset=utf-8').send(page(links, environment));
      }
      return reply.type('application/json; charset=utf-8').send({ name: 'cloudpos' as const, environment, links });
    },
  );
};
