/**
 * A large upload and download through the running server's client port,
 * with the resident memory of chosen processes sampled all along: what
 * "memory stays flat" means, measured (e2e test and `make bench`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { cli } from './server.js';

/** Resident set of a process, in KiB (Linux). */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** The pid of each process of a running server, by process name. */
export function processPids(dataDir: string): Record<string, number> {
  const s = JSON.parse(cli(['status', '--data-dir', dataDir, '--json']).stdout) as { processes: { name: string; pid?: number }[] };
  return Object.fromEntries(s.processes.filter((p) => p.pid !== undefined).map((p) => [p.name, p.pid!]));
}

/** Samples RSS of some processes until stopped; answers the peak of each, in KiB. */
export function sampleRss(pids: Record<string, number>, everyMs = 5): { stop(): Record<string, number> } {
  const peak: Record<string, number> = {};
  const take = () => {
    for (const [name, pid] of Object.entries(pids)) {
      try {
        peak[name] = Math.max(peak[name] ?? 0, rssKb(pid));
      } catch {
        // the process went away; its peak so far stands
      }
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}

/** `size` bytes of a repeatable pseudo-random stream, made as it is read (the sender holds no copy either). */
export function patternStream(size: number, seed = 1): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  let x = seed >>> 0 || 1;
  const stream = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(256 * 1024, size - sent);
      const buf = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        // xorshift32
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        buf.writeUInt32LE(x >>> 0, i);
      }
      sent += n;
      hash.update(buf);
      this.push(buf);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

/** Streams a body to POST /upload; answers the status and content URI. */
export function streamUpload(port: number, token: string, body: Readable, size: number): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/_matrix/media/v3/upload?filename=big.bin', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': size } },
      (res) => {
        const c: Buffer[] = [];
        res.on('data', (b: Buffer) => c.push(b));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(c).toString() || 'null') }));
      },
    );
    req.on('error', reject);
    body.pipe(req);
  });
}

/** Streams a download through sha256 without keeping it; answers status, length and hash. */
export function streamDownload(port: number, token: string, path: string): Promise<{ status: number; bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (b: Buffer) => {
        bytes += b.length;
        hash.update(b);
      });
      res.on('end', () => resolve({ status: res.statusCode!, bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
