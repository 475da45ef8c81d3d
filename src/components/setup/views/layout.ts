/** The frame of every page on the setup port: head, header, main, footer. */
import { html, type SafeHtml } from '../html.js';

export interface Assets {
  css: string;
  js: string;
}

export interface PageOptions {
  title: string;
  body: SafeHtml;
  assets: Assets;
  /** Dashboard navigation: the current section. */
  nav?: { current: string; user: string; csrf: string };
  /** Read by the script (polling addresses, CSRF token for its requests). */
  data?: Record<string, string>;
  wide?: boolean;
}

const SECTIONS = [
  ['/dashboard', 'Overview'],
  ['/dashboard/users', 'Users'],
  ['/dashboard/tokens', 'Tokens'],
  ['/dashboard/reports', 'Reports'],
  ['/dashboard/jobs', 'Jobs'],
  ['/dashboard/updates', 'Updates'],
  ['/dashboard/settings', 'Settings'],
] as const;

export const logo = html`<svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><circle cx="16" cy="16" r="4.5"/><circle cx="6" cy="7" r="3"/><circle cx="26" cy="8" r="3"/><circle cx="7" cy="25" r="3"/><circle cx="25" cy="25" r="3"/><path d="M16 16 6 7M16 16l10-8M16 16 7 25M16 16l9 9"/></svg>`;

export function page(o: PageOptions): SafeHtml {
  const data = Object.entries(o.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${o.title} · Neurite</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${o.assets.css}">
<script src="${o.assets.js}" defer></script>
</head>
<body${data}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">${logo}<span>Neurite</span></a>
  ${
    o.nav
      ? html`<nav aria-label="Dashboard"><ul>${SECTIONS.map(
          ([href, label]) => html`<li><a href="${href}"${o.nav!.current === href ? html` aria-current="page"` : ''}>${label}</a></li>`,
        )}</ul></nav>
  <form class="signout" method="post" action="/logout"><input type="hidden" name="csrf" value="${o.nav.csrf}"><span class="who">${o.nav.user}</span> <button class="link">Sign out</button></form>`
      : ''
  }
</header>
<main id="main" class="${o.wide ? 'wide' : 'narrow'}">
${o.body}
</main>
<footer class="foot">Neurite · a Matrix homeserver for your home</footer>
</body>
</html>`;
}

export interface FieldOptions {
  name: string;
  label: string;
  type?: string;
  value?: string | number | null;
  hint?: SafeHtml | string;
  error?: string;
  attrs?: SafeHtml;
}

/** A labelled input with its hint and error, tied together for screen readers. */
export function field(f: FieldOptions): SafeHtml {
  const id = `f-${f.name}`;
  const described = [f.hint ? `${id}-hint` : '', f.error ? `${id}-err` : ''].filter(Boolean).join(' ');
  return html`<div class="field${f.error ? ' invalid' : ''}">
  <label for="${id}">${f.label}</label>
  ${f.hint ? html`<p class="hint" id="${id}-hint">${f.hint}</p>` : ''}
  <input id="${id}" name="${f.name}" type="${f.type ?? 'text'}" value="${f.value ?? ''}"${described ? html` aria-describedby="${described}"` : ''}${f.error ? html` aria-invalid="true"` : ''}${f.attrs ?? ''}>
  ${f.error ? html`<p class="error" id="${id}-err">${f.error}</p>` : ''}
</div>`;
}

export interface Choice {
  value: string;
  label: string;
  detail?: SafeHtml | string;
}

/** Radio cards: one choice of several, each with a sentence about it. */
export function choices(name: string, legend: string, options: Choice[], current: string | undefined, error?: string): SafeHtml {
  return html`<fieldset class="choices${error ? ' invalid' : ''}"${error ? html` aria-describedby="f-${name}-err"` : ''}>
  <legend>${legend}</legend>
  ${options.map(
    (o) => html`<label class="choice"><input type="radio" name="${name}" value="${o.value}"${current === o.value ? html` checked` : ''}><span><strong>${o.label}</strong>${o.detail ? html`<small>${o.detail}</small>` : ''}</span></label>`,
  )}
  ${error ? html`<p class="error" id="f-${name}-err">${error}</p>` : ''}
</fieldset>`;
}

/** A summary of every error at the top of a form, as GOV.UK does: focusable, with links to the fields. */
export function errorSummary(errors: Record<string, string>): SafeHtml {
  const entries = Object.entries(errors);
  if (entries.length === 0) return html``;
  return html`<div class="alert bad" role="alert" tabindex="-1" data-focus>
  <h2>Please check ${entries.length === 1 ? 'this' : 'these'}</h2>
  <ul>${entries.map(([k, v]) => html`<li><a href="#f-${k}">${v}</a></li>`)}</ul>
</div>`;
}

export function notice(kind: 'ok' | 'warn' | 'bad' | 'info', text: SafeHtml | string): SafeHtml {
  return html`<div class="alert ${kind}" role="${kind === 'bad' ? 'alert' : 'status'}">${text}</div>`;
}
