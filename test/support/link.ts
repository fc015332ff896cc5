/** One link of an RFC 8288 `Link` header. */
export interface WebLink {
  uri: string;
  rel: string;
  params: Record<string, string>;
}

/** Parses an RFC 8288 `Link` header strictly: `<uri> *( OWS ";" OWS param )` separated by commas.
 * Throws on anything that does not follow that grammar, so a sloppy header fails the test. */
export function parseLinkHeader(header: string): WebLink[] {
  const links: WebLink[] = [];
  let i = 0;
  const ws = () => {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const fail = (why: string): never => {
    throw new Error(`malformed Link header at ${i} (${why}): ${header}`);
  };
  ws();
  while (i < header.length) {
    if (header[i] !== '<') fail('expected "<"');
    const end = header.indexOf('>', i);
    if (end < 0) fail('unterminated URI reference');
    const uri = header.slice(i + 1, end);
    i = end + 1;
    const params: Record<string, string> = {};
    ws();
    while (header[i] === ';') {
      i++;
      ws();
      const name = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(header.slice(i))?.[0] ?? fail('expected a parameter name');
      i += name.length;
      ws();
      if (header[i] !== '=') fail('expected "="');
      i++;
      ws();
      let value: string;
      if (header[i] === '"') {
        const close = header.indexOf('"', i + 1);
        if (close < 0) fail('unterminated quoted string');
        value = header.slice(i + 1, close);
        i = close + 1;
      } else {
        value = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(header.slice(i))?.[0] ?? fail('expected a token');
        i += value.length;
      }
      params[name.toLowerCase()] = value;
      ws();
    }
    if (params.rel === undefined) fail('link without rel');
    links.push({ uri, rel: params.rel!, params });
    if (i < header.length) {
      if (header[i] !== ',') fail('expected ","');
      i++;
      ws();
    }
  }
  return links;
}

/** The links by relation; fails when a relation appears twice. */
export function linksByRel(header: string): Record<string, URL> {
  const out: Record<string, URL> = {};
  for (const link of parseLinkHeader(header)) {
    if (out[link.rel]) throw new Error(`rel="${link.rel}" appears twice in ${header}`);
    out[link.rel] = new URL(link.uri); // throws on a relative reference: links must be absolute
  }
  return out;
}
