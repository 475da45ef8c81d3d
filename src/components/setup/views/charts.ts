/**
 * Small SVG charts drawn on the server (the page needs no chart library);
 * the script redraws them from the same JSON. SVG attributes, not styles,
 * so the strict Content-Security-Policy holds.
 */
import { html, type SafeHtml } from '../html.js';

export const CHART_W = 288;
export const CHART_H = 64;
const DAY = 86_400_000;

export interface Series {
  ts: number[];
  values: (number | null)[];
}

/** Polyline points for values over the last 24 h, scaled to [0, max]. */
export function points(s: Series, max: number, now: number): string {
  const out: string[] = [];
  for (let i = 0; i < s.ts.length; i++) {
    const v = s.values[i];
    if (v === null || v === undefined) continue;
    const x = ((s.ts[i]! - (now - DAY)) / DAY) * CHART_W;
    if (x < 0) continue;
    const y = CHART_H - Math.max(0, Math.min(1, v / max)) * (CHART_H - 2) - 1;
    out.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  // A single sample would draw nothing: give it a short stroke.
  if (out.length === 1) {
    const [x, y] = out[0]!.split(',').map(Number) as [number, number];
    out.unshift(`${Math.max(0, x - 3).toFixed(1)},${y.toFixed(1)}`);
  }
  return out.join(' ');
}

export function chart(o: { id: string; label: string; series: Series; max: number; now: number; unit: string }): SafeHtml {
  const pts = points(o.series, o.max, o.now);
  const known = o.series.values.filter((v): v is number => typeof v === 'number');
  const summary = known.length ? `${o.label}, last 24 hours: low ${Math.min(...known).toFixed(0)}${o.unit}, high ${Math.max(...known).toFixed(0)}${o.unit}` : `${o.label}: no samples yet`;
  return html`<figure class="chart">
<figcaption>${o.label} <span class="muted">24 h</span></figcaption>
<svg viewBox="0 0 ${CHART_W} ${CHART_H}" preserveAspectRatio="none" role="img" aria-label="${summary}" data-chart="${o.id}" data-max="${o.max}">
<line class="grid" x1="0" y1="${CHART_H / 2}" x2="${CHART_W}" y2="${CHART_H / 2}"/>
<polyline points="${pts}"/>
</svg>
${known.length ? '' : html`<p class="muted small">Samples appear every 5 minutes.</p>`}
</figure>`;
}
