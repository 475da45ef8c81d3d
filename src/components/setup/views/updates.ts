/**
 * The dashboard's Updates page: what runs and what is installed, the last
 * update's outcome (a rollback says why), a release waiting for consent,
 * the update URL and automatic switch, and the upload of a bundle.
 */
import type { JobInfo } from '../../maintenance/api.js';
import type { UpdateSettings, UpdateStatus } from '../../../supervisor/update/index.js';
import { html, type SafeHtml } from '../html.js';
import { field, notice } from './layout.js';

const hidden = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;
const slotName = (s: string) => (s === 'factory' ? 'factory version' : s === 'dev' ? 'development build' : `slot ${s}`);

function lastOutcome(last: UpdateStatus['last']): SafeHtml {
  if (!last) return html``;
  const when = last.at.replace('T', ' ').slice(0, 16) + ' UTC';
  const what = `${last.version ? `Version ${last.version}` : 'An update'}`;
  switch (last.result) {
    case 'installed':
      return notice('ok', html`<span data-update-last="installed">${what} was installed and kept (${when}).</span>`);
    case 'staged':
      return notice('info', html`<span data-update-last="staged">${what} is installed and starts at the next restart (${when}).</span>`);
    default:
      return notice('bad', html`<span data-update-last="${last.result}">${what} was ${last.result.replace('-', ' ')} (${when})${last.reason ? html`: ${last.reason}` : '.'}</span>`);
  }
}

export function updatesPage(o: { status: UpdateStatus; settings: UpdateSettings; check: JobInfo | undefined; csrf: string; message?: string; error?: string; errors: Record<string, string> }): SafeHtml {
  const s = o.status;
  const run = o.check?.last_run;
  return html`<h1>Updates</h1>
${o.message ? notice('ok', html`<span data-update-message>${o.message}</span>`) : ''}${o.error ? notice('bad', html`<span data-update-error>${o.error}</span>`) : ''}
${lastOutcome(s.last)}
${s.trial ? notice('warn', html`Version ${s.trial.version} is on trial in slot ${s.trial.slot}: it is kept once it has stayed healthy for ${Math.round(s.trial.health_window_ms / 1000)} s, otherwise Neurite returns to the previous version by itself.`) : ''}
<section class="card" aria-labelledby="h-running"><h2 id="h-running">Installed</h2>
<dl class="kv-list">
<div class="kv"><dt>Running</dt><dd><strong data-update-running>${s.running.version}</strong> <span class="muted">(${slotName(s.running.slot)})</span></dd></div>
<div class="kv"><dt>Kept</dt><dd>${s.committed.version ?? '—'} <span class="muted">(${slotName(s.committed.slot)})</span></dd></div>
<div class="kv"><dt>Slots</dt><dd>a: ${s.slots.a ?? 'empty'} · b: ${s.slots.b ?? 'empty'}</dd></div>
${s.system.version ? html`<div class="kv"><dt>System</dt><dd>${s.system.version}</dd></div>` : ''}
<div class="kv"><dt>Board</dt><dd>${s.board}</dd></div>
</dl></section>
${
  s.pending
    ? html`<section class="card" aria-labelledby="h-pending"><h2 id="h-pending">Version ${s.pending.version} is ready</h2>
<p>Downloaded from <code>${s.pending.url}</code> and verified ${s.pending.found_at.replace('T', ' ').slice(0, 16)} UTC.</p>
${s.pending.notes ? html`<p class="notes">${s.pending.notes}</p>` : ''}
<form method="post" action="/dashboard/updates/approve" data-confirm="Install version ${s.pending.version} now? Neurite restarts into it (a minute without chat) and returns to this version by itself if it is not healthy.">${hidden(o.csrf)}
<div class="actions"><button class="primary">Install ${s.pending.version} now</button></div></form></section>`
    : ''
}
<section class="card" aria-labelledby="h-upload"><h2 id="h-upload">Install from a file</h2>
<p>An update bundle (<code>.bundle</code> from <code>make release</code>, or a system <code>.raucb</code>). Its signature and every file are checked before anything changes; a bundle that fails a check is refused with the reason.</p>
<form method="post" action="/dashboard/updates/upload" enctype="multipart/form-data" data-upload>${hidden(o.csrf)}
<div class="field"><label for="f-bundle">Bundle</label><input id="f-bundle" name="bundle" type="file" accept=".bundle,.raucb,.nab" required></div>
<p class="hint" data-upload-progress hidden></p>
<div class="actions"><button class="primary">Upload and install</button></div>
</form></section>
<section class="card" aria-labelledby="h-auto"><h2 id="h-auto">Automatic checks</h2>
<p>Every night the <em>update-check</em> job asks the update address for a newer release. ${
    run ? html`Last check: ${run.ok ? '' : html`<span class="badge bad">failed</span> `}<span data-update-check>${run.summary}</span>.` : 'It has not run yet.'
  }</p>
<form method="post" action="/dashboard/updates/settings" novalidate>${hidden(o.csrf)}
${field({ name: 'url', label: 'Update address', type: 'url', value: o.settings.url, hint: 'The release document (JSON) your vendor publishes. Empty: no checks.', ...(o.errors.url ? { error: o.errors.url } : {}), attrs: html` autocomplete="off" spellcheck="false" placeholder="https://…/release.json"` })}
<label class="check"><input type="checkbox" name="automatic" value="yes"${o.settings.automatic ? html` checked` : ''}> Install newer versions without asking</label>
<div class="actions"><button class="primary">Save</button></div>
</form>
<form method="post" action="/dashboard/updates/check">${hidden(o.csrf)}<button class="secondary"${o.settings.url ? '' : html` disabled`}>Check now</button></form>
</section>`;
}
