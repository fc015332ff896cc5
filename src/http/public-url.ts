import type { FastifyInstance, FastifyRequest } from 'fastify';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*\\.?|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]{1,5}))?$`);

/** A Host (or trusted X-Forwarded-Host) that is a plain host[:port], nothing else. */
export function isValidHost(host: string): boolean {
  const m = HOST.exec(host);
  return m !== null && (m[1] === undefined || (Number(m[1]) >= 1 && Number(m[1]) <= 65535));
}

/** Where this server listens, for a request whose Host cannot be used. */
function listeningHost(request: FastifyRequest): string {
  const address = request.server.server.address();
  if (!address || typeof address === 'string') return 'localhost';
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}

/** The base of the absolute URLs written for a request: PUBLIC_URL when set; otherwise the
 * request's scheme and Host when the Host is a valid host[:port], else the listening address. */
export function publicBase(request: FastifyRequest): string {
  const configured = request.server.platform.config.PUBLIC_URL;
  if (configured) return configured;
  const host = isValidHost(request.host) ? request.host : listeningHost(request);
  return `${request.protocol}://${host}`;
}

/** With PUBLIC_URL set, a path in `Location` becomes an absolute URL under it. */
export function installPublicUrl(app: FastifyInstance) {
  const configured = app.platform.config.PUBLIC_URL;
  if (!configured) return;
  app.addHook('onSend', async (_request, reply, payload) => {
    const location = reply.getHeader('location');
    if (typeof location === 'string' && location.startsWith('/') && !location.startsWith('//')) reply.header('Location', `${configured}${location}`);
    return payload;
  });
}
