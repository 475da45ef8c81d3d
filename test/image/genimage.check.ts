/**
 * The SD-card image as genimage made it (through post-image.sh, from a root
 * file system with package/neurite's files, overlays/ and post-build.sh):
 * the partition table read with sfdisk --json, the boot partition with
 * mtools and the root partition with debugfs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from '../../scripts/release/app-files.js';
import { tempDir } from '../helpers/server.js';
import { testImageDir } from './image.js';

const dir = testImageDir();
const img = join(dir, 'images', 'neurite-rpi4.img');
const MiB = 1024 * 1024;
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * MiB });

interface Part {
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
}
const table = JSON.parse(run('sfdisk', ['--json', img])) as { partitiontable: { label: string; sectorsize: number; partitions: Part[] } };
const parts = table.partitiontable.partitions;

t.test('partition table: MBR, boot + root A + root B + data, 4 MiB aligned', async (t) => {
  t.equal(table.partitiontable.label, 'dos');
  t.equal(parts.length, 4);
  const bytes = (p: Part) => ({ start: p.start * 512, size: p.size * 512 });
  for (const [i, p] of parts.entries()) {
    t.equal(bytes(p).start % (4 * MiB), 0, `partition ${i + 1} starts on a 4 MiB boundary`);
    t.equal(bytes(p).size % (4 * MiB), 0, `partition ${i + 1} is a multiple of 4 MiB`);
  }
  t.same(parts.map((p) => p.type), ['c', '83', '83', '83']);
  t.equal(parts[0]!.bootable, true, 'boot is active');
  t.same(parts.map((p) => bytes(p).size / MiB), [64, 512, 512, 64]);
  for (let i = 1; i < 4; i++) t.ok(parts[i]!.start >= parts[i - 1]!.start + parts[i - 1]!.size, `partition ${i + 1} does not overlap`);
});

const bootAt = `${img}@@${parts[0]!.start * 512}`;
const mtype = (path: string) => run('mtype', ['-i', bootAt, `::${path}`]);

t.test('boot partition (vfat): firmware config, U-Boot, boot script and environment', async (t) => {
  const listing = run('mdir', ['-b', '-i', bootAt, '::/']);
  for (const f of ['config.txt', 'cmdline.txt', 'u-boot.bin', 'boot.scr', 'uboot.env', 'start4.elf', 'fixup4.dat', 'bcm2711-rpi-4-b.dtb', 'overlays']) {
    t.match(listing, new RegExp(`::/${f.replace('.', '\\.')}\\b`, 'i'), f);
  }
  t.equal(mtype('config.txt').replace(/\r/g, ''), readFileSync(join(ROOT, 'buildroot-config/board/neurite/config_rpi4.txt'), 'utf8'));
  t.match(mtype('config.txt'), /^kernel=u-boot\.bin$/m, 'the firmware starts U-Boot');
  const work = tempDir('nt-boot-');
  run('mcopy', ['-i', bootAt, '::boot.scr', '::uboot.env', work]);
  const scr = readFileSync(join(work, 'boot.scr'));
  t.equal(scr.readUInt32BE(0), 0x27051956, 'boot.scr is a U-Boot image (mkimage)');
  t.match(scr.toString('latin1'), /BOOT_A_LEFT/, 'with the boot-attempt counter');
  const env = readFileSync(join(work, 'uboot.env'));
  t.equal(env.length, 0x4000, 'the environment is the size U-Boot and fw_env.config expect');
  t.match(env.subarray(4).toString('latin1'), /BOOT_ORDER=A B\0BOOT_A_LEFT=3\0BOOT_B_LEFT=3\0/);
});

function extract(p: Part, name: string): string {
  const file = join(tempDir('nt-part-'), name);
  run('dd', [`if=${img}`, `of=${file}`, 'bs=512', `skip=${p.start}`, `count=${p.size}`, 'conv=sparse', 'status=none']);
  return file;
}

t.test('root partition A (ext4): the application, the launcher, overlays/ and the keys', async (t) => {
  const root = extract(parts[1]!, 'root.ext4');
  const cat = (path: string) => run('debugfs', ['-R', `cat ${path}`, root]);
  const stat = (path: string) => run('debugfs', ['-R', `stat ${path}`, root]);
  t.equal(cat('/etc/fstab'), readFileSync(join(ROOT, 'overlays/etc/fstab'), 'utf8'), 'fstab from overlays/');
  t.match(cat('/etc/fstab'), /\/dev\/root\s+\/\s+ext4\s+ro,/, 'the root file system is mounted read-only');
  t.equal(cat('/etc/hostname'), 'neurite\n');
  t.equal(cat('/etc/neurite/board'), 'rpi4\n');
  t.equal(cat('/etc/neurite/release.pub'), readFileSync(join(ROOT, 'image/keys/development/DEVELOPMENT-ONLY-release.pub'), 'utf8'));
  t.match(cat('/etc/neurite/development-keys'), /DEVELOPMENT keys/, 'an image with development keys says so');
  t.match(cat('/etc/rauc/system.conf'), /^compatible=neurite-rpi4$/m);
  t.match(cat('/etc/rauc/system.conf'), /^bootloader=uboot$/m);
  t.match(cat('/etc/fw_env.config'), /^\/mnt\/boot\/uboot\.env 0x0000 0x4000$/m);
  t.match(cat('/etc/avahi/services/neurite.service'), /_http\._tcp/);
  const manifest = JSON.parse(cat('/opt/neurite/manifest.json')) as { version: string; files: { path: string }[] };
  t.ok(manifest.files.some((f) => f.path === 'node_modules/classic-level/prebuilds/linux-arm64/classic-level.armv8.node'), 'the arm64 native module is listed');
  t.notOk(manifest.files.some((f) => f.path.includes('linux-x64')), 'and no other architecture');
  t.match(stat('/opt/neurite/node_modules/classic-level/prebuilds/linux-arm64/classic-level.armv8.node'), /Type: regular/);
  t.ok(manifest.files.some((f) => f.path === 'dist/native/memory.node'), 'and our own, the memory addon');
  t.match(stat('/opt/neurite/dist/native/memory.node'), /Type: regular/);
  t.match(stat('/opt/neurite/dist/neurite.js'), /Mode:\s+0755/);
  for (const f of ['/etc/init.d/S90neurite', '/etc/init.d/S11data', '/usr/libexec/neurite/launch', '/usr/libexec/neurite/run']) t.match(stat(f), /Mode:\s+0755/, `${f} is executable`);
  t.match(stat('/usr/bin/node'), /Type: regular/);
  t.match(run('debugfs', ['-R', 'ls -l /data', root]), /\.\s/, '/data exists as a mount point');
});

t.test('root partition B is empty until the first system update', async (t) => {
  const b = readFileSync(extract(parts[2]!, 'b.img')).subarray(0, 4 * MiB);
  t.ok(b.every((x) => x === 0), 'no file system (zeros where a superblock would be)');
});

t.test('data partition', async (t) => {
  const data = extract(parts[3]!, 'data.ext4');
  t.match(run('dumpe2fs', ['-h', data]), /Filesystem volume name:\s+neurite-data/);
});
