// chart.js: the wallboard's intraday chart — offered, answered and abandoned calls per
// quarter hour as bars (offered) with answered and abandoned drawn over them, in SVG.

const svgNS = "http://www.w3.org/2000/svg";

function el(tag, attrs, textContent) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (textContent !== undefined) e.textContent = textContent;
  return e;
}

function hhmm(iso) {
  return new Date(new Date(iso).getTime() + 8 * 3600e3).toISOString().slice(11, 16);
}

// niceMax rounds the largest value up to a scale of 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** drawIntraday replaces the contents of box with the chart of buckets. */
export function drawIntraday(box, buckets) {
  const W = 960, H = 300, L = 40, R = 12, T = 14, B = 28;
  // From 07:00 (or the first call) to the current quarter hour: the night is empty.
  let first = buckets.findIndex((b) => b.offered > 0);
  const seven = 28; // 07:00
  first = first < 0 ? seven : Math.min(first, seven);
  first = Math.max(0, Math.min(first, buckets.length - 8)); // at least two hours when there are
  const shown = buckets.slice(first);
  const max = niceMax(Math.max(0, ...shown.map((b) => b.offered)));
  const n = Math.max(shown.length, 1);
  const slot = (W - L - R) / n;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "sv-svg"});
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.append(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid-line" }));
    svg.append(el("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, String(Math.round(v))));
  }
  shown.forEach((b, i) => {
    const x = L + i * slot;
    const w = Math.max(1, slot - 2);
    const g = el("g", { "data-start": b.start });
    g.append(el("title", {}, `${hhmm(b.start)} 进线 ${b.offered}，接通 ${b.answered}，放弃 ${b.abandoned}`));
    g.append(el("rect", { x: x + 1, y: y(b.offered), width: w, height: H - B - y(b.offered), class: "bar-offered" }));
    const aw = Math.max(1, w * 0.45);
    g.append(el("rect", { x: x + 1, y: y(b.answered), width: aw, height: H - B - y(b.answered), class: "bar-answered" }));
    g.append(el("rect", { x: x + 1 + w - aw, y: y(b.abandoned), width: aw, height: H - B - y(b.abandoned), class: "bar-abandoned" }));
    svg.append(g);
    if (hhmm(b.start).endsWith(":00") && (n <= 40 || Number(hhmm(b.start).slice(0, 2)) % 2 === 0)) {
      svg.append(el("text", { x: x + 1, y: H - 8, class: "axis" }, hhmm(b.start)));
    }
  });
  svg.append(el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "base-line" }));
  box.replaceChildren(svg);
}
