/**
 * The image boots under emulation: qemu-system-aarch64 -M virt with Debian's
 * arm64 kernel, the test image's disk (root A, grown data partition) and a
 * user-mode network that reaches nothing but a port forwarded to 127.0.0.1.
 * At boot the data partition grows to fill the (larger) disk, the
 * supervisor starts from the launcher, the setup page answers through the
 * forwarded port, and the setup code is shown on the console and written to
 * the boot partition. A clean poweroff ends it.
 */
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freePort, tempDir, waitFor } from '../helpers/server.js';
import { testImageDir } from './image.js';

const dir = testImageDir();
const MiB = 1024 * 1024;

t.test('boot to the setup page, first-boot steps, clean poweroff', { timeout: 600_000 }, async (t) => {
  const disk = join(tempDir('nt-qemu-'), 'disk.img');
  copyFileSync(join(dir, 'images', 'neurite-rpi4.img'), disk);
  truncateSync(disk, 2048 * MiB); // a bigger "card": the data partition must grow into it
  const port = await freePort();
  const t0 = Date.now();
  const qemu = spawn('qemu-system-aarch64', [
    '-M', 'virt', '-cpu', 'cortex-a72', '-smp', '2', '-m', '1024',
    '-nographic', '-no-reboot',
    '-kernel', join(dir, 'qemu', 'vmlinuz'),
    '-initrd', join(dir, 'qemu', 'initramfs.cpio.gz'),
    '-append', 'root=/dev/vda2 rootfstype=ext4 ro console=ttyAMA0 rauc.slot=A',
    '-drive', `file=${disk},if=virtio,format=raw`,
    // restrict=on: the guest reaches nothing outside; only the forwarded port comes in.
    '-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:80`,
    '-device', 'virtio-net-pci,netdev=net0',
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let console = '';
  qemu.stdout.on('data', (d: Buffer) => (console += d.toString('latin1')));
  qemu.stderr.on('data', (d: Buffer) => (console += d.toString('latin1')));
  // The console without the kernel's own lines, which may land in the middle of an init script's
  // ("Stopping neurite: [ 13.28] hrtimer: interrupt took … ns\r\nOK"): what the scripts printed.
  const userland = () => console.replace(/\[\s*\d+\.\d+\] [^\r\n]*\r?\n/g, '');
  const exited = new Promise<number | null>((r) => qemu.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
  });
  t.on('fail', () => t.comment(console.slice(-6000)));

  const status = await waitFor('the setup page through the forwarded port', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    return r.status;
  }, 420_000);
  const bootMs = Date.now() - t0;
  t.comment(`power on → setup page answers: ${(bootMs / 1000).toFixed(1)} s`);
  t.ok(status < 500, `the setup page answers (${status})`);
  const page = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
  t.equal(page.status, 200, 'and leads to a page');

  t.match(console, /data: growing partition 4 of \/dev\/vda by \d+ MiB/, 'the data partition grew at first boot');
  t.match(userland(), /Starting neurite: OK/);
  const code = await waitFor('the setup code on the console', async () => /setup code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})/.exec(console)?.[1], 120_000);

  // Look inside through the serial console's shell.
  // The markers are computed by the shell, so the echo of the typed line does not match them.
  const n = Date.now() % 100000;
  const begin = `begin-${n + 1}`;
  const end = `end-${n + 2}`;
  qemu.stdin.write(`\necho begin-$((${n}+1)); grep -E 'vda[0-9]' /proc/partitions; mount; cat /mnt/boot/neurite-setup-code.txt; ls /data; ps | grep -e __child -e 'neurite.js start' | grep -v grep; ls -ln /data; grep -c native/memory.node /proc/[0-9]*/maps 2>/dev/null | grep -v ':0'; echo end-$((${n}+2))\n`);
  await waitFor('the console commands', async () => (console.includes(end) ? true : undefined), 60_000);
  const out = console.slice(console.indexOf(begin), console.indexOf(end));
  const sizes = Object.fromEntries([...out.matchAll(/\s(\d+)\s+(vda\d)/g)].map((m) => [m[2], Number(m[1])]));
  t.ok(sizes.vda4! > 800 * 1024, `data partition grew to ${sizes.vda4} KiB`);
  t.match(out, /\/dev\/vda2 on \/ type ext4 \(ro/, 'root is read-only');
  t.match(out, /\/dev\/vda4 on \/data type ext4 \(rw/, '/data is the data partition');
  t.match(out, /\/dev\/vda1 on \/mnt\/boot type vfat/, 'the boot partition is mounted');
  t.match(out, new RegExp(`\\n${code}\\r?\\n`), 'the setup code is on the boot partition');
  t.match(out, /setup-code\.txt/, 'and in /data');
  // The supervisor stays root; the processes that face the network do not (NEURITE_USER).
  const ps = out.split('\n').filter((l) => /__child|neurite\.js start/.test(l));
  t.ok(ps.some((l) => /\d+\s+root\s.*neurite\.js start/.test(l)), 'the supervisor runs as root');
  // (Matched per line, not by line start: the console may interleave the setup code message.)
  const children = ps.filter((l) => /__child/.test(l));
  t.ok(children.some((l) => /\d+\s+neurite\s.*__child/.test(l)), `the children run as neurite:\n${children.join('\n')}`);
  t.notOk(children.some((l) => /\d+\s+root\s.*__child/.test(l)), 'none as root');
  t.match(out, /\n\S+\s+\d+\s+0\s+0\s.*\sapp\r?\n/, '/data/app stays root\'s');
  t.match(out, /\n\S+\s+\d+\s+100\s+100\s.*\ssetup\r?\n/, 'what the setup process writes is the user\'s');
  // The arm64 build of our own native addon loads on the board's glibc and Node.
  t.match(out, /\/proc\/\d+\/maps:[1-9]/, 'a child has the memory addon (dist/native/memory.node) loaded');

  qemu.stdin.write('\npoweroff\n');
  const timer = setTimeout(() => qemu.kill('SIGKILL'), 90_000);
  const exit = await exited;
  clearTimeout(timer);
  t.equal(exit, 0, 'QEMU ends with the guest powered off');
  t.match(userland(), /Stopping neurite: OK/, 'neurite was stopped by the shutdown scripts');
  const boot = `${disk}@@${4 * MiB}`;
  t.equal(execFileSync('mtype', ['-i', boot, '::neurite-setup-code.txt'], { encoding: 'utf8' }).trim(), code, 'the code is on the card for any computer to read');
  t.comment(`whole boot check: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
