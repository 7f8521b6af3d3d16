// chart.js — a line chart as inline SVG, for the KV cache experiment: several series of y against x
// (1, 2, 3, ... : a token's position), with axes, a few ticks and a legend. Built from DOM nodes, never
// from HTML text, so nothing in the data is parsed.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 640, HEIGHT = 280;
const MARGIN = { left: 56, right: 16, top: 36, bottom: 40 };

function node(name, attributes = {}, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** About `count` round tick values from 0 to `max` (steps of 1, 2 or 5 times a power of ten). */
function ticks(max, count) {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const values = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) values.push(Number(v.toPrecision(12)));
  return values;
}

/**
 * @param series [{ name, values: number[], className }] (className colours the line and its legend entry)
 * @returns an <svg> element
 */
export function lineChart(series, { xLabel, yLabel, title }) {
  const points = Math.max(...series.map((s) => s.values.length));
  const yTicks = ticks(Math.max(...series.flatMap((s) => s.values)), 5);
  const yMax = yTicks[yTicks.length - 1] || 1;
  const plotW = WIDTH - MARGIN.left - MARGIN.right, plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (i) => MARGIN.left + (points > 1 ? (i / (points - 1)) * plotW : plotW / 2);  // i: 0-based
  const y = (v) => MARGIN.top + plotH - (v / yMax) * plotH;

  const svg = node('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', class: 'chart' });
  svg.append(node('title', {}, title));
  const axes = node('g', { class: 'axes' });
  for (const v of yTicks) {
    axes.append(node('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(v), y2: y(v), class: 'grid' }));
    axes.append(node('text', { x: MARGIN.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  for (const v of ticks(points, 5).filter((p) => p >= 1 && p <= points)) {
    axes.append(node('line', { x1: x(v - 1), x2: x(v - 1), y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 4 }));
    axes.append(node('text', { x: x(v - 1), y: MARGIN.top + plotH + 16, 'text-anchor': 'middle' }, String(v)));
  }
  axes.append(node('line', { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotH, class: 'axis' }));
  axes.append(node('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH, class: 'axis' }));
  axes.append(node('text', { x: MARGIN.left + plotW / 2, y: HEIGHT - 6, 'text-anchor': 'middle', class: 'label' }, xLabel));
  axes.append(node('text', { x: 14, y: MARGIN.top + plotH / 2, 'text-anchor': 'middle', class: 'label',
    transform: `rotate(-90 14 ${MARGIN.top + plotH / 2})` }, yLabel));
  svg.append(axes);

  series.forEach((s, k) => {
    const line = node('polyline', {
      class: `series ${s.className}`, fill: 'none', 'data-series': s.name, 'data-points': s.values.length,
      points: s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '),
    });
    svg.append(line);
    const legend = node('g', { class: `legend ${s.className}`, transform: `translate(${MARGIN.left + 8 + k * 150} 14)` });
    legend.append(node('line', { x1: 0, x2: 20, y1: 0, y2: 0, class: 'series' }), node('text', { x: 26, y: 4 }, s.name));
    svg.append(legend);
  });
  return svg;
}
