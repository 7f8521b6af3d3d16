// chart.js — a line chart as SVG, for the KV cache experiment: several series of y against x (1, 2, 3, ... :
// a token's position), with axes, a few ticks and a legend. The chart is first a plain tree of
// { name, attributes, children, text }; the page turns it into DOM nodes (toElement: nothing is parsed
// as HTML) and `ringlm experiment --svg` into a file (toSvgText: every text and value escaped).

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 640, HEIGHT = 280;
const MARGIN = { left: 56, right: 16, top: 36, bottom: 40 };

function node(name, attributes = {}, text) {
  return { name, attributes, children: [], text };
}

const append = (parent, ...children) => parent.children.push(...children);

/** The tree as DOM nodes, in `document`. */
export function toElement(tree, document = globalThis.document) {
  const element = document.createElementNS(SVG, tree.name);
  for (const [key, value] of Object.entries(tree.attributes)) element.setAttribute(key, String(value));
  if (tree.text !== undefined) element.textContent = tree.text;
  for (const child of tree.children) element.append(toElement(child, document));
  return element;
}

const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** The tree as the text of an .svg file, with `style` (CSS) inside it. */
export function toSvgText(tree, style = '') {
  const write = (t, top) => {
    const attributes = { ...(top ? { xmlns: SVG } : {}), ...t.attributes };
    const open = `<${t.name}${Object.entries(attributes).map(([k, v]) => ` ${k}="${escape(v)}"`).join('')}>`;
    const inner = (top && style ? `<style>${escape(style)}</style>` : '') + (t.text !== undefined ? escape(t.text) : '') +
      t.children.map((c) => write(c, false)).join('');
    return `${open}${inner}</${t.name}>`;
  };
  return write(tree, true) + '\n';
}

/** Colours for a chart outside the page (the page's own come from style.css). */
export const STANDALONE_STYLE = 'svg{font:11px system-ui,sans-serif;fill:#687086;background:#fff}.grid{stroke:#e3e6ee}' +
  '.axis,.tick{stroke:#cfd4e0}.label{font-weight:600}.series{stroke-width:2;fill:none}.cached .series,polyline.cached{stroke:#15a05a}' +
  '.uncached .series,polyline.uncached{stroke:#d32f2f}.legend text{fill:#1a1e2b;font-size:12px}';

/** About `count` round tick values from 0 up to the first at or above `max` (steps of 1, 2 or 5 times a power of ten). */
function ticks(max, count) {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const values = [];
  for (let k = 0; values.length === 0 || values[values.length - 1] < max; k++) values.push(Number((k * step).toPrecision(12)));
  return values;
}

/**
 * @param series [{ name, values: number[], className }] (className colours the line and its legend entry)
 * @returns the chart as a tree (toElement, toSvgText)
 */
export function lineChart(series, { xLabel, yLabel, title }) {
  const points = Math.max(...series.map((s) => s.values.length));
  const yTicks = ticks(Math.max(...series.flatMap((s) => s.values)), 5);
  const yMax = yTicks[yTicks.length - 1] || 1;
  const plotW = WIDTH - MARGIN.left - MARGIN.right, plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (i) => MARGIN.left + (points > 1 ? (i / (points - 1)) * plotW : plotW / 2);  // i: 0-based
  const y = (v) => MARGIN.top + plotH - (v / yMax) * plotH;

  const svg = node('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', class: 'chart' });
  append(svg, node('title', {}, title));
  const axes = node('g', { class: 'axes' });
  for (const v of yTicks) {
    append(axes, node('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(v), y2: y(v), class: 'grid' }));
    append(axes, node('text', { x: MARGIN.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  for (const v of ticks(points, 5).filter((p) => p >= 1 && p <= points)) {
    append(axes, node('line', { x1: x(v - 1), x2: x(v - 1), y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 4, class: 'tick' }));
    append(axes, node('text', { x: x(v - 1), y: MARGIN.top + plotH + 16, 'text-anchor': 'middle' }, String(v)));
  }
  append(axes, node('line', { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotH, class: 'axis' }));
  append(axes, node('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH, class: 'axis' }));
  append(axes, node('text', { x: MARGIN.left + plotW / 2, y: HEIGHT - 6, 'text-anchor': 'middle', class: 'label' }, xLabel));
  append(axes, node('text', { x: 14, y: MARGIN.top + plotH / 2, 'text-anchor': 'middle', class: 'label',
    transform: `rotate(-90 14 ${MARGIN.top + plotH / 2})` }, yLabel));
  append(svg, axes);

  series.forEach((s, k) => {
    const line = node('polyline', {
      class: `series ${s.className}`, fill: 'none', 'data-series': s.name, 'data-points': s.values.length,
      points: s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '),
    });
    append(svg, line);
    const legend = node('g', { class: `legend ${s.className}`, transform: `translate(${MARGIN.left + 8 + k * 150} 14)` });
    append(legend, node('line', { x1: 0, x2: 20, y1: 0, y2: 0, class: 'series' }), node('text', { x: 26, y: 4 }, s.name));
    append(svg, legend);
  });
  return svg;
}
