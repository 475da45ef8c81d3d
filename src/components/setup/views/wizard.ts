/** The wizard's pages. Each form posts to its own address; errors come back in words beside the fields. */
import type { CheckItem, SystemCheck } from '../../../platform/system/health.js';
import { html, type SafeHtml } from '../html.js';
import type { Draft, Errors } from '../wizard/validate.js';
import { choices, errorSummary, field, notice } from './layout.js';

const STEP_LABELS = [
  ['code', 'Claim'],
  ['system', 'Check'],
  ['server', 'Name'],
  ['tls', 'Security'],
  ['accounts', 'Accounts'],
  ['review', 'Review'],
  ['progress', 'Start'],
] as const;

export function steps(current: string): SafeHtml {
  const at = STEP_LABELS.findIndex(([k]) => k === current);
  return html`<ol class="steps" aria-label="Setup steps">${STEP_LABELS.map(
    ([k, label], i) => html`<li class="${i < at ? 'past' : i === at ? 'now' : ''}"${i === at ? html` aria-current="step"` : ''}><span>${label}</span></li>`,
  )}</ol>`;
}

const hidden = (csrf: string) => html`<input type="hidden" name="csrf" value="${csrf}">`;

function form(action: string, csrf: string, inner: SafeHtml, submit: string, back?: string): SafeHtml {
  return html`<form method="post" action="${action}" novalidate>
${hidden(csrf)}
${inner}
<div class="actions">${back ? html`<a class="button secondary" href="${back}">Back</a>` : ''}<button class="primary">${submit}</button></div>
</form>`;
}

export function codePage(o: { error?: string; lockedSeconds?: number; codeFile: string }): SafeHtml {
  return html`${steps('code')}
<h1>Welcome to Neurite</h1>
<p class="lead">This device becomes your own Matrix chat server. First, show that it is yours: enter the setup code.</p>
<p>The code was printed on the device's console when it started, and written to the file <code>${o.codeFile}</code>${' '}(on a Raspberry Pi also to <code>neurite-setup-code.txt</code> on the card's boot partition, which any computer can read).</p>
${o.lockedSeconds ? notice('bad', `Too many wrong codes. Try again in ${o.lockedSeconds} seconds.`) : ''}
<form method="post" action="/setup/code" novalidate>
${field({ name: 'code', label: 'Setup code', value: '', hint: 'Twelve letters and digits, for example ABCD-EFGH-JK23. Case and dashes do not matter.', ...(o.error ? { error: o.error } : {}), attrs: html` autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" autofocus required` })}
<div class="actions"><button class="primary">Continue</button></div>
</form>`;
}

function levelIcon(level: CheckItem['level']): SafeHtml {
  return html`<span class="dot ${level}" aria-hidden="true"></span><span class="sr">${level === 'ok' ? 'Good' : level === 'warn' ? 'Warning' : 'Problem'}:</span>`;
}

export function systemPage(o: { check: SystemCheck; draft: Draft; errors: Errors; csrf: string }): SafeHtml {
  const c = o.check;
  return html`${steps('system')}
<h1>System check</h1>
<p class="lead">This is a <strong>${c.model}</strong>.</p>
<ul class="checks">${c.items.map(
    (i) => html`<li class="${i.level}">${levelIcon(i.level)}<span class="what">${i.label}</span><span class="value">${i.value}</span>${i.advice ? html`<span class="advice">${i.advice}</span>` : ''}</li>`,
  )}</ul>
${errorSummary(o.errors)}
${form(
  '/setup/system',
  o.csrf,
  choices(
    'mode',
    'How should the server run?',
    [
      { value: 'split', label: `Split${c.recommended === 'split' ? ' (recommended)' : ''}`, detail: 'Each part in its own process: sturdier, about 270 MB of memory.' },
      { value: 'monolith', label: `Monolith${c.recommended === 'monolith' ? ' (recommended)' : ''}`, detail: 'Everything in one process: under 80 MB, for boards with 1 GB or less.' },
    ],
    o.draft.mode ?? c.recommended,
    o.errors.mode,
  ),
  'Continue',
)}
<p class="hint">${c.recommendation}</p>`;
}

export function serverPage(o: { draft: Draft; errors: Errors; csrf: string; suggestion: string; form?: Record<string, string | undefined> }): SafeHtml {
  return html`${steps('server')}
<h1>Server name</h1>
<p class="lead">The server name is the part after the colon in every user id here: <code>@alice:<em>${o.draft.server_name ?? o.suggestion}</em></code>. It cannot be changed later.</p>
<details class="explain"><summary>What should I choose?</summary>
<ul>
<li><strong>Only at home:</strong> <code>neurite.local</code> works on your own network (phones and computers find the device by that name).</li>
<li><strong>With the rest of Matrix (federation):</strong> use a domain you own, such as <code>example.org</code>. Other servers look it up in DNS and reach this device on the federation port (8448), or wherever <code>https://example.org/.well-known/matrix/server</code> points them — that file lets the domain's web site stay elsewhere while chat is delegated here, e.g. <code>{"m.server": "chat.example.org:443"}</code>.</li>
<li>This device's network name stays <code>neurite.local</code>; the server name is only what users and other servers call it.</li>
</ul></details>
${errorSummary(o.errors)}
${form(
  '/setup/server',
  o.csrf,
  field({
    name: 'server_name',
    label: 'Server name',
    value: o.form?.server_name ?? o.draft.server_name ?? o.suggestion,
    hint: 'A domain name such as example.org, optionally with a port (example.org:8448).',
    ...(o.errors.server_name ? { error: o.errors.server_name } : {}),
    attrs: html` autocomplete="off" autocapitalize="none" spellcheck="false" required`,
  }),
  'Continue',
  '/setup/system',
)}`;
}

export function tlsPage(o: { draft: Draft; errors: Errors; csrf: string; form?: Record<string, string | undefined> }): SafeHtml {
  const v = (k: keyof Draft & string, d: string | number) => o.form?.[k] ?? (o.draft[k] as string | number | undefined) ?? d;
  const fed = v('federation_port', 8448);
  return html`${steps('tls')}
<h1>Security and ports</h1>
<p class="lead">Matrix clients and other servers talk to this device over HTTPS, which needs a certificate.</p>
${errorSummary(o.errors)}
${form(
  '/setup/tls',
  o.csrf,
  html`${choices(
    'tls',
    'Certificate',
    [
      { value: 'self-signed', label: 'Self-signed (for your network)', detail: 'Made now, for this device. Browsers warn about it; apps on your network accept it once trusted. Federation with other servers needs a real certificate.' },
      { value: 'files', label: 'Certificate files', detail: 'A certificate you already have for the server name (for example from Let’s Encrypt), as PEM files on this device.' },
    ],
    String(v('tls', 'self-signed')),
    o.errors.tls,
  )}
<div class="when-files">
${field({ name: 'tls_cert', label: 'Certificate file (PEM, full chain)', value: String(v('tls_cert', '')), ...(o.errors.tls_cert ? { error: o.errors.tls_cert } : {}), attrs: html` autocomplete="off" spellcheck="false"` })}
${field({ name: 'tls_key', label: 'Private key file (PEM)', value: String(v('tls_key', '')), ...(o.errors.tls_key ? { error: o.errors.tls_key } : {}), attrs: html` autocomplete="off" spellcheck="false"` })}
</div>
<div class="row">
${field({ name: 'client_port', label: 'Client port (HTTP, your network)', value: v('client_port', 8008), type: 'text', ...(o.errors.client_port ? { error: o.errors.client_port } : {}), attrs: html` inputmode="numeric" pattern="[0-9]*"` })}
${field({ name: 'federation_port', label: 'Federation port (HTTPS)', value: fed, type: 'text', ...(o.errors.federation_port ? { error: o.errors.federation_port } : {}), attrs: html` inputmode="numeric" pattern="[0-9]*"` })}
</div>
<p class="hint">To reach this server from outside your home, forward TCP port <strong>${fed}</strong> on your router to this device. It serves both other servers and your apps over HTTPS, so one forwarded port is enough.</p>`,
  'Continue',
  '/setup/server',
)}`;
}

export function accountsPage(o: { draft: Draft; errors: Errors; csrf: string; passwordKnown: boolean; serverName: string; form?: Record<string, string | undefined> }): SafeHtml {
  const reg = o.form?.registration ?? o.draft.registration ?? 'token';
  const num = (k: 'token_uses' | 'token_days', d: string) => o.form?.[k] ?? (o.draft[k] === null ? '' : o.draft[k] !== undefined ? String(o.draft[k]) : d);
  return html`${steps('accounts')}
<h1>Accounts</h1>
<p class="lead">The first account is the administrator: it signs in to this dashboard and to any Matrix app.</p>
${errorSummary(o.errors)}
${form(
  '/setup/accounts',
  o.csrf,
  html`${field({
    name: 'admin_username',
    label: 'Administrator user name',
    value: o.form?.admin_username ?? o.draft.admin_username ?? '',
    hint: html`Becomes <code>@name:${o.serverName}</code>. Lower-case letters, digits and . _ = - / +.`,
    ...(o.errors.admin_username ? { error: o.errors.admin_username } : {}),
    attrs: html` autocomplete="username" autocapitalize="none" spellcheck="false" required`,
  })}
${field({
  name: 'admin_password',
  label: 'Password',
  type: 'password',
  value: '',
  hint: o.passwordKnown ? 'Already entered; leave both empty to keep it.' : 'At least 10 characters. A few unrelated words make a good one.',
  ...(o.errors.admin_password ? { error: o.errors.admin_password } : {}),
  attrs: html` autocomplete="new-password"${o.passwordKnown ? '' : html` required`}`,
})}
${field({ name: 'admin_password2', label: 'Password again', type: 'password', value: '', ...(o.errors.admin_password2 ? { error: o.errors.admin_password2 } : {}), attrs: html` autocomplete="new-password"` })}
${choices(
  'registration',
  'Who may create accounts?',
  [
    { value: 'closed', label: 'Only the administrator', detail: 'You create every account on the dashboard.' },
    { value: 'token', label: 'People with a registration token (recommended)', detail: 'Share a token with family and friends; it can be limited in uses and time. The first one is made now.' },
    { value: 'open', label: 'Anyone', detail: 'Anyone who can reach the server can sign up. Spammers look for such servers.' },
  ],
  reg,
  o.errors.registration,
)}
<div class="when-token row">
${field({ name: 'token_uses', label: 'First token: uses', value: num('token_uses', '10'), hint: 'Empty: no limit.', ...(o.errors.token_uses ? { error: o.errors.token_uses } : {}), attrs: html` inputmode="numeric"` })}
${field({ name: 'token_days', label: 'Valid for days', value: num('token_days', '30'), hint: 'Empty: never expires.', ...(o.errors.token_days ? { error: o.errors.token_days } : {}), attrs: html` inputmode="numeric"` })}
</div>
<div class="when-open field${o.errors.open_ack ? ' invalid' : ''}">
<label class="check"><input type="checkbox" name="open_ack" value="yes" id="f-open_ack"${o.form?.open_ack === 'yes' ? html` checked` : ''}> I understand that anyone who can reach this server can create an account on it.</label>
${o.errors.open_ack ? html`<p class="error">${o.errors.open_ack}</p>` : ''}
</div>
${choices(
  'federation',
  'Talk to other Matrix servers (federation)?',
  [
    { value: 'on', label: 'Yes', detail: 'Join rooms and chat with people on other servers, such as matrix.org.' },
    { value: 'off', label: 'No, only this server', detail: 'A private island: nothing leaves this device. Can be changed later.' },
  ],
  o.form?.federation ?? (o.draft.federation === undefined ? 'on' : o.draft.federation ? 'on' : 'off'),
  o.errors.federation,
)}`,
  'Continue',
  '/setup/tls',
)}`;
}

export function reviewPage(o: { draft: Draft; csrf: string; error?: string; setupUrl: string }): SafeHtml {
  const d = o.draft;
  const row = (label: string, value: SafeHtml | string, change: string) => html`<div class="kv"><dt>${label}</dt><dd>${value}</dd><dd class="change"><a href="${change}">Change<span class="sr"> ${label.toLowerCase()}</span></a></dd></div>`;
  const regText =
    d.registration === 'token'
      ? `With a token (first token: ${d.token_uses ?? 'unlimited'} uses, ${d.token_days ? `${d.token_days} days` : 'never expires'})`
      : d.registration === 'open'
        ? 'Anyone'
        : 'Only the administrator';
  return html`${steps('review')}
<h1>Review</h1>
<p class="lead">Check the settings, then start the server. The server name cannot be changed afterwards.</p>
${o.error ? notice('bad', o.error) : ''}
<dl class="review">
${row('Server name', html`<strong>${d.server_name}</strong>`, '/setup/server')}
${row('Arrangement', d.mode === 'monolith' ? 'Monolith (one process)' : 'Split (one process per part)', '/setup/system')}
${row('Certificate', d.tls === 'files' ? `Files: ${d.tls_cert}, ${d.tls_key}` : 'Self-signed', '/setup/tls')}
${row('Ports', `client ${d.client_port} (HTTP), federation ${d.federation_port} (HTTPS)`, '/setup/tls')}
${row('Administrator', `@${d.admin_username}:${d.server_name}`, '/setup/accounts')}
${row('Registration', regText, '/setup/accounts')}
${row('Federation', d.federation ? 'On' : 'Off', '/setup/accounts')}
</dl>
<p class="hint">After this, the setup page stays at <code>${o.setupUrl}</code> as the dashboard.</p>
${form('/setup/apply', o.csrf, html``, 'Start the server', '/setup/accounts')}`;
}

export function progressPage(o: { error?: string; csrf: string }): SafeHtml {
  return html`${steps('progress')}
<h1>Starting your server</h1>
<p class="lead" data-progress-text>Writing the configuration and starting every part of the server. This takes a few seconds.</p>
<div class="progress" data-progress><div class="bar"><span data-progress-bar></span></div></div>
<ul class="procs" data-progress-list aria-live="polite"></ul>
${o.error ? notice('bad', o.error) : ''}
<div class="alert bad" role="alert" data-progress-error hidden></div>
<p><noscript>This page updates itself with JavaScript. Without it, reload the page to see the progress.</noscript></p>
<form method="post" action="/setup/retry" data-progress-retry${o.error ? '' : ' hidden'}>${hidden(o.csrf)}<button class="secondary">Try again</button></form>`;
}

export interface DoneInfo {
  serverName: string;
  admin: string;
  clientUrl: string;
  federationUrl: string;
  token?: string;
  federation: boolean;
}

export function donePage(o: DoneInfo): SafeHtml {
  return html`<h1 class="done-title"><span class="tick" aria-hidden="true">✓</span> Your server is running</h1>
<p class="lead"><strong>${o.serverName}</strong> is ready. Sign in as <code>${o.admin}</code>.</p>
<div class="grid two">
<section class="card">
<h2>Sign in from a phone</h2>
<img class="qr" src="/setup/qr.svg" width="220" height="220" alt="QR code of the homeserver address ${o.clientUrl}">
<p>Install <a href="https://element.io/download" rel="noreferrer noopener" target="_blank">Element</a>, choose <em>Edit</em> next to the homeserver, and scan or type:</p>
<p class="big"><code>${o.clientUrl}</code></p>
</section>
<section class="card">
<h2>Addresses</h2>
<dl class="review compact">
<div class="kv"><dt>On your network</dt><dd><code>${o.clientUrl}</code></dd></div>
<div class="kv"><dt>HTTPS${o.federation ? ' and federation' : ''}</dt><dd><code>${o.federationUrl}</code></dd></div>
</dl>
${
  o.token
    ? html`<h2>First registration token</h2><p>Give it to the people who should make an account here:</p><p class="big"><code data-copy>${o.token}</code></p>`
    : ''
}
</section>
</div>
<div class="actions"><a class="button primary" href="/login">Open the dashboard</a></div>`;
}

export function completeRefusal(): SafeHtml {
  return html`<h1>Setup is complete</h1><p class="lead">This server is set up. Sign in to the dashboard with an administrator account.</p><div class="actions"><a class="button primary" href="/login">Sign in</a></div>`;
}
