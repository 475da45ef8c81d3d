/** The dashboard's pages: sign-in, overview (health, processes, media), users, tokens, jobs, settings. */
import type { HealthSample } from '../../../platform/system/health.js';
import { formatBytes } from '../../../platform/system/health.js';
import type { NeuriteConfig } from '../../../platform/config/schema.js';
import type { ContentReport, RegistrationToken, UserSummary } from '../../userapi/api.js';
import type { JobInfo } from '../../maintenance/api.js';
import type { MediaUsage } from '../../mediaapi/api.js';
import { html, type SafeHtml } from '../html.js';
import type { StatusView } from '../supervisor-client.js';
import { chart, type Series } from './charts.js';
import { choices, errorSummary, field, notice } from './layout.js';

const hidden = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} days`;
}

const when = (ts: number | null | undefined) => (ts ? new Date(ts).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');

export function loginPage(o: { error?: string; user?: string; notice?: string }): SafeHtml {
  return html`<h1>Sign in</h1>
<p class="lead">Sign in with a Matrix administrator account of this server.</p>
${o.notice ? notice('info', o.notice) : ''}
${o.error ? html`<div class="alert bad" role="alert" tabindex="-1" data-focus>${o.error}</div>` : ''}
<form method="post" action="/login" novalidate>
${field({ name: 'user', label: 'User name', value: o.user ?? '', attrs: html` autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus` })}
${field({ name: 'password', label: 'Password', type: 'password', attrs: html` autocomplete="current-password" required` })}
<div class="actions"><button class="primary">Sign in</button></div>
</form>`;
}

function stat(id: string, label: string, value: string, sub?: string): SafeHtml {
  return html`<div class="stat"><span class="label">${label}</span><span class="value" data-stat="${id}">${value}</span>${sub !== undefined ? html`<span class="sub" data-stat="${id}-sub">${sub}</span>` : ''}</div>`;
}

export function healthStats(h: HealthSample | undefined): SafeHtml {
  if (!h) return notice('warn', 'Health figures are not available right now.');
  const pct = (a: number, b: number) => (b > 0 ? `${Math.round((a / b) * 100)} %` : '—');
  return html`<div class="stats" data-live="/dashboard/health.json">
${stat('cpu', 'CPU', `${h.cpu.toFixed(0)} %`, `load ${h.load1.toFixed(2)}`)}
${stat('temp', 'Temperature', h.temp === null ? '—' : `${h.temp.toFixed(0)} °C`)}
${stat('mem', 'Memory', pct(h.mem_used, h.mem_total), `${formatBytes(h.mem_used)} of ${formatBytes(h.mem_total)}`)}
${stat('disk', 'Disk', pct(h.disk_used, h.disk_total), `${formatBytes(h.disk_total - h.disk_used)} free`)}
${stat('uptime', 'Up', duration(h.uptime_s * 1000))}
${stat('net', 'Network', `↓ ${formatBytes(h.net_rx)}/s`, `↑ ${formatBytes(h.net_tx)}/s`)}
</div>`;
}

export function charts(samples: HealthSample[], now: number): SafeHtml {
  const ts = samples.map((s) => s.ts);
  const series = (f: (s: HealthSample) => number | null): Series => ({ ts, values: samples.map(f) });
  return html`<div class="charts" data-charts="/dashboard/samples.json">
${chart({ id: 'cpu', label: 'CPU', series: series((s) => s.cpu), max: 100, now, unit: ' %' })}
${chart({ id: 'temp', label: 'Temperature', series: series((s) => s.temp), max: 90, now, unit: ' °C' })}
${chart({ id: 'mem', label: 'Memory', series: series((s) => (s.mem_total ? (s.mem_used / s.mem_total) * 100 : null)), max: 100, now, unit: ' %' })}
${chart({ id: 'disk', label: 'Disk', series: series((s) => (s.disk_total ? (s.disk_used / s.disk_total) * 100 : null)), max: 100, now, unit: ' %' })}
</div>`;
}

export function processRows(status: StatusView | undefined): SafeHtml {
  if (!status) return html`<tr><td colspan="6">The supervisor did not answer.</td></tr>`;
  return html`${status.processes.map(
    (p) => html`<tr>
<th scope="row">${p.name}</th>
<td><span class="badge ${p.state === 'running' ? 'ok' : p.state === 'crash-loop' ? 'bad' : 'warn'}">${p.state}</span></td>
<td class="num">${p.uptime_ms ? duration(p.uptime_ms) : '—'}</td>
<td class="num">${p.restarts}</td>
<td class="num">${p.memory ? `${(p.memory.pss_kb / 1024).toFixed(1)} MB` : '—'}</td>
<td><a href="/dashboard/logs?process=${encodeURIComponent(p.name)}">Log</a> <span class="muted small">${p.components.join(', ')}</span></td>
</tr>`,
  )}`;
}

/** What media takes on the card, who uploaded most, and what the media jobs last did. */
export function mediaSection(usage: MediaUsage | undefined, jobs: JobInfo[]): SafeHtml {
  if (!usage) return notice('warn', 'Media figures are not available right now.');
  return html`<div class="stats" data-media>
${stat('media-total', 'Stored', formatBytes(usage.total_bytes), `${usage.files} ${usage.files === 1 ? 'file' : 'files'}, ${usage.media} media`)}
${stat('media-local', 'Uploaded here', formatBytes(usage.local.bytes), `${usage.local.media} media`)}
${stat('media-remote', 'From other servers', formatBytes(usage.remote.bytes), `${usage.remote.media} media`)}
${stat('media-thumbs', 'Thumbnails', formatBytes(usage.thumbnails.bytes), `${usage.thumbnails.files} ${usage.thumbnails.files === 1 ? 'file' : 'files'}`)}
${stat('media-free', 'Free for media', usage.disk_free_bytes === null ? '—' : formatBytes(usage.disk_free_bytes))}
</div>
${
  usage.top_users.length
    ? html`<div class="table-wrap"><table class="media-users">
<thead><tr><th scope="col">Uploaded most</th><th scope="col" class="num">Media</th><th scope="col" class="num">Size</th></tr></thead>
<tbody>${usage.top_users.map((u) => html`<tr><th scope="row"><code>${u.user_id}</code></th><td class="num">${u.media}</td><td class="num">${formatBytes(u.bytes)}</td></tr>`)}</tbody>
</table></div>`
    : html`<p class="muted">Nobody has uploaded anything yet.</p>`
}
<ul class="job-results">${jobs.map(
    (j) => html`<li><a href="/dashboard/jobs">${j.name}</a>: ${j.last_run ? html`<span class="badge ${j.last_run.ok ? 'ok' : 'bad'}">${j.last_run.ok ? 'ok' : 'failed'}</span> ${when(j.last_run.finished_at)} · ${j.last_run.summary}` : html`<span class="muted">not run yet; next ${when(j.next_run)}</span>`}</li>`,
  )}</ul>`;
}

export function overviewPage(o: {
  sample: HealthSample | undefined;
  samples: HealthSample[];
  status: StatusView | undefined;
  media: MediaUsage | undefined;
  mediaJobs: JobInfo[];
  config: NeuriteConfig;
  now: number;
}): SafeHtml {
  const total = (o.status?.processes ?? []).reduce((a, p) => a + (p.memory?.pss_kb ?? 0), o.status?.supervisor.memory?.pss_kb ?? 0);
  return html`<h1>${o.config.server_name}</h1>
<p class="lead muted">Neurite ${o.status?.version ?? ''} · ${o.config.processes === 'monolith' ? 'monolith' : 'split'} · registration ${o.config.registration} · federation ${o.config.federation.enabled ? 'on' : 'off'}</p>
<section aria-labelledby="h-health"><h2 id="h-health">Health</h2>
${healthStats(o.sample)}
${charts(o.samples, o.now)}
</section>
<section aria-labelledby="h-procs"><h2 id="h-procs">Processes</h2>
<div class="table-wrap"><table class="procs-table">
<thead><tr><th scope="col">Process</th><th scope="col">State</th><th scope="col">Up</th><th scope="col">Restarts</th><th scope="col">Memory</th><th scope="col">Components</th></tr></thead>
<tbody data-procs="/dashboard/processes.json">${processRows(o.status)}</tbody>
</table></div>
<p class="muted small">Total memory (PSS, with the supervisor): <span data-stat="pss">${(total / 1024).toFixed(0)} MB</span>${o.status?.run_as ? html` · the processes run as the unprivileged user <code data-run-as>${o.status.run_as}</code>; only the supervisor is root` : ''}</p>
</section>
<section aria-labelledby="h-media"><h2 id="h-media">Media</h2>
${mediaSection(o.media, o.mediaJobs)}
</section>`;
}

export function logsPage(o: { process: string; lines: string[] }): SafeHtml {
  const pretty = (l: string) => {
    try {
      const j = JSON.parse(l) as { time?: string; level?: number; msg?: string; component?: string; [k: string]: unknown };
      const lvl = j.level === undefined ? '' : j.level >= 50 ? 'ERROR' : j.level >= 40 ? 'WARN' : j.level >= 30 ? 'INFO' : 'DEBUG';
      const { time, level: _l, msg, pid: _p, hostname: _h, process: _pr, component, ...rest } = j;
      const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
      return html`<li class="lvl-${lvl.toLowerCase()}"><time>${(time ?? '').slice(11, 19)}</time> <b>${lvl}</b> ${component ? html`<i>${component}</i> ` : ''}${msg ?? ''}${extra}</li>`;
    } catch {
      return html`<li>${l}</li>`;
    }
  };
  return html`<p><a href="/dashboard">← Overview</a></p>
<h1>Log of ${o.process}</h1>
<p class="muted">The last ${o.lines.length} lines this process wrote, newest last.</p>
${o.lines.length ? html`<ol class="log">${o.lines.map(pretty)}</ol>` : html`<p>Nothing logged yet.</p>`}`;
}

export const USERS_PAGE = 50;

export interface UsersList {
  users: UserSummary[];
  total: number;
  next?: number;
}

function userFlags(u: UserSummary): SafeHtml {
  return html`${u.admin ? html` <span class="badge ok">admin</span>` : ''}${u.guest ? html` <span class="badge">guest</span>` : ''}${u.locked ? html` <span class="badge bad">locked</span>` : ''}${u.suspended ? html` <span class="badge bad">suspended</span>` : ''}${u.deactivated ? html` <span class="badge bad">deactivated</span>` : ''}`;
}

function userActions(u: UserSummary, csrf: string, me: string): SafeHtml {
  if (u.deactivated) return html`<span class="muted small">No actions</span>`;
  const id = html`${hidden(csrf)}<input type="hidden" name="user_id" value="${u.user_id}">`;
  const self = u.user_id === me;
  return html`<details><summary>Manage<span class="sr"> ${u.user_id}</span></summary>
${u.guest ? '' : html`<form method="post" action="/dashboard/users/password">${id}
<label>New password <input type="password" name="password" autocomplete="new-password" minlength="10"></label> <button class="secondary">Reset password</button></form>`}
${
  u.admin
    ? html`<form method="post" action="/dashboard/users/admin" data-confirm="${self ? 'Remove your own administrator rights? You will be signed out of the dashboard.' : `Remove the administrator rights of ${u.user_id}?`}">${id}<input type="hidden" name="admin" value="no"><button class="secondary">Remove admin</button></form>`
    : u.guest
      ? ''
      : html`<form method="post" action="/dashboard/users/admin" data-confirm="Make ${u.user_id} an administrator? They can then manage this server.">${id}<input type="hidden" name="admin" value="yes"><button class="secondary">Make admin</button></form>`
}
${
  self || u.admin
    ? ''
    : html`<form method="post" action="/dashboard/users/moderate"${u.locked ? '' : html` data-confirm="Lock ${u.user_id}? Their apps stop working (they stay signed in) until you unlock the account."`}>${id}<input type="hidden" name="lock" value="${u.locked ? 'no' : 'yes'}"><button class="secondary">${u.locked ? 'Unlock' : 'Lock'}</button></form>
<form method="post" action="/dashboard/users/moderate"${u.suspended ? '' : html` data-confirm="Suspend ${u.user_id}? They can still read and leave, but not join, invite, send or change their profile."`}>${id}<input type="hidden" name="suspend" value="${u.suspended ? 'no' : 'yes'}"><button class="secondary">${u.suspended ? 'Lift suspension' : 'Suspend'}</button></form>`
}
${self ? '' : html`<form method="post" action="/dashboard/users/deactivate" data-confirm="Deactivate ${u.user_id}? This cannot be undone.">${id}<button class="danger">Deactivate</button></form>`}
</details>`;
}

function pager(q: string, from: number, list: UsersList): SafeHtml {
  if (list.total <= USERS_PAGE) return html``;
  const link = (f: number) => `/dashboard/users?${new URLSearchParams({ ...(q ? { q } : {}), from: String(f) }).toString()}`;
  const prev = from > 0 ? html`<a href="${link(Math.max(0, from - USERS_PAGE))}">← Previous</a>` : '';
  const next = list.next !== undefined ? html`<a href="${link(list.next)}">Next →</a>` : '';
  return html`<nav class="pager" aria-label="Pages of users">${prev} <span class="muted">${from + 1}–${from + list.users.length} of ${list.total}</span> ${next}</nav>`;
}

export function usersPage(o: { q: string; from?: number; list: UsersList | undefined; csrf: string; message?: string; errors: Record<string, string>; form?: Record<string, string | undefined>; me: string }): SafeHtml {
  const list = o.list;
  return html`<h1>Users</h1>
${o.message ? notice('ok', o.message) : ''}
${errorSummary(o.errors)}
<form method="get" action="/dashboard/users" class="search" role="search">
<label for="q" class="sr">Search users</label><input id="q" name="q" type="search" value="${o.q}" placeholder="Search by name or id">
<button class="secondary">Search</button>
</form>
${
  list
    ? html`<div class="table-wrap"><table class="users-table">
<thead><tr><th scope="col">User</th><th scope="col">Name</th><th scope="col">Created</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody>${list.users.map(
        (u) => html`<tr data-user="${u.user_id}"><th scope="row"><code>${u.user_id}</code><span class="flags">${userFlags(u)}</span></th><td>${u.displayname ?? ''}</td><td>${when(u.created_ts)}</td><td class="actions-cell">${userActions(u, o.csrf, o.me)}</td></tr>`,
      )}</tbody></table></div>
${list.users.length === 0 ? html`<p>No users found.</p>` : ''}${pager(o.q, o.from ?? 0, list)}`
    : notice('warn', 'The user list is not available right now.')
}
<section class="card" aria-labelledby="h-new"><h2 id="h-new">New user</h2>
<form method="post" action="/dashboard/users" novalidate>${hidden(o.csrf)}
<div class="row">
${field({ name: 'username', label: 'User name', value: o.form?.username ?? '', ...(o.errors.username ? { error: o.errors.username } : {}), attrs: html` autocomplete="off" autocapitalize="none" spellcheck="false"` })}
${field({ name: 'password', label: 'Password', type: 'password', ...(o.errors.password ? { error: o.errors.password } : {}), attrs: html` autocomplete="new-password"` })}
</div>
<label class="check"><input type="checkbox" name="admin" value="yes"${o.form?.admin === 'yes' ? html` checked` : ''}> Administrator</label>
<div class="actions"><button class="primary">Create user</button></div>
</form></section>`;
}

export function tokensPage(o: { tokens: RegistrationToken[]; csrf: string; message?: string; created?: string; errors: Record<string, string>; form?: Record<string, string | undefined>; registration: string }): SafeHtml {
  return html`<h1>Registration tokens</h1>
${o.registration !== 'token' ? notice('info', html`Registration is <strong>${o.registration}</strong>: tokens are only asked for when it is set to “with a token” (Settings).`) : ''}
${o.created ? notice('ok', html`Token created: <code data-copy>${o.created}</code>`) : o.message ? notice('ok', o.message) : ''}
${errorSummary(o.errors)}
<div class="table-wrap"><table>
<thead><tr><th scope="col">Token</th><th scope="col">Used</th><th scope="col">Allowed</th><th scope="col">Expires</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody>${o.tokens.map(
    (t) => html`<tr><th scope="row"><code>${t.token}</code></th><td class="num">${t.completed}${t.pending ? ` (+${t.pending})` : ''}</td><td class="num">${t.uses_allowed ?? '∞'}</td><td>${t.expiry_time ? when(t.expiry_time) : 'never'}${t.expiry_time && t.expiry_time < Date.now() ? html` <span class="badge bad">expired</span>` : ''}</td>
<td><form method="post" action="/dashboard/tokens/delete" data-confirm="Revoke this token?">${hidden(o.csrf)}<input type="hidden" name="token" value="${t.token}"><button class="danger">Revoke<span class="sr"> ${t.token}</span></button></form></td></tr>`,
  )}</tbody></table></div>
${o.tokens.length === 0 ? html`<p>No tokens yet.</p>` : ''}
<section class="card" aria-labelledby="h-newtoken"><h2 id="h-newtoken">New token</h2>
<form method="post" action="/dashboard/tokens" novalidate>${hidden(o.csrf)}
<div class="row">
${field({ name: 'uses', label: 'Uses', value: o.form?.uses ?? '', hint: 'Empty: no limit.', ...(o.errors.uses ? { error: o.errors.uses } : {}), attrs: html` inputmode="numeric"` })}
${field({ name: 'days', label: 'Valid for days', value: o.form?.days ?? '7', hint: 'Empty: never expires.', ...(o.errors.days ? { error: o.errors.days } : {}), attrs: html` inputmode="numeric"` })}
</div>
<div class="actions"><button class="primary">Create token</button></div>
</form></section>`;
}

export function jobsPage(o: { jobs: JobInfo[] | undefined; csrf: string; message?: string; error?: string }): SafeHtml {
  return html`<h1>Scheduled jobs</h1>
${o.message ? notice('ok', o.message) : ''}${o.error ? notice('bad', o.error) : ''}
${
  o.jobs
    ? html`<div class="table-wrap"><table>
<thead><tr><th scope="col">Job</th><th scope="col">Schedule</th><th scope="col">Last run</th><th scope="col">Result</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody>${o.jobs.map(
        (j) => html`<tr><th scope="row">${j.name}<span class="muted small block">${j.description}</span></th><td><code>${j.schedule}</code><span class="muted small block">next ${when(j.next_run)}</span></td>
<td>${j.last_run ? when(j.last_run.finished_at) : 'never'}</td>
<td>${j.last_run ? html`<span class="badge ${j.last_run.ok ? 'ok' : 'bad'}">${j.last_run.ok ? 'ok' : 'failed'}</span> ${j.last_run.summary}` : ''}</td>
<td><form method="post" action="/dashboard/jobs/run">${hidden(o.csrf)}<input type="hidden" name="name" value="${j.name}"><button class="secondary"${j.running ? html` disabled` : ''}>Run now<span class="sr"> ${j.name}</span></button></form></td></tr>`,
      )}</tbody></table></div>`
    : notice('warn', 'The maintenance component is not answering.')
}`;
}

export function settingsPage(o: { config: NeuriteConfig; csrf: string; message?: string; errors: Record<string, string> }): SafeHtml {
  return html`<h1>Settings</h1>
${o.message ? notice('ok', o.message) : ''}
${errorSummary(o.errors)}
<form method="post" action="/dashboard/settings" novalidate>${hidden(o.csrf)}
${choices(
  'registration',
  'Who may create accounts?',
  [
    { value: 'closed', label: 'Only administrators' },
    { value: 'token', label: 'People with a registration token' },
    { value: 'open', label: 'Anyone', detail: 'Anyone who can reach the server can sign up.' },
  ],
  o.config.registration,
  o.errors.registration,
)}
${choices(
  'federation',
  'Federation with other Matrix servers',
  [
    { value: 'on', label: 'On' },
    { value: 'off', label: 'Off' },
  ],
  o.config.federation.enabled ? 'on' : 'off',
  o.errors.federation,
)}
<p class="hint">Saving restarts the server's processes (a few seconds).</p>
<div class="actions"><button class="primary">Save and restart</button></div>
</form>`;
}

/** What a report is about, in words. */
function reportTarget(r: ContentReport): SafeHtml {
  if (r.kind === 'user') return html`user <code>${r.user_id ?? ''}</code>`;
  if (r.kind === 'room') return html`room <code>${r.room_id ?? ''}</code>`;
  return html`a message by <code>${r.user_id ?? '?'}</code> in <code>${r.room_id ?? ''}</code><span class="muted small block"><code>${r.event_id ?? ''}</code></span>`;
}

export function reportsPage(o: { reports: ContentReport[] | undefined; total: number; csrf: string; message?: string; error?: string }): SafeHtml {
  return html`<h1>Reports</h1>
<p class="lead muted">What people reported from their Matrix apps (“Report content”, “Report room”, “Report user”). Look into it, then dismiss the report.</p>
${o.message ? notice('ok', o.message) : ''}${o.error ? notice('bad', o.error) : ''}
${
  o.reports === undefined
    ? notice('warn', 'The report list is not available right now.')
    : o.reports.length === 0
      ? html`<p>No reports. <span class="muted">That is how it should be.</span></p>`
      : html`<div class="table-wrap"><table class="reports-table">
<thead><tr><th scope="col">Received</th><th scope="col">About</th><th scope="col">Reported by</th><th scope="col">Reason</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody>${o.reports.map(
          (r) => html`<tr data-report="${r.id}"><td>${when(r.received_ts)}</td><td>${reportTarget(r)}</td><td><code>${r.reporter}</code></td><td>${r.reason || html`<span class="muted">no reason given</span>`}</td>
<td><form method="post" action="/dashboard/reports/dismiss">${hidden(o.csrf)}<input type="hidden" name="id" value="${r.id}"><button class="secondary">Dismiss<span class="sr"> report ${r.id}</span></button></form></td></tr>`,
        )}</tbody></table></div>${o.total > o.reports.length ? html`<p class="muted small">The oldest ${o.reports.length} of ${o.total} are shown: dismiss some to see the rest.</p>` : ''}`
}`;
}
