// A plain SVG bar chart of bench/run.mjs's medians: decode and prefill tok/s per model, one bar per
// implementation (horizontal bars, each panel scaled to its own maximum). No dependencies.

import { writeFileSync } from 'node:fs';

const IMPLS = [
  ['wasm', 'ringlm-wasm', '#2f6fb3'],
  ['native', 'ringlm native', '#7fb0e0'],
  ['llamacpp', 'llama.cpp native', '#d9822b'],
];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function chartSvg(report) {
  const models = report.models;
  const bar = 13, gap = 8, labelW = 90, panelW = 330, top = 58, panelGap = 40;
  const groupH = IMPLS.length * bar + gap;
  const height = top + models.length * groupH + 30;
  const width = labelW + 2 * panelW + panelGap + 20;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    'font-family="Helvetica, Arial, sans-serif" font-size="11">',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">ringlm vs llama.cpp, 1 thread, tokens per second (medians)</text>`,
  ];
  IMPLS.forEach(([, name, color], i) => {
    const x = 10 + i * 150;
    out.push(`<rect x="${x}" y="28" width="10" height="10" fill="${color}"/><text x="${x + 14}" y="37">${esc(name)}</text>`);
  });
  for (const [p, key, title] of [[0, 'decode', 'decode (64 tokens after 16)'], [1, 'prefill', 'prefill (128-token prompt)']]) {
    const x0 = labelW + p * (panelW + panelGap);
    const max = Math.max(...models.flatMap((m) => IMPLS.map(([k]) => m.impls[k]?.[key] ?? 0)));
    out.push(`<text x="${x0}" y="${top - 6}" font-weight="bold">${title}</text>`);
    models.forEach((m, j) => {
      const y0 = top + j * groupH;
      if (p === 0) out.push(`<text x="10" y="${y0 + 1.5 * bar + 4}">${esc(`${m.size} ${m.type}`)}</text>`);
      IMPLS.forEach(([k, , color], i) => {
        const v = m.impls[k]?.[key];
        if (v == null) return;
        const w = Math.max(1, (panelW - 60) * v / max);
        const y = y0 + i * bar;
        out.push(`<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${bar - 2}" fill="${color}"/>`);
        out.push(`<text x="${(x0 + w + 4).toFixed(1)}" y="${y + bar - 3}">${v.toFixed(v < 100 ? 1 : 0)}</text>`);
      });
    });
  }
  const m = report.machine;
  out.push(`<text x="10" y="${height - 10}" fill="#555">${esc(`${m.cpu}, ${m.cores} cores, Node ${m.node}, ${report.date.slice(0, 10)}`)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function writeChart(path, report) {
  writeFileSync(path, chartSvg(report));
}
