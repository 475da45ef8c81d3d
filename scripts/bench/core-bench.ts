/**
 * Throughput of the core crypto and encoding paths: Ed25519 with node:crypto
 * and with tweetnacl, canonical JSON, and JSON signing plus verification of
 * an event-sized object. Each figure comes from a time-bounded loop after a
 * warm-up; nothing here asserts on time.
 */
import { pathToFileURL } from 'node:url';
import nacl from 'tweetnacl';
import { canonicalJson, canonicalJsonBytes } from '../../src/core/canonical-json.js';
import { decodeBase64 } from '../../src/core/base64.js';
import { sign, signingKeyFromSeed, verify, verifyAsync } from '../../src/core/ed25519.js';
import { signJson, verifyJsonSignature } from '../../src/core/signing.js';
import type { BenchResult } from './result.js';

const WARMUP_MS = 200;
const RUN_MS = 1000;

/** Calls fn in batches until `ms` have passed; returns calls per second. */
function opsPerSecond(fn: () => void, ms: number): number {
  let calls = 0;
  let batch = 1;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    elapsed = performance.now() - start;
    // Grow batches so the clock is read rarely, but keep each under ~10 ms.
    if (elapsed < ms / 100) batch *= 2;
  }
  return calls / (elapsed / 1000);
}

function measure(fn: () => void): number {
  opsPerSecond(fn, WARMUP_MS);
  return Math.round(opsPerSecond(fn, RUN_MS));
}

/** Keeps `inFlight` calls of fn going until `ms` have passed; returns calls per second. */
async function asyncOpsPerSecond(fn: () => Promise<void>, inFlight: number, ms: number): Promise<number> {
  let calls = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() - start < ms) {
        await fn();
        calls++;
      }
    }),
  );
  return calls / ((performance.now() - start) / 1000);
}

async function measureAsync(fn: () => Promise<void>, inFlight: number): Promise<number> {
  await asyncOpsPerSecond(fn, inFlight, WARMUP_MS);
  return Math.round(await asyncOpsPerSecond(fn, inFlight, RUN_MS));
}

/** A realistic m.room.message PDU, a little over 1 KB as canonical JSON. */
function sampleEvent(): Record<string, unknown> {
  return {
    auth_events: [
      '$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg',
      '$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o',
      '$9wqVQQ2bhXWbwuDZmdl5H8ZfnBQ06Wc3KtKeAvyx1qU',
    ],
    content: {
      body: 'Has anyone tried running the homeserver on the Pi 5 with an NVMe hat? Mine boots fine but the first federation join takes a while.',
      format: 'org.matrix.custom.html',
      formatted_body:
        '<p>Has anyone tried running the homeserver on the <b>Pi 5</b> with an NVMe hat? Mine boots fine but the first federation join takes a while.</p>',
      'm.mentions': { user_ids: ['@alice:example.org'] },
      'm.relates_to': { 'm.in_reply_to': { event_id: '$Kv6VQm7xcPJ8dYyBPLGbRm3cT3iXlDwQkAkrXyZ0vXw' } },
      msgtype: 'm.text',
    },
    depth: 48213,
    hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' },
    origin_server_ts: 1732591996000,
    prev_events: ['$h2oG1pQ_XKqLz1lJbDqH7tW0Xo6xAEN9bH4G0Gb8zF4'],
    room_id: '!OGEhHVWSdvArJzumhm:matrix.org',
    sender: '@bob:raspberry.example.net',
    type: 'm.room.message',
    signatures: {
      'raspberry.example.net': {
        'ed25519:a_XyZw': 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA',
      },
    },
    unsigned: { age_ts: 1732591996000, 'm.relations': {} },
  };
}

export async function run(): Promise<BenchResult[]> {
  const seed = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1')!;
  const key = signingKeyFromSeed('ed25519:1', seed);
  const event = sampleEvent();
  const message = canonicalJsonBytes(event);
  const size = `${message.length}-byte message`;

  // tweetnacl is timed with its secret key expanded once, as a long-lived
  // signing key would be (the wrapper in ed25519.ts re-derives it per call).
  const pair = nacl.sign.keyPair.fromSeed(seed);
  const signature = sign(key, message);

  // Results feed a sink so no loop body is dead code; wrong answers throw.
  let sink = 0;
  const results: BenchResult[] = [];

  results.push({
    name: 'ed25519 sign (node:crypto)',
    value: measure(() => {
      sink ^= sign(key, message)[0]!;
    }),
    unit: 'ops/s',
    note: size,
  });
  results.push({
    name: 'ed25519 verify, one at a time (node:crypto)',
    value: measure(() => {
      if (!verify(key.publicKey, message, signature)) throw new Error('node:crypto failed to verify');
    }),
    unit: 'ops/s',
    note: `${size}, on the calling thread: one core`,
  });
  // How the roomserver checks the events of a request (CONCURRENT_CHECKS in input/remote.ts).
  results.push({
    name: 'ed25519 verify, 8 in flight (node:crypto on libuv\'s pool)',
    value: await measureAsync(async () => {
      if (!(await verifyAsync(key.publicKey, message, signature))) throw new Error('node:crypto failed to verify');
    }, 8),
    unit: 'ops/s',
    budget: { op: '>=', value: 10000 },
    note: `${size}, as the roomserver checks a request's events: both cores`,
  });
  results.push({
    name: 'ed25519 sign (tweetnacl)',
    value: measure(() => {
      sink ^= nacl.sign.detached(message, pair.secretKey)[0]!;
    }),
    unit: 'ops/s',
    note: `${size}, secret key precomputed`,
  });
  results.push({
    name: 'ed25519 verify (tweetnacl)',
    value: measure(() => {
      if (!nacl.sign.detached.verify(message, signature, pair.publicKey)) throw new Error('tweetnacl failed to verify');
    }),
    unit: 'ops/s',
    note: size,
  });
  results.push({
    name: 'canonical JSON encode (event)',
    value: measure(() => {
      sink ^= canonicalJson(event).length;
    }),
    unit: 'ops/s',
    note: `${message.length} bytes out`,
  });
  results.push({
    name: 'signJson + verifyJsonSignature (event)',
    value: measure(() => {
      const signed = signJson(event, 'raspberry.example.net', key);
      if (!verifyJsonSignature(signed, 'raspberry.example.net', 'ed25519:1', key.publicKey)) throw new Error('signJson output failed to verify');
    }),
    unit: 'ops/s',
    note: `${message.length}-byte event, node:crypto`,
  });

  if (sink === -1) console.log(sink);
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) {
    const budget = r.budget ? ` (budget ${r.budget.op} ${r.budget.value})` : '';
    const note = r.note ? ` [${r.note}]` : '';
    console.log(`${r.name}: ${r.value} ${r.unit}${budget}${note}`);
  }
}
