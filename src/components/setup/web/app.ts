/**
 * The setup port's only script (CSP: script-src 'self'). The pages work
 * without it; it adds what a form cannot: the start-up progress, live
 * health figures and charts, showing only the fields a choice needs,
 * confirmations, copy buttons, and the upload of an update bundle.
 */
const $ = <T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T | null => root.querySelector<T>(sel);
const $$ = <T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T[] => Array.from(root.querySelectorAll<T>(sel));

const MB = 1024 * 1024;
const GB = 1024 * MB;
const bytes = (n: number): string => (n >= GB ? `${(n / GB).toFixed(1)} GB` : n >= MB ? `${Math.round(n / MB)} MB` : `${Math.round(n / 1024)} KB`);
function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172800) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} days`;
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
  if (r.status === 401) {
    location.href = '/';
    throw new Error('signed out');
  }
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return (await r.json()) as T;
}

/** Fields that only matter for one choice: shown when it is selected. */
function dependentFields(): void {
  const rules: [string, string, string][] = [
    ['tls', 'files', '.when-files'],
    ['registration', 'token', '.when-token'],
    ['registration', 'open', '.when-open'],
  ];
  for (const [name, value, sel] of rules) {
    const target = $(sel);
    const radios = $$<HTMLInputElement>(`input[type=radio][name="${name}"]`);
    if (!target || radios.length === 0) continue;
    const update = () => {
      target.hidden = !radios.some((r) => r.checked && r.value === value);
    };
    radios.forEach((r) => r.addEventListener('change', update));
    update();
  }
}

function confirmations(): void {
  for (const form of $$<HTMLFormElement>('form[data-confirm]')) {
    form.addEventListener('submit', (e) => {
      if (!confirm(form.dataset.confirm ?? 'Are you sure?')) e.preventDefault();
    });
  }
}

function copyButtons(): void {
  if (!navigator.clipboard) return;
  for (const el of $$('[data-copy]')) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link copy';
    b.textContent = 'Copy';
    b.addEventListener('click', () => {
      void navigator.clipboard.writeText(el.textContent ?? '').then(() => {
        b.textContent = 'Copied';
        setTimeout(() => (b.textContent = 'Copy'), 1500);
      });
    });
    el.after(' ', b);
  }
}

interface Progress {
  phase: string;
  processes: { name: string; state: string }[];
  error?: string;
  next?: string;
}

/** The start-up page: polls until every process runs and setup is finished, through the switch-over. */
function progress(): void {
  const list = $('[data-progress-list]');
  if (!list) return;
  const bar = $('[data-progress-bar]');
  const text = $('[data-progress-text]');
  const errorBox = $('[data-progress-error]');
  const retry = $<HTMLFormElement>('[data-progress-retry]');
  let misses = 0;
  const tick = async () => {
    try {
      const p = await getJson<Progress>('/setup/progress.json');
      misses = 0;
      if (p.next) {
        location.href = p.next;
        return;
      }
      const running = p.processes.filter((x) => x.state === 'running').length;
      const total = p.processes.length;
      list.replaceChildren(
        ...p.processes.map((x) => {
          const li = document.createElement('li');
          li.className = x.state === 'running' ? 'ok' : 'wait';
          li.textContent = `${x.name}: ${x.state}`;
          return li;
        }),
      );
      const frac = total === 0 ? 0.15 : 0.2 + (0.7 * running) / total + (p.phase === 'complete' ? 0.1 : 0);
      bar?.setAttribute('data-w', String(Math.round(frac * 20)));
      if (text) text.textContent = total === 0 ? 'Writing the configuration and switching over…' : running < total ? `Starting: ${running} of ${total} parts running.` : 'Creating the administrator account…';
      if (errorBox) {
        errorBox.hidden = !p.error;
        errorBox.textContent = p.error ?? '';
      }
      if (retry) retry.hidden = !p.error;
    } catch {
      // The server is switching over: the setup page is away for a moment.
      misses++;
      if (text && misses > 2) text.textContent = 'Switching over to the new server…';
    }
    setTimeout(() => void tick(), 800);
  };
  void tick();
}

interface HealthJson {
  health: null | { cpu: number; load1: number; temp: number | null; mem_used: number; mem_total: number; disk_used: number; disk_total: number; uptime_s: number; net_rx: number; net_tx: number };
  processes_html: string;
  pss_kb: number;
}

function setStat(id: string, value: string): void {
  const el = $(`[data-stat="${id}"]`);
  if (el && el.textContent !== value) el.textContent = value;
}

/** The dashboard: live figures every 5 s, charts every minute. */
function liveHealth(): void {
  const stats = $('[data-live]');
  if (!stats) return;
  const procs = $('[data-procs]');
  const pct = (a: number, b: number) => (b > 0 ? `${Math.round((a / b) * 100)} %` : '—');
  const tick = async () => {
    try {
      const j = await getJson<HealthJson>(stats.dataset.live!);
      const h = j.health;
      if (h) {
        setStat('cpu', `${h.cpu.toFixed(0)} %`);
        setStat('cpu-sub', `load ${h.load1.toFixed(2)}`);
        setStat('temp', h.temp === null ? '—' : `${h.temp.toFixed(0)} °C`);
        setStat('mem', pct(h.mem_used, h.mem_total));
        setStat('mem-sub', `${bytes(h.mem_used)} of ${bytes(h.mem_total)}`);
        setStat('disk', pct(h.disk_used, h.disk_total));
        setStat('disk-sub', `${bytes(h.disk_total - h.disk_used)} free`);
        setStat('uptime', duration(h.uptime_s * 1000));
        setStat('net', `↓ ${bytes(h.net_rx)}/s`);
        setStat('net-sub', `↑ ${bytes(h.net_tx)}/s`);
      }
      setStat('pss', `${Math.round(j.pss_kb / 1024)} MB`);
      // Markup made and escaped by the server's own template.
      if (procs && procs.innerHTML !== j.processes_html) procs.innerHTML = j.processes_html;
      stats.dataset.updated = String(Date.now());
    } catch {
      // Keep the last figures; the next tick tries again.
    }
    setTimeout(() => void tick(), 5000);
  };
  void tick();

  const charts = $('[data-charts]');
  if (!charts) return;
  const W = 288;
  const H = 64;
  const DAY = 86_400_000;
  type Sample = NonNullable<HealthJson['health']> & { ts: number };
  const pick: Record<string, (s: Sample) => number | null> = {
    cpu: (s) => s.cpu,
    temp: (s) => s.temp,
    mem: (s) => (s.mem_total ? (s.mem_used / s.mem_total) * 100 : null),
    disk: (s) => (s.disk_total ? (s.disk_used / s.disk_total) * 100 : null),
  };
  const redraw = async () => {
    try {
      const j = await getJson<{ now: number; samples: Sample[] }>(charts.dataset.charts!);
      for (const svg of $$<SVGSVGElement>('svg[data-chart]', charts)) {
        const f = pick[svg.dataset.chart!];
        const max = Number(svg.dataset.max);
        const line = svg.querySelector('polyline');
        if (!f || !line) continue;
        const pts: string[] = [];
        for (const s of j.samples) {
          const v = f(s);
          const x = ((s.ts - (j.now - DAY)) / DAY) * W;
          if (v === null || x < 0) continue;
          pts.push(`${x.toFixed(1)},${(H - Math.max(0, Math.min(1, v / max)) * (H - 2) - 1).toFixed(1)}`);
        }
        if (pts.length === 1) pts.unshift(`${Math.max(0, Number(pts[0]!.split(',')[0]) - 3).toFixed(1)},${pts[0]!.split(',')[1]}`);
        line.setAttribute('points', pts.join(' '));
      }
    } catch {
      // next minute
    }
    setTimeout(() => void redraw(), 60_000);
  };
  setTimeout(() => void redraw(), 60_000);
}

/**
 * The Updates page: the chosen bundle goes up as the request body itself
 * (a 15 MB file needs no multipart parser on the board), then the page
 * follows the restart into the new version.
 */
function bundleUpload(): void {
  const form = $<HTMLFormElement>('form[data-upload]');
  if (!form) return;
  const input = $<HTMLInputElement>('input[type=file]', form)!;
  const progressLine = $('[data-upload-progress]', form)!;
  const button = $<HTMLButtonElement>('button', form)!;
  const show = (text: string, bad = false) => {
    progressLine.hidden = false;
    progressLine.textContent = text;
    progressLine.classList.toggle('error', bad);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const file = input.files?.[0];
    if (!file) return show('Choose a bundle file first.', true);
    button.disabled = true;
    show(`Uploading ${file.name} (${bytes(file.size)}) and checking it…`);
    void (async () => {
      try {
        const r = await fetch(form.action, {
          method: 'POST',
          body: file,
          credentials: 'same-origin',
          headers: { 'content-type': 'application/octet-stream', accept: 'application/json', 'x-csrf-token': document.body.dataset.csrf ?? '' },
        });
        const j = (await r.json()) as { error?: string; message?: string; version?: string; switching?: boolean };
        if (!r.ok) {
          button.disabled = false;
          return show(`Refused: ${j.error ?? `HTTP ${r.status}`}`, true);
        }
        show(j.message ?? 'Installed.');
        if (j.switching && j.version) waitForVersion(j.version, show);
        else button.disabled = false;
      } catch (err) {
        button.disabled = false;
        show(`The upload failed: ${(err as Error).message}`, true);
      }
    })();
  });
}

/** After a switch: asks every 2 s until the new version answers, then shows the page anew. */
function waitForVersion(version: string, show: (t: string) => void): void {
  const started = Date.now();
  const poll = async () => {
    try {
      const j = await getJson<{ status: { running: { version: string }; trial: unknown } }>('/dashboard/updates');
      if (j.status.running.version === version && !j.status.trial) return location.reload();
      const s = Math.round((Date.now() - started) / 1000);
      show(j.status.running.version === version ? `${version} runs on trial; it is kept once it has stayed healthy… (${s} s)` : `Restarting into ${version}… (${s} s)`);
    } catch {
      // Down while it restarts.
    }
    setTimeout(() => void poll(), 2000);
  };
  setTimeout(() => void poll(), 2000);
}

function focusErrors(): void {
  $('[data-focus]')?.focus();
}

document.addEventListener('DOMContentLoaded', () => {
  dependentFields();
  confirmations();
  copyButtons();
  progress();
  liveHealth();
  bundleUpload();
  focusErrors();
});
