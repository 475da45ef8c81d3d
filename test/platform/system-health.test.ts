/**
 * The health sample the dashboard and the maintenance job read: figures
 * from /proc and statfs, checked against what the system says otherwise
 * (os.totalmem, `df`, /proc/net/dev deltas), and CPU use that follows work.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { totalmem, tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { sampleHealth } from '../../src/platform/system/health.js';

const dir = mkdtempSync(join(tmpdir(), 'nt-health-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a sample, against other sources', async (t) => {
  const s = await sampleHealth(dir);
  t.equal(s.mem_total, totalmem(), 'memory total: what the kernel reports');
  t.ok(s.mem_used > 0 && s.mem_used < s.mem_total, 'memory used: between nothing and everything');
  // df -B1 on the same directory: size and available of its file system.
  const [, size, , avail] = execFileSync('df', ['-B1', '--output=source,size,used,avail', dir], { encoding: 'utf8' }).trim().split('\n')[1]!.trim().split(/\s+/).map((x, i) => (i === 0 ? 0 : Number(x)));
  t.equal(s.disk_total, size, 'disk size: what df says for the data directory');
  t.ok(Math.abs(s.disk_total - s.disk_used - avail!) < 64 * 1024 * 1024, 'disk free: what df says, give or take other writers');
  t.ok(Math.abs(s.uptime_s - uptime()) <= 2, 'uptime');
  t.ok(s.cpu >= 0 && s.cpu <= 100, `cpu ${s.cpu} % is a percentage`);
  t.ok(s.net_rx >= 0 && s.net_tx >= 0, 'network rates are rates');
  t.ok(s.temp === null || (s.temp > 0 && s.temp < 150), `temperature ${s.temp}: a sensor's reading or none`);
});

t.test('CPU use is measured since the previous sample', async (t) => {
  await sampleHealth(dir);
  // Keep one core busy for a while: the next sample sees it.
  const until = Date.now() + 400;
  let x = 0;
  while (Date.now() < until) x += Math.sqrt(x + 1);
  const busy = await sampleHealth(dir);
  t.ok(x > 0);
  t.ok(busy.cpu > 0, `a busy core shows (${busy.cpu} %)`);
});

t.test('a data directory that is gone: no disk figures, the rest still', async (t) => {
  const s = await sampleHealth(join(dir, 'missing'));
  t.equal(s.disk_total, 0);
  t.equal(s.disk_used, 0);
  t.ok(s.mem_total > 0);
});
