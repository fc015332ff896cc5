import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { publicBase } from './public-url.js';

/** `page` from 1 and `size` from 1 to 100 (default 10), as the guide's Pagination section says.
 * Whole numbers are `number` + `multipleOf: 1`, not `integer`: query strings are converted before
 * validation, and TypeBox converts "1.5" to the integer 1, which would silently accept `size=1.5`. */
/** Far past any real list, and small enough that the offset stays an exact integer. */
const MAX_PAGE = 10_000_000;

export const PageQuery = Type.Object(
  {
    page: Type.Optional(Type.Number({ minimum: 1, maximum: MAX_PAGE, multipleOf: 1, default: 1, description: 'Requested page, a whole number; the first page is 1.' })),
    size: Type.Optional(Type.Number({ minimum: 1, maximum: 100, multipleOf: 1, default: 10, description: 'Entries per page, a whole number, at most 100.' })),
  },
  { additionalProperties: true },
);
export type PageQuery = Static<typeof PageQuery>;

export interface Page {
  page: number;
  size: number;
  offset: number;
}

export function pageOf(query: { page?: number; size?: number }): Page {
  const page = query.page ?? 1;
  const size = query.size ?? 10;
  return { page, size, offset: (page - 1) * size };
}

export const paginationHeaders = {
  'X-Total-Count': Type.Integer({ description: 'Total number of entries available' }),
  Link: Type.String({ description: 'RFC 8288 links first, prev, next, last; empty when everything fits on one page' }),
};

/** Sets `X-Total-Count` and `Link` with absolute URLs built from the request's scheme and host
 * (PUBLIC_URL when set; X-Forwarded-* count only when the app trusts a proxy; see public-url.ts), keeping the other query parameters. */
export function setPaginationHeaders(request: FastifyRequest, reply: FastifyReply, total: number, { page, size }: Page) {
  reply.header('X-Total-Count', String(total));
  if (total <= size) {
    reply.header('Link', '');
    return;
  }
  const last = Math.max(1, Math.ceil(total / size));
  const [path, search = ''] = request.url.split('?');
  const params = new URLSearchParams(search);
  params.delete('page');
  params.delete('size');
  const base = `${publicBase(request)}${path}`;
  const link = (p: number, rel: string) => {
    const q = new URLSearchParams(params);
    q.set('size', String(size));
    q.set('page', String(p));
    return `<${base}?${q.toString()}>; rel="${rel}"`;
  };
  const links = [link(1, 'first')];
  if (page > 1) links.push(link(Math.min(page - 1, last), 'prev'));
  if (page < last) links.push(link(page + 1, 'next'));
  links.push(link(last, 'last'));
  reply.header('Link', links.join(', '));
}
