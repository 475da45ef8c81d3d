/**
 * The wizard and the dashboard in a real browser (Debian's Chromium through
 * playwright-core), against the built server: from a blank data directory
 * to a working homeserver, a wrong setup code refused, the dashboard's live
 * health and media figures, a user created, made admin and back, a token
 * created, the Updates page (address checked, a non-bundle refused), a
 * non-admin refused. No page breaks the Content-Security-Policy.
 * Screenshots of every step go to test/screenshots/ for a person to look at.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { createClient } from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';
import type { Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser } from '../helpers/browser.js';
import { freePort, startServer, tempDir, versionsAnswer, waitFor } from '../helpers/server.js';

(logger as unknown as { setLevel(level: string): void }).setLevel('error');
const SHOTS = resolve(import.meta.dirname, '../screenshots');

if (!chromiumAvailable()) {
  t.fail('Chromium is missing: apt-get install chromium (.ci/run does)');
} else {
  t.test('from a blank data directory to a working homeserver, then the dashboard', async (t) => {
    mkdirSync(SHOTS, { recursive: true });
    const dataDir = join(tempDir(), 'data');
    const [setupPort, clientPort, federationPort] = [await freePort(), await freePort(), await freePort()];
    const server = await startServer(dataDir, { args: ['--setup-port', String(setupPort), '--bind', '127.0.0.1'] });
    t.teardown(() => server.kill());
    const base = `http://127.0.0.1:${setupPort}`;
    await waitFor('the setup port', async () => ((await fetch(`${base}/_neurite/setup/status`)).ok ? true : undefined));
    const code = readFileSync(join(dataDir, 'setup-code.txt'), 'utf8').trim();

    const { context, close } = await launchBrowser();
    t.teardown(close);
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(`script error: ${e.message}`));
    const shot = (name: string, p: Page = page) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

    await page.goto(base);
    t.match(page.url(), /\/setup\/code$/, 'a blank device opens on the setup code');
    await shot('01-setup-code');
    await page.fill('#f-code', 'WRNG-CODE-2345');
    await page.click('button.primary');
    t.match(await page.textContent('.field.invalid .error'), /not the setup code/, 'a wrong setup code is refused in words');
    await shot('02-setup-code-wrong');
    await page.fill('#f-code', code.toLowerCase());
    await Promise.all([page.waitForURL(/\/setup\/system$/), page.click('button.primary')]);

    t.ok(await page.isVisible('.checks'), 'the system check lists the machine');
    await shot('03-system-check');
    await page.check('input[name=mode][value=monolith]');
    await Promise.all([page.waitForURL(/\/setup\/server$/), page.click('button.primary')]);

    await page.fill('#f-server_name', 'not a name!');
    await page.click('button.primary');
    t.match(await page.textContent('.alert.bad'), /not a valid server name/, 'a bad server name is explained');
    await page.fill('#f-server_name', `localhost:${federationPort}`);
    await shot('04-server-name');
    await Promise.all([page.waitForURL(/\/setup\/tls$/), page.click('button.primary')]);

    t.ok(await page.isHidden('.when-files'), 'certificate paths only show for certificate files');
    await page.check('input[name=tls][value=files]');
    t.ok(await page.isVisible('.when-files'));
    await page.check('input[name=tls][value=self-signed]');
    await page.fill('#f-client_port', String(clientPort));
    await page.fill('#f-federation_port', String(federationPort));
    await shot('05-tls-and-ports');
    await Promise.all([page.waitForURL(/\/setup\/accounts$/), page.click('button.primary')]);

    await page.fill('#f-admin_username', 'admin');
    await page.fill('#f-admin_password', 'correct horse battery');
    await page.fill('#f-admin_password2', 'correct horse battery');
    await page.check('input[name=registration][value=token]');
    t.ok(await page.isVisible('.when-token'), 'token settings show for token registration');
    t.ok(await page.isHidden('.when-open'));
    await shot('06-accounts');
    await Promise.all([page.waitForURL(/\/setup\/review$/), page.click('button.primary')]);

    // A reload resumes where the wizard stands.
    await page.goto(`${base}/`);
    t.match(page.url(), /\/setup\/review$/, 'a reload comes back to the review');
    t.match(await page.textContent('dl.review'), new RegExp(`localhost:${federationPort}`));
    await shot('07-review');
    await Promise.all([page.waitForSelector('[data-progress-list]', { state: 'attached' }), page.click('button.primary')]);
    t.match(page.url(), /\/setup\/apply$/, 'the start answers with the progress page itself');
    await shot('08-progress');
    await page.waitForURL(/\/setup\/done$/, { timeout: 60_000 });
    await page.waitForLoadState('load');
    await shot('09-done');
    t.match(await page.textContent('h1'), /Your server is running/);
    const token = (await page.textContent('code[data-copy]'))?.trim();
    t.ok(token, 'the first registration token is shown');
    t.ok(await page.isVisible('img.qr'), 'with a QR code of the homeserver address');

    t.ok(await versionsAnswer(clientPort), '/_matrix/client/versions answers');
    const sdk = createClient({ baseUrl: `http://127.0.0.1:${clientPort}` });
    const login = await sdk.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'admin' }, password: 'correct horse battery' });
    t.equal(login.user_id, `@admin:localhost:${federationPort}`, 'the admin logs in with a Matrix client library');
    // Something for the dashboard's media figures.
    const uploaded = await fetch(`http://127.0.0.1:${clientPort}/_matrix/media/v3/upload?filename=note.txt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${login.access_token}`, 'content-type': 'text/plain' },
      body: 'x'.repeat(3000),
    });
    t.equal(uploaded.status, 200, 'the admin uploads a file');

    // The dashboard.
    await page.click('a.button.primary');
    t.match(page.url(), /\/login$/);
    await shot('10-sign-in');
    await page.fill('#f-user', 'admin');
    await page.fill('#f-password', 'correct horse battery');
    await Promise.all([page.waitForURL(/\/dashboard$/), page.click('button.primary')]);
    const first = await page.getAttribute('[data-live]', 'data-updated', { timeout: 10_000 }).catch(() => null);
    // The page's document through globalThis: this file is type-checked without the DOM library.
    await page.waitForFunction(
      (before) => {
        const v = (globalThis as any).document.querySelector('[data-live]')?.dataset.updated as string | undefined;
        return v !== undefined && v !== before;
      },
      first,
      { timeout: 20_000 },
    );
    t.pass('the health figures update live');
    t.match(await page.textContent('[data-procs]'), /neurite\s*running/, 'the process table shows the homeserver running');
    t.match(await page.textContent('[data-stat="mem"]'), /\d+ %/);
    t.equal(await page.textContent('[data-stat="media-local"]'), '3 KB', "the media figures count the admin's upload");
    t.match(await page.textContent('table.media-users'), /@admin:localhost\S*\s*1\s*3 KB/, 'who uploaded it');
    t.match(await page.textContent('.job-results'), /media-retention[\s\S]*media-cleanup/, "and the media jobs' state");
    await shot('11-dashboard');

    await page.click('a[href="/dashboard/users"]');
    await page.fill('#f-username', 'bob');
    await page.fill('#f-password', 'bobs own password');
    await Promise.all([page.waitForURL(/ok=created/), page.click('form[action="/dashboard/users"] button.primary')]);
    t.match(await page.textContent('table'), /@bob:localhost/, 'a new user is listed');
    const flags = (who: string) => page.locator(`tr[data-user^="@${who}:"] .flags`).textContent();
    t.match(await flags('admin'), /admin/, 'the administrator is flagged as one');
    t.notMatch(await flags('bob'), /admin/, 'bob is not');
    // Make bob an admin (after the confirmation), see the flag, then take it back for the non-admin check below.
    const adminButton = () => page.locator('tr[data-user^="@bob:"] form[action="/dashboard/users/admin"] button');
    await page.click('tr[data-user^="@bob:"] summary');
    page.once('dialog', (d) => void d.accept());
    await Promise.all([page.waitForURL(/ok=admin$/), adminButton().click()]);
    t.match(await flags('bob'), /admin/, 'made admin from the dashboard, bob is flagged as one');
    t.match(await page.textContent('.alert.ok'), /administrator now/);
    await shot('12-users');
    await page.click('tr[data-user^="@bob:"] summary');
    t.match(await adminButton().textContent(), /Remove admin/);
    page.once('dialog', (d) => void d.accept());
    await Promise.all([page.waitForURL(/ok=unadmin$/), adminButton().click()]);
    t.notMatch(await flags('bob'), /admin/, 'and no longer once removed');

    await page.click('a[href="/dashboard/tokens"]');
    await page.fill('#f-uses', '3');
    await page.fill('#f-days', '7');
    await page.click('form[action="/dashboard/tokens"] button.primary');
    const created = (await page.textContent('.alert.ok code'))?.trim();
    t.ok(created && created.length >= 8, 'a token is created and shown');
    t.match(await page.textContent('table'), new RegExp(created!), 'and listed');
    await shot('13-tokens');

    await page.click('a[href="/dashboard/jobs"]');
    await page.click('form[action="/dashboard/jobs/run"]:has(input[value="log-pruning"]) button');
    await page.waitForURL(/ok=ran/);
    t.match(await page.textContent('table'), /log-pruning[\s\S]*ok/, 'a job runs on demand and shows its result');
    await Promise.all([page.waitForURL(/ok=ran/), page.click('form[action="/dashboard/jobs/run"]:has(input[value="expired-logins"]) button')]);
    t.match(await page.textContent('tr:has(input[value="expired-logins"])'), /ok\s*\d+ access tokens? and \d+ refresh tokens? deleted/, 'the purge of expired logins too');
    await shot('14-jobs');

    // Updates: what runs, the update address checked in words, an upload that is not a bundle refused.
    await page.click('a[href="/dashboard/updates"]');
    t.match(await page.textContent('[data-update-running]'), /^\d+\.\d+\.\d+/, 'the running version is shown');
    await page.fill('#f-url', 'ftp://example.org/release.json');
    await page.click('form[action="/dashboard/updates/settings"] button.primary');
    t.match(await page.textContent('.field.invalid .error'), /must start with http/, 'an update address that is not http(s) is refused in words');
    await page.fill('#f-url', 'http://127.0.0.1:9/release.json');
    await Promise.all([page.waitForURL(/ok=saved$/), page.click('form[action="/dashboard/updates/settings"] button.primary')]);
    t.equal(await page.inputValue('#f-url'), 'http://127.0.0.1:9/release.json', 'a good one is saved');
    await Promise.all([page.waitForURL(/ok=checked$/), page.click('form[action="/dashboard/updates/check"] button')]);
    t.match(await page.textContent('[data-update-check]'), /update check at http:\/\/127\.0\.0\.1:9\/release\.json failed/, 'check now: an unreachable address is reported');
    await page.setInputFiles('#f-bundle', { name: 'holiday-photo.bundle', mimeType: 'application/octet-stream', buffer: Buffer.alloc(4096, 7) });
    await page.click('form[data-upload] button');
    await page.waitForFunction(() => /Refused/.test((globalThis as any).document.querySelector('[data-upload-progress]')?.textContent ?? ''), undefined, { timeout: 20_000 });
    t.match(await page.textContent('[data-upload-progress]'), /Refused: not an update bundle/, 'a file that is not a bundle is refused with the reason');
    const staging = join(dataDir, 'app', 'staging');
    t.same(existsSync(staging) ? readdirSync(staging) : [], [], 'and leaves nothing behind');
    await shot('14a-updates');
    await page.click('a[href="/dashboard/settings"]');
    await shot('15-settings');
    await page.click('a[href^="/dashboard/logs"]').catch(() => undefined);

    // A non-admin is refused.
    await page.goto(`${base}/dashboard`);
    await page.click('.signout button');
    await page.waitForURL(/\/login$/);
    await page.fill('#f-user', 'bob');
    await page.fill('#f-password', 'bobs own password');
    await page.click('button.primary');
    t.match(await page.textContent('.alert.bad'), /not an administrator/, 'a non-admin is refused');
    await shot('16-non-admin-refused');
    t.match(page.url(), /\/login$/);
    t.equal((await page.goto(`${base}/dashboard`))?.url().endsWith('/login'), true, 'and has no dashboard');

    // On a phone.
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${base}/login`);
    await shot('17-phone-sign-in', phone);

    t.same(violations, [], 'no Content-Security-Policy violation and no script error on any page');
  });
}
