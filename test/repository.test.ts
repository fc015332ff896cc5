import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config.js';

const ROOT = process.cwd();
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Tracked files and new ones not ignored: what a clone of the branch will hold once committed. */
const FILES = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);

describe('.env.example', () => {
  const listed = new Map<string, string>();
  for (const line of read('.env.example').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`.env.example: not a comment nor KEY=value: ${line}`);
    listed.set(m[1]!, m[2]!);
  }
  const settings = Object.entries(ConfigSchema.properties as Record<string, { default?: unknown }>);

  it('lists every setting of src/config.ts, and nothing else', () => {
    const known = settings.map(([key]) => key);
    expect([...listed.keys()].filter((key) => !known.includes(key)), 'listed in .env.example but not a setting').toEqual([]);
    expect(known.filter((key) => !listed.has(key)), 'settings missing from .env.example').toEqual([]);
  });

  it('gives each setting its default (empty when it has none) and a comment', () => {
    const lines = read('.env.example').split('\n');
    for (const [key, schema] of settings) {
      expect(listed.get(key), key).toBe(schema.default === undefined ? '' : String(schema.default));
      const at = lines.findIndex((line) => line.startsWith(`${key}=`));
      expect(lines[at - 1], `the line above ${key} says what it is`).toMatch(/^# \S/);
    }
  });
});

/** Markdown links outside code: inline `[text](target)`, reference definitions, autolinks, href. */
function linksOf(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
    ...[...prose.matchAll(/<((?:https?|mailto):[^>\s]+)>/g)].map((m) => m[1]!),
    ...[...prose.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!),
  ];
  return targets;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  const anchors = new Set<string>();
  for (const m of prose.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = m[1]!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

describe('documentation links', () => {
  const documents = ['README.md', 'CONTRIBUTING.md', 'SECURITY.md', 'CHANGELOG.md', ...FILES.filter((f) => f !== 'README.md' && f.endsWith('/README.md'))];

  it.each(documents)('every relative link in %s points at a file of the repository', (document) => {
    const broken: string[] = [];
    for (const target of linksOf(read(document))) {
      if (isExternal(target)) continue;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? document : normalize(join(dirname(document), decodeURI(path))).split(sep).join('/').replace(/\/$/, '');
      if (resolved.startsWith('..') || relative(ROOT, join(ROOT, resolved)).startsWith('..')) {
        broken.push(`${target} (outside the repository)`);
        continue;
      }
      const isFile = FILES.includes(resolved);
      if (!isFile && !FILES.some((f) => f.startsWith(`${resolved}/`))) {
        broken.push(`${target} (no such file)`);
        continue;
      }
      if (anchor && isFile && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor)) broken.push(`${target} (no such heading)`);
    }
    expect(broken).toEqual([]);
  });

  it('the README links outside the repository only to /docs of a running server', () => {
    const outside = linksOf(read('README.md')).filter(isExternal).filter((target) => {
      const url = URL.canParse(target) ? new URL(target) : undefined;
      return !(url && ['localhost', '127.0.0.1'].includes(url.hostname) && /^\/docs(\/|$)/.test(url.pathname));
    });
    expect(outside).toEqual([]);
  });

  it('finds the links it checks (the extraction itself works)', () => {
    expect(linksOf('see [a](x/y.md#b "t"), <https://e.org/>, `[no](code)`\n\n[ref]: ./z.md\n```\n[no](block)\n```\n')).toEqual([
      'x/y.md#b',
      './z.md',
      'https://e.org/',
    ]);
    expect([...anchorsOf('# Running in production\n## A tour with `curl`\n## A tour with curl')]).toEqual([
      'running-in-production',
      'a-tour-with-curl',
      'a-tour-with-curl-1',
    ]);
  });
});

describe('repository basics', () => {
  it.each(['LICENSE', '.env.example', 'CHANGELOG.md', 'CONTRIBUTING.md', 'SECURITY.md'])('%s is there', (file) => {
    expect(FILES).toContain(file);
  });

  it('LICENSE is the MIT licence package.json names', () => {
    expect((JSON.parse(read('package.json')) as { license: string }).license).toBe('MIT');
    expect(read('LICENSE')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} cloudpos contributors\n/);
  });
});
