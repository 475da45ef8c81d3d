/**
 * Updates from the dashboard, in Chromium, on a server run by the device's
 * launcher: a tampered bundle uploaded is refused with its reason and
 * changes nothing; a good one uploaded is installed, switched to and kept,
 * and the page follows the restart; then the update check finds a newer
 * release at the update address, keeps it for consent, and the admin's
 * "Install" switches to it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import { fetchUpdateStatus, updateStatus } from '../../src/supervisor/update/apply.js';
import { stageApp } from '../../scripts/release/stage-app.js';
import { chromiumAvailable, launchBrowser } from '../helpers/browser.js';
import { cli, initServer, requireBuild, tempDir, waitFor } from '../helpers/server.js';
import { ARCH, bundle, makeKey, snapshot, startLauncher, TEST_BOARD } from './helpers.js';

requireBuild();
const work = tempDir('nt-dash-update-');
const key = makeKey(join(work, 'keys'), 'release');
const factory = join(work, 'factory');
stageApp(factory, ARCH, '0.1.0');
const good = bundle(join(work, 'neurite-0.2.0.bundle'), '0.2.0', key);
const newer = bundle(join(work, 'neurite-0.3.0.bundle'), '0.3.0', key);
// One byte of the payload changed after signing.
const tampered = join(work, 'tampered-0.2.0.bundle');
const bytes = readFileSync(good);
bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
writeFileSync(tampered, bytes);

const env = { NEURITE_RELEASE_PUBKEY: key.public, NEURITE_BOARD: TEST_BOARD, NEURITE_HEALTH_WINDOW_MS: '4000', NEURITE_LOG_LEVEL: 'warn' };

if (!chromiumAvailable()) {
  t.fail('Chromium is missing: apt-get install chromium (.ci/run does)');
} else {
  t.test('upload, refusal, switch, check and consent from the dashboard', async (t) => {
    const { dataDir, ports } = await initServer({ mode: 'monolith', tls: 'off' });
    const added = cli(['user', 'add', 'admin', '--password', 'correct horse battery', '--admin', '--data-dir', dataDir]);
    t.equal(added.status, 0, added.stderr);
    startLauncher(t, { dataDir, factory, runDir: join(work, 'run'), env });
    const base = `http://127.0.0.1:${ports.setup}`;
    /** This version runs, is kept, and its dashboard answers. */
    const running = async (version: string) => {
      const s = await fetchUpdateStatus(dataDir);
      if (!s || s.running.version !== version || s.trial) return undefined;
      return (await fetch(`${base}/login`).catch(() => undefined))?.ok ? s : undefined;
    };
    await waitFor('the factory version', () => running('0.1.0'), 60_000);

    const { context, close } = await launchBrowser();
    t.teardown(close);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    /** Signs in if the page asks for it, and opens Updates. */
    const openUpdates = async (p: Page) => {
      await p.goto(`${base}/dashboard/updates`);
      if (p.url().endsWith('/login')) {
        await p.fill('#f-user', 'admin');
        await p.fill('#f-password', 'correct horse battery');
        await Promise.all([p.waitForURL(/\/dashboard$/), p.click('button.primary')]);
        await p.goto(`${base}/dashboard/updates`);
      }
    };
    const uploadText = () => page.textContent('[data-upload-progress]').then((s) => s ?? '');
    const upload = async (file: string, until: RegExp) => {
      await page.setInputFiles('#f-bundle', file);
      await page.click('form[data-upload] button');
      await page.waitForFunction((re) => new RegExp(re).test((globalThis as any).document.querySelector('[data-upload-progress]')?.textContent ?? ''), until.source, { timeout: 60_000 });
    };

    await openUpdates(page);
    t.equal(await page.textContent('[data-update-running]'), '0.1.0', 'the page shows the factory version running');
    // The app directory without staging/ (where an upload lands first, and is deleted after a refusal).
    const installedFiles = () => Object.fromEntries(Object.entries(snapshot(join(dataDir, 'app'))).filter(([k]) => !k.startsWith('staging')));
    const before = installedFiles();
    await upload(tampered, /Refused/);
    t.match(await uploadText(), /Refused: .*(hash|signature|size|truncated|does not match)/i, 'a tampered bundle is refused with the reason');
    t.same(installedFiles(), before, 'and nothing installed');
    t.same(updateStatus(dataDir).slots, { a: null, b: null });
    t.same(snapshot(join(dataDir, 'app', 'staging')), {}, 'the upload itself is gone');

    await upload(good, /restarting into it/);
    t.match(await uploadText(), /version 0\.2\.0 installed in slot a; Neurite is restarting into it/, 'a good bundle is installed and switched to');
    await waitFor('0.2.0 kept', () => running('0.2.0'), 90_000);
    // The page follows the restart: it reloads once the new version is kept; the session is kept on disk, so no new sign-in.
    await page.waitForURL(/\/(login|dashboard\/updates)$/, { timeout: 30_000 }).catch(() => undefined);
    await page.goto(`${base}/dashboard/updates`);
    t.match(page.url(), /\/dashboard\/updates$/, 'the admin is still signed in after the restart');
    await openUpdates(page);
    t.equal(await page.textContent('[data-update-running]'), '0.2.0', 'after the restart the page shows 0.2.0 running');
    t.equal(await page.getAttribute('[data-update-last]', 'data-update-last'), 'installed', 'and that it was installed and kept');

    // The update address: a release document naming 0.3.0.
    const release = createServer((req, res) => {
      if (req.url === '/release.json') return res.end(JSON.stringify({ version: '0.3.0', url: 'neurite-0.3.0.bundle', notes: 'Faster sync.' }));
      if (req.url === '/neurite-0.3.0.bundle') return res.end(readFileSync(newer));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => release.listen(0, '127.0.0.1', r));
    t.teardown(() => release.close());
    await page.fill('#f-url', `http://127.0.0.1:${(release.address() as { port: number }).port}/release.json`);
    await Promise.all([page.waitForURL(/ok=saved$/), page.click('form[action="/dashboard/updates/settings"] button.primary')]);
    await Promise.all([page.waitForURL(/ok=checked$/), page.click('form[action="/dashboard/updates/check"] button')]);
    t.match(await page.textContent('#h-pending'), /Version 0\.3\.0 is ready/, 'check now: a newer release is found and kept for consent');
    t.match(await page.textContent('.notes'), /Faster sync\./, 'with its notes');
    t.equal((await fetchUpdateStatus(dataDir))?.running.version, '0.2.0', 'nothing installed without consent');
    // The admin is told in their Matrix client too: a server notice in their notices room.
    const api = `http://127.0.0.1:${ports.client}/_matrix/client/v3`;
    const call = async (method: string, path: string, body?: unknown, token?: string): Promise<any> =>
      (await fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) })).json();
    const login = await call('POST', '/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'admin' }, password: 'correct horse battery' });
    const invited = await waitFor('the notices invite', async () => {
      const s = await call('GET', '/sync', undefined, login.access_token);
      return Object.entries(s.rooms?.invite ?? {}).find(([, r]: [string, any]) => r.invite_state.events.some((e: any) => e.type === 'm.room.create' && e.sender.startsWith('@_server:')))?.[0];
    }, 30_000);
    await call('POST', `/rooms/${encodeURIComponent(invited)}/join`, {}, login.access_token);
    const history = await call('GET', `/rooms/${encodeURIComponent(invited)}/messages?dir=b&limit=20`, undefined, login.access_token);
    t.ok(history.chunk.some((e: any) => e.content?.msgtype === 'm.server_notice' && /0\.3\.0 is ready to install/.test(e.content.body)), 'the admin has a server notice of 0.3.0 waiting');
    page.once('dialog', (d) => void d.accept());
    await page.click('form[action="/dashboard/updates/approve"] button');
    await waitFor('0.3.0 kept', () => running('0.3.0'), 90_000);
    await openUpdates(page);
    t.equal(await page.textContent('[data-update-running]'), '0.3.0', 'the approved release runs and is kept');
    t.equal(await page.$('#h-pending'), null, 'and nothing waits any more');
    t.same(errors, [], 'no script error');
  });
}
