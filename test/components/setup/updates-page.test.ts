/**
 * What the dashboard's Updates page says in each state of updates: a
 * rollback with its reason, a trial under way, a release waiting for
 * consent, a fresh device; every value escaped.
 */
import t from 'tap';
import type { UpdateStatus } from '../../../src/supervisor/update/index.js';
import { updatesPage } from '../../../src/components/setup/views/updates.js';

const base: UpdateStatus = {
  board: 'rpi4',
  running: { slot: 'a', version: '0.2.0' },
  committed: { slot: 'a', version: '0.2.0' },
  slots: { a: '0.2.0', b: '0.3.0' },
  trial: null,
  system: { version: '2026.02.3', trial: null },
  pending: null,
  last: null,
};
const render = (status: Partial<UpdateStatus>, extra: Partial<Parameters<typeof updatesPage>[0]> = {}) =>
  updatesPage({ status: { ...base, ...status }, settings: { url: '', automatic: false }, check: undefined, csrf: 'c5rf', errors: {}, ...extra }).text;

t.test('a rollback says so, with the reason', async (t) => {
  const page = render({ last: { result: 'rolled-back', version: '0.3.0', reason: 'process neurite restarted during the health window', at: '2026-11-26T08:00:00.000Z' } });
  t.match(page, /data-update-last="rolled-back">Version 0\.3\.0 was rolled back \(2026-11-26 08:00 UTC\): process neurite restarted during the health window/);
  t.match(page, /class="alert bad"/, 'as a problem');
});

t.test('an installed update, a trial, a pending release', async (t) => {
  t.match(render({ last: { result: 'installed', version: '0.2.0', at: '2026-11-26T08:00:00.000Z' } }), /data-update-last="installed">Version 0\.2\.0 was installed and kept/);
  const trial = render({ trial: { version: '0.3.0', slot: 'b', from: 'a', health_window_ms: 120_000, starts: 1 } as unknown as UpdateStatus['trial'] });
  t.match(trial, /Version 0\.3\.0 is on trial in slot b: it is kept once it has stayed healthy for 120 s/);
  const pending = render({ pending: { version: '0.4.0', file: '/data/app/pending/x', url: 'https://updates.example/neurite-0.4.0.bundle', notes: '<b>Faster</b> sync', found_at: '2026-11-26T04:17:00.000Z' } });
  t.match(pending, /Version 0\.4\.0 is ready/);
  t.match(pending, /action="\/dashboard\/updates\/approve"/, 'with the consent button');
  t.match(pending, /&#60;b&#62;Faster&#60;\/b&#62; sync/, 'release notes are escaped');
  t.notMatch(pending, /<b>Faster/);
});

t.test('a fresh device: versions, no outcome, no pending release; the check disabled without an address', async (t) => {
  const page = render({ running: { slot: 'factory', version: '0.1.0' }, committed: { slot: 'factory' as never, version: '0.1.0' }, slots: { a: null, b: null } });
  t.match(page, /<strong data-update-running>0\.1\.0<\/strong> <span class="muted">\(factory version\)/);
  t.match(page, /a: empty · b: empty/);
  t.notMatch(page, /data-update-last/);
  t.notMatch(page, /h-pending/);
  t.match(page, /<button class="secondary" disabled>Check now/);
  t.match(render({}, { settings: { url: 'https://u.example/r.json', automatic: true } }), /<button class="secondary">Check now/);
  t.match(page, /name="csrf" value="c5rf"/, 'every form carries the CSRF token');
});
