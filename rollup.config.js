// Bundles the TypeScript sources into dist/neurite.js plus one chunk per
// component (loaded only by the processes that run it). Native modules stay
// external and ship beside the bundle in node_modules.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import commonjs from '@rollup/plugin-commonjs';
import json from '@rollup/plugin-json';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild from 'rollup-plugin-esbuild';

const external = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'level', 'classic-level', 'sharp'];

// fastify loads ajv and fast-json-stringify to compile route schemas. Neurite
// gives fastify its own (trivial) compilers, so those modules are never
// called; leaving them out saves about 1 MB of code in every process.
const UNUSED = new Set(['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler']);
const unusedStub = {
  name: 'neurite-unused-stubs',
  resolveId(id) {
    return UNUSED.has(id) ? `\0unused:${id}` : null;
  },
  load(id) {
    if (!id.startsWith('\0unused:')) return null;
    return `export default function unused() { throw new Error(${JSON.stringify(id.slice(8) + ' is not bundled in Neurite')}); }`;
  },
};

// fastify requires node:http2, node:https and node:dns at load time, for
// servers Neurite does not make (HTTP/2, fastify's own TLS) and for listening
// on a host name. Loading them costs every process that serves routes about
// 4 MB (http2 alone about 3.8 MB); here each is loaded on first use instead.
const LAZY_BUILTINS = { 'fastify/lib/server.js': ['https', 'http2', 'dns'] };
const lazyBuiltins = {
  name: 'neurite-lazy-builtins',
  transform(code, id) {
    const file = Object.keys(LAZY_BUILTINS).find((f) => id.replaceAll('\\', '/').endsWith(`/node_modules/${f}`));
    if (!file) return null;
    let out = code;
    for (const mod of LAZY_BUILTINS[file]) {
      const line = new RegExp(`^const (\\w+) = require\\('node:${mod}'\\)$`, 'm');
      if (!line.test(out)) this.error(`${file} no longer requires node:${mod} as expected: update LAZY_BUILTINS`);
      // process.getBuiltinModule, unlike require, is not hoisted by the CommonJS plugin.
      out = out.replace(line, (_, name) => `const ${name} = new Proxy({}, { get: (_, key) => process.getBuiltinModule('node:${mod}')[key] })`);
    }
    return { code: out, map: null };
  },
};

// The bundle is CommonJS: Node's ES-module view of a builtin such as
// node:http reads every export, which loads the bundled undici (about 6 MB
// per process); require() does not. dist/package.json says so to Node.
const commonJsPackage = {
  name: 'neurite-commonjs-package',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'package.json', source: '{ "type": "commonjs" }\n' });
  },
};

// V8 keeps a script's source in memory, as one byte per character only if
// every character is Latin-1: one "·" or "→" in a template doubles the size
// of its whole chunk (the setup pages' 100 KB chunk). esbuild escapes such
// characters in strings, but not in tagged templates.
// A \u escape means the same in strings, templates (cooked), regular
// expressions and identifiers, and no bundled code reads a template's raw text.
const latin1Only = {
  name: 'neurite-latin1-only',
  renderChunk(code) {
    if (!/[^\0-\xff]/.test(code)) return null;
    return { code: code.replace(/[^\0-\xff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), map: null };
  },
};

// Added after minification, which would not parse it.
const shebang = {
  name: 'neurite-shebang',
  renderChunk(code, chunk) {
    return chunk.isEntry ? { code: `#!/usr/bin/env node\n${code}`, map: null } : null;
  },
};

// Chunk names carry a content hash, so every change leaves the previous
// chunks behind; the release bundle takes all of dist/, so they go.
const dropStaleChunks = {
  name: 'neurite-drop-stale-chunks',
  writeBundle(options, bundle) {
    const dir = `${options.dir}/chunks`;
    for (const f of readdirSync(dir)) if (!(`chunks/${f}` in bundle)) rmSync(`${dir}/${f}`, { force: true });
  },
};

const server = {
  input: { neurite: 'src/neurite.ts' },
  external,
  output: {
    dir: 'dist',
    format: 'cjs',
    // Lazy component chunks stay lazy.
    dynamicImportInCjs: false,
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    sourcemap: true,
  },
  onwarn(warning, warn) {
    // Circular requires inside CommonJS dependencies (semver, ajv) are theirs and harmless.
    if (warning.code === 'CIRCULAR_DEPENDENCY' && warning.ids?.every((id) => id.includes('node_modules'))) return;
    warn(warning);
  },
  plugins: [
    unusedStub,
    lazyBuiltins,
    nodeResolve({ preferBuiltins: true, exportConditions: ['node'] }),
    commonjs({ ignoreDynamicRequires: true }),
    json(),
    esbuild({ target: 'node22', minifyWhitespace: true, minifySyntax: true, legalComments: 'none' }),
    latin1Only,
    shebang,
    commonJsPackage,
    dropStaleChunks,
  ],
};

// The setup wizard's browser script and style sheet, served from dist/setup/
// by the setup component (one small script, no framework).
const setupAssets = {
  name: 'neurite-setup-assets',
  buildStart() {
    this.addWatchFile('src/components/setup/web/style.css');
  },
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'style.css', source: readFileSync('src/components/setup/web/style.css', 'utf8') });
  },
};

const web = {
  input: 'src/components/setup/web/app.ts',
  output: { dir: 'dist/setup', entryFileNames: 'app.js', format: 'iife' },
  plugins: [esbuild({ target: 'es2020', minify: true, legalComments: 'none', tsconfig: 'src/components/setup/web/tsconfig.json' }), setupAssets],
};

export default [server, web];
