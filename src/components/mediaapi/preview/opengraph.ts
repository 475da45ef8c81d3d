/**
 * OpenGraph metadata from the head of an HTML page: `og:*` meta tags, with
 * the page's <title> and description as fallbacks. A small scanner over
 * tags, not an HTML parser: previews need a handful of attributes.
 */

const MAX_VALUE = 1000;
const META = /<meta\b([^>]*)>/gi;
const ATTR = /([a-zA-Z_:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g;

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
    }
    return NAMED[e.toLowerCase()] ?? whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(ATTR)) {
    const name = m[1]!.toLowerCase();
    if (!(name in out)) out[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

const clean = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, MAX_VALUE);

/** The charset a page declares in its head (<meta charset> or http-equiv). */
export function declaredCharset(head: string): string | undefined {
  return /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1];
}

export function openGraph(html: string, pageUrl: URL): Record<string, string> {
  const og: Record<string, string> = {};
  let description: string | undefined;
  for (const m of html.matchAll(META)) {
    const a = attributes(m[1]!);
    const key = (a.property ?? a.name ?? '').toLowerCase();
    const content = a.content;
    if (content === undefined) continue;
    if (key.startsWith('og:') && !(key in og)) og[key] = clean(content);
    else if (key === 'description' && description === undefined) description = clean(content);
  }
  if (og['og:title'] === undefined) {
    const t = /<title[^>]*>([^<]*)<\/title>/i.exec(html)?.[1];
    if (t !== undefined && clean(decodeEntities(t)) !== '') og['og:title'] = clean(decodeEntities(t));
  }
  if (og['og:description'] === undefined && description !== undefined) og['og:description'] = description;
  if (og['og:image'] !== undefined) {
    try {
      og['og:image'] = new URL(og['og:image'], pageUrl).toString();
    } catch {
      delete og['og:image'];
    }
  }
  return og;
}

/** Decodes a page by its declared charset, UTF-8 when unknown. */
export function decodePage(body: Buffer, contentType: string | undefined): string {
  const fromHeader = /charset\s*=\s*["']?([\w-]+)/i.exec(contentType ?? '')?.[1];
  const label = fromHeader ?? declaredCharset(body.subarray(0, 2048).toString('latin1')) ?? 'utf-8';
  try {
    return new TextDecoder(label).decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}
