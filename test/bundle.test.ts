/**
 * What the built bundle makes each process load, which is most of its idle
 * memory (docs/design.md, "Memory"): no chunk requires node:https, node:tls
 * or node:http2 at load (each is loaded where it is used), the gateway does
 * not load fastify (it serves no routes of its own), and every chunk's
 * source is Latin-1, which V8 holds one byte per character.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NEURITE, requireBuild } from './helpers/server.js';

requireBuild();
const dist = dirname(NEURITE);
const chunks = join(dist, 'chunks');
const files = [NEURITE, ...readdirSync(chunks).filter((f) => f.endsWith('.js')).map((f) => join(chunks, f))];
const source = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));

/** Chunks a chunk requires at load (not the ones behind a dynamic import). */
function staticRequires(file: string): string[] {
  const code = source.get(file)!;
  const out: string[] = [];
  for (const m of code.matchAll(/(.{0,40})require\("(\.\/[^"]+\.js)"\)/g)) {
    // Rollup writes a dynamic import as `Promise.resolve().then(function(){return require("./x.js")})`.
    if (m[1]!.includes('return')) continue;
    out.push(join(dirname(file), m[2]!));
  }
  return out;
}

function loadedAtStart(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const r of staticRequires(f)) visit(r);
  };
  visit(entry);
  return seen;
}

const chunkOf = (component: string) => {
  const f = files.find((x) => new RegExp(`/chunks/${component}-[\\w-]+\\.js$`).test(x));
  if (!f) throw new Error(`no chunk for ${component}`);
  return f;
};
/** fastify's chunk: the one that holds its error codes. */
const isFastify = (f: string) => source.get(f)!.includes('FST_ERR_INSTANCE_ALREADY_LISTENING');

t.test('no chunk loads node:https, node:tls or node:http2 at load', async (t) => {
  for (const [f, code] of source) {
    const eager = [...code.matchAll(/require\("node:(https|tls|http2)"\)/g)].map((m) => m[1]);
    t.same(eager, [], f.slice(dist.length + 1));
  }
  t.ok([...source.values()].some((c) => c.includes('getBuiltinModule("node:http2")')), "fastify's HTTP/2 support loads node:http2 on first use");
});

t.test('the gateway does not load fastify; the components that serve routes do', async (t) => {
  t.ok(files.some(isFastify), 'fastify is in the bundle');
  t.notOk([...loadedAtStart(chunkOf('gateway'))].some(isFastify), 'gateway');
  for (const c of ['clientapi', 'syncapi']) t.ok([...loadedAtStart(chunkOf(c))].some(isFastify), c);
});

t.test('every chunk is Latin-1', async (t) => {
  for (const [f, code] of source) t.notOk(/[^\0-\xff]/.test(code), f.slice(dist.length + 1));
});
