// ring-view.js — the page's live picture of the KV ring, drawn from lm.cacheState ({ position, capacity, anchors,
// windowStart, dropped, policy }; see CacheState in wasm/ringlm.d.ts).
//
// Two bars, joined by bands that say which token went where:
//   Tokens   the stream so far, positions 0 .. position: the anchors (sinks, or the tokens 'shift' keeps), the
//            dropped ones (hatched), the window the model still sees;
//   KV ring  its `capacity` slots: the anchors, the window, the free slots.
// Under 'sinks' the window slides one token at a time, under 'shift' half of it falls away at once, under 'stop'
// the ring fills and the generation ends. Beside the picture the same figures stand as text (a <dl>, each value
// marked with data-figure), and the SVG's title says them in a sentence.
//
// The elements are made once; show() only moves them, so the page can call it every animation frame.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 640, HEIGHT = 150;
const BAR_LEFT = 78, BAR_RIGHT = WIDTH - 10, BAR_WIDTH = BAR_RIGHT - BAR_LEFT;
const LEGEND_Y = 12;
const STREAM = { top: 42, height: 14, labelY: 36 };
const RING = { top: 96, height: 24, labelY: 136 };
const CELL_LINES_UP_TO = 128;  // slots drawn one by one up to this capacity (beyond, the lines would stripe the bar)
const LABEL_MIN_WIDTH = 44;    // a segment narrower than this (px) gets no label under it

const POLICY_WORDS = {
  sinks: (a) => `sinks: the first ${a} tokens stay for good (attention sinks); the window slides on one token at a time, dropping the oldest.`,
  shift: (a) => `shift: the first ${a} tokens stay; when the ring is full the older half of the window is dropped at once (llama.cpp's context shift).`,
  stop: () => 'stop: nothing is dropped; the generation ends when the ring is full.',
};

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function svgElement(name, attributes = {}, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** The figures the picture is drawn from, worked out once from a cache state. */
export function ringFigures({ position = 0, capacity = 0, anchors = 0, windowStart = 0, dropped = 0, policy } = {}) {
  const anchorsKept = Math.min(anchors, position);
  const windowFrom = Math.max(windowStart, anchorsKept);
  const window = Math.max(0, position - windowFrom);
  const held = anchorsKept + window;
  return {
    policy: position > 0 ? policy ?? '–' : '–', position, capacity, anchors, anchorsKept, windowFrom, window, held,
    free: Math.max(0, capacity - held), dropped,
    full: policy === 'stop' && capacity > 0 && position >= capacity,
  };
}

export class RingView {
  #parts = {};
  #figures = {};
  #capacity = -1;

  /** Fills `container` (an empty element) with the picture, its caption and the figures. */
  constructor(container) {
    const p = this.#parts;
    p.svg = svgElement('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', class: 'ring-picture', 'aria-labelledby': 'ring-title' });
    p.title = svgElement('title', { id: 'ring-title' });
    const defs = svgElement('defs');
    const hatch = svgElement('pattern', { id: 'ring-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
    hatch.append(svgElement('rect', { width: 6, height: 6, class: 'dropped-bg' }), svgElement('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'dropped-line' }));
    defs.append(hatch);
    p.svg.append(p.title, defs, this.#legend());

    p.svg.append(svgElement('text', { x: 0, y: STREAM.top + STREAM.height - 3, class: 'row-label' }, 'Tokens'),
      svgElement('text', { x: 0, y: RING.top + RING.height / 2 + 4, class: 'row-label' }, 'KV ring'));
    p.bandAnchors = svgElement('polygon', { class: 'band anchors' });
    p.bandWindow = svgElement('polygon', { class: 'band window' });
    p.streamTrack = svgElement('rect', { y: STREAM.top, height: STREAM.height, rx: 3, class: 'track' });
    p.streamAnchors = svgElement('rect', { y: STREAM.top, height: STREAM.height, class: 'segment anchors' });
    p.streamDropped = svgElement('rect', { y: STREAM.top, height: STREAM.height, class: 'segment dropped', fill: 'url(#ring-hatch)', 'data-part': 'stream-dropped' });
    p.streamWindow = svgElement('rect', { y: STREAM.top, height: STREAM.height, class: 'segment window' });
    p.droppedText = svgElement('text', { y: STREAM.top + STREAM.height - 3.5, 'text-anchor': 'middle', class: 'inside' });
    p.ringTrack = svgElement('rect', { x: BAR_LEFT, y: RING.top, width: BAR_WIDTH, height: RING.height, rx: 3, class: 'track free' });
    p.ringAnchors = svgElement('rect', { y: RING.top, height: RING.height, class: 'segment anchors', 'data-part': 'ring-anchors' });
    p.ringWindow = svgElement('rect', { y: RING.top, height: RING.height, class: 'segment window', 'data-part': 'ring-window' });
    p.cells = svgElement('path', { class: 'cells' });
    p.streamTicks = svgElement('g', { class: 'ticks' });
    p.ringLabels = svgElement('g', { class: 'ticks' });
    p.svg.append(p.bandAnchors, p.bandWindow, p.streamTrack, p.streamAnchors, p.streamDropped, p.streamWindow, p.droppedText,
      p.ringTrack, p.ringAnchors, p.ringWindow, p.cells, p.streamTicks, p.ringLabels);

    p.caption = document.createElement('p');
    p.caption.className = 'hint ring-caption';
    const list = document.createElement('dl');
    list.className = 'info ring-figures';
    for (const [key, term] of [['policy', 'Policy'], ['capacity', 'Capacity'], ['anchors', 'Sinks kept'], ['window', 'Window'],
      ['held', 'In the ring'], ['dropped', 'Dropped'], ['position', 'Position']]) {
      const row = document.createElement('div');
      const dt = document.createElement('dt'), dd = document.createElement('dd');
      dt.textContent = term;
      dd.dataset.figure = key;
      dd.textContent = '–';
      row.append(dt, dd);
      list.append(row);
      this.#figures[key] = { dt, dd };
    }
    container.replaceChildren(p.svg, p.caption, list);
  }

  #legend() {
    const legend = svgElement('g', { class: 'legend' });
    let x = BAR_LEFT;
    for (const [className, text] of [['anchors', 'kept for good'], ['window', 'window (seen)'], ['dropped', 'dropped'], ['free', 'free slots']]) {
      const swatch = svgElement('rect', { x, y: LEGEND_Y - 8, width: 10, height: 10, rx: 2, class: `segment ${className}` });
      if (className === 'dropped') swatch.setAttribute('fill', 'url(#ring-hatch)');
      if (className === 'free') swatch.setAttribute('class', 'track free');
      const label = svgElement('text', { x: x + 14, y: LEGEND_Y + 1 }, text);
      legend.append(swatch, label);
      x += 14 + text.length * 6.2 + 18;
    }
    return legend;
  }

  /** Draws `cache` (lm.cacheState). Cheap: attributes and texts only, except when the capacity changes. */
  show(cache) {
    const f = ringFigures(cache);
    const p = this.#parts;
    if (f.capacity !== this.#capacity) this.#drawCells(f.capacity);

    // Tokens: to the scale of the stream, or of the ring while the stream is shorter.
    const streamScale = BAR_WIDTH / Math.max(f.position, f.capacity, 1);
    const sx = (position) => BAR_LEFT + position * streamScale;
    const droppedFrom = f.anchorsKept, droppedTo = f.windowFrom;
    setBox(p.streamTrack, sx(0), sx(Math.max(f.position, f.capacity)));
    setBox(p.streamAnchors, sx(0), sx(f.anchorsKept));
    setBox(p.streamDropped, sx(droppedFrom), sx(droppedTo));
    setBox(p.streamWindow, sx(f.windowFrom), sx(f.position));
    const droppedWidth = (droppedTo - droppedFrom) * streamScale;
    p.droppedText.textContent = f.dropped > 0 && droppedWidth > 84 ? `${integer.format(f.dropped)} dropped` : '';
    p.droppedText.setAttribute('x', (sx(droppedFrom) + sx(droppedTo)) / 2);

    // The ring: the anchors, then the window, then free slots.
    const rx = (slot) => BAR_LEFT + (f.capacity ? (slot * BAR_WIDTH) / f.capacity : 0);
    setBox(p.ringAnchors, rx(0), rx(f.anchorsKept));
    setBox(p.ringWindow, rx(f.anchorsKept), rx(f.held));

    // Bands from where the kept tokens are in the stream to where they sit in the ring.
    const streamBottom = STREAM.top + STREAM.height, ringTop = RING.top;
    setBand(p.bandAnchors, sx(0), sx(f.anchorsKept), rx(0), rx(f.anchorsKept), streamBottom, ringTop);
    setBand(p.bandWindow, sx(f.windowFrom), sx(f.position), rx(f.anchorsKept), rx(f.held), streamBottom, ringTop);

    setLabels(p.streamTicks, streamTicks(f, sx), STREAM.labelY);
    const ringLabels = [];
    const anchorWord = f.policy === 'shift' ? 'kept' : 'sinks';
    if (rx(f.anchorsKept) - rx(0) >= LABEL_MIN_WIDTH) ringLabels.push([(rx(0) + rx(f.anchorsKept)) / 2, `${f.anchorsKept} ${anchorWord}`, 'middle']);
    if (rx(f.held) - rx(f.anchorsKept) >= LABEL_MIN_WIDTH) ringLabels.push([(rx(f.anchorsKept) + rx(f.held)) / 2, `${integer.format(f.window)} window`, 'middle']);
    const freeLabel = f.full ? 'full: stopped' : `${integer.format(f.free)} free`;
    if (rx(f.capacity) - rx(f.held) >= LABEL_MIN_WIDTH * 1.6 || f.full) ringLabels.push([BAR_RIGHT, `${freeLabel} · ${integer.format(f.capacity)} slots`, 'end']);
    else ringLabels.push([BAR_RIGHT, `${integer.format(f.capacity)} slots`, 'end']);
    setLabels(p.ringLabels, ringLabels, RING.labelY);

    this.#showFigures(f);
  }

  #drawCells(capacity) {
    this.#capacity = capacity;
    let d = '';
    if (capacity > 1 && capacity <= CELL_LINES_UP_TO) {
      for (let slot = 1; slot < capacity; slot++) {
        const x = (BAR_LEFT + (slot * BAR_WIDTH) / capacity).toFixed(2);
        d += `M${x} ${RING.top}V${RING.top + RING.height}`;
      }
    }
    this.#parts.cells.setAttribute('d', d);
  }

  #showFigures(f) {
    const set = (key, text) => {
      if (this.#figures[key].dd.textContent !== text) this.#figures[key].dd.textContent = text;
    };
    this.#figures.anchors.dt.textContent = f.policy === 'shift' ? 'Kept first' : 'Sinks kept';
    set('policy', f.policy);
    set('capacity', integer.format(f.capacity));
    set('anchors', integer.format(f.anchorsKept));
    set('window', f.window > 0 ? `${integer.format(f.window)} (${integer.format(f.windowFrom)}–${integer.format(f.position - 1)})` : '0');
    set('held', `${integer.format(f.held)} / ${integer.format(f.capacity)}`);
    set('dropped', integer.format(f.dropped));
    set('position', integer.format(f.position));

    const summary = `KV ring of ${f.capacity} slots under '${f.policy}': ${f.anchorsKept} kept for good, a window of ${f.window} ` +
      `(positions ${f.windowFrom} to ${Math.max(f.windowFrom, f.position - 1)}), ${f.free} free; ${f.dropped} tokens dropped of ${f.position}.`;
    this.#parts.title.textContent = summary;
    const words = POLICY_WORDS[f.policy];
    const caption = words ? words(f.anchors) + (f.full ? ' The ring is full: the generation stopped.' : '')
      : 'Generate to watch the ring fill; load a model with a small context size (say 64) to see each policy at work past it.';
    if (this.#parts.caption.textContent !== caption) this.#parts.caption.textContent = caption;
  }
}

const textWidth = (text) => text.length * 6.2 + 4;  // about, at 11px

/** Positions over the stream: 0, where the window starts (when tokens were dropped) and the newest, none overlapping. */
function streamTicks(f, sx) {
  const ticks = [[sx(0), '0', 'start']];
  if (f.position === 0) return ticks;
  const newest = integer.format(f.position);
  const right = sx(f.position);
  // The newest position ends at its place, or starts just after the 0 when there is no room before it.
  const end = right - BAR_LEFT >= textWidth('0') + textWidth(newest) ? [right, newest, 'end'] : [BAR_LEFT + textWidth('0') + 4, newest, 'start'];
  const endLeft = end[2] === 'end' ? right - textWidth(newest) : end[0];
  if (f.dropped > 0) {
    const text = integer.format(f.windowFrom), x = sx(f.windowFrom), half = textWidth(text) / 2;
    if (x - half > BAR_LEFT + textWidth('0') && x + half < endLeft) ticks.push([x, text, 'middle']);
  }
  ticks.push(end);
  return ticks;
}

function setBox(rect, x0, x1) {
  rect.setAttribute('x', x0.toFixed(2));
  rect.setAttribute('width', Math.max(0, x1 - x0).toFixed(2));
}

/** A band from [a0, a1] at height top down to [b0, b1] at height bottom (nothing when the range is empty). */
function setBand(polygon, a0, a1, b0, b1, top, bottom) {
  const points = a1 - a0 > 0 ? [[a0, top], [a1, top], [b1, bottom], [b0, bottom]].map(([x, y]) => `${x.toFixed(2)},${y}`).join(' ') : '';
  polygon.setAttribute('points', points);
}

/** Replaces the texts of `group` with [x, text, anchor] labels on one line. */
function setLabels(group, labels, y) {
  while (group.childNodes.length > labels.length) group.lastChild.remove();
  while (group.childNodes.length < labels.length) group.append(svgElement('text', { y }));
  labels.forEach(([x, text, anchor], i) => {
    const t = group.childNodes[i];
    t.setAttribute('x', x.toFixed(2));
    t.setAttribute('text-anchor', anchor);
    if (t.textContent !== text) t.textContent = text;
  });
}
