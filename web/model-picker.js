// model-picker.js — the list of models in the Model card: the suggested files (models.js), each with its size,
// whether this browser holds a copy (RingLM.cache, asked through the worker), a Load and a Delete button; then
// the other downloads kept here (a URL typed in earlier); and the offer of the last model, when it is not
// loaded again by itself. Everything shown comes through textContent: URLs and names are data, never HTML.

const gigabytes = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });
const wholeNumber = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A rounded size from a listing: "≈ 0.81 GB", "≈ 4 MB", "≈ 158 kB" (decimal units, as the publishers list them). */
const aboutSize = (bytes) => (bytes >= 1e9 ? `≈ ${gigabytes.format(bytes / 1e9)} GB`
  : bytes >= 1e6 ? `≈ ${wholeNumber.format(bytes / 1e6)} MB` : `≈ ${wholeNumber.format(bytes / 1e3)} kB`);

const fileNameOf = (url) => {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
  } catch {
    return url;
  }
};

export class ModelPicker {
  #list;          // <ul> of suggested models
  #others;        // <ul> of other downloads kept here
  #othersTitle;
  #offer;         // <p> offering the last model
  #suggestions;
  #ask;           // (type, payload) => Promise<value>: a request to the worker (throws its error)
  #load;          // ({ url, name }) => void
  #formatBytes;
  #entries = new Map();  // url -> RingLM.cache.list() entry
  #loadedUrl = '';
  #busy = false;  // a load is running: Load buttons wait

  /**
   * @param elements { list, others, othersTitle, offer }
   * @param options { suggestions, ask, load, formatBytes }
   */
  constructor({ list, others, othersTitle, offer }, { suggestions, ask, load, formatBytes }) {
    this.#list = list;
    this.#others = others;
    this.#othersTitle = othersTitle;
    this.#offer = offer;
    this.#suggestions = suggestions;
    this.#ask = ask;
    this.#load = load;
    this.#formatBytes = formatBytes;
    this.#render();
  }

  /** Asks the worker what the download cache holds, and redraws. */
  async refresh() {
    try {
      const entries = await this.#ask('cache-list', {});
      this.#entries = new Map(entries.map((entry) => [entry.url, entry]));
    } catch {
      this.#entries = new Map();  // no OPFS here (an old browser, a private window): nothing is cached
    }
    this.#render();
  }

  /** Whether the cache holds the whole file at `url` (as of the last refresh). */
  isCached(url) {
    return this.#entries.get(url)?.complete === true;
  }

  /** The model the page shows as loaded ('' for none or a file), and whether a load is running. */
  setLoaded(url, busy = false) {
    this.#loadedUrl = url;
    this.#busy = busy;
    this.#render();
  }

  /** Offers to load `last` ({ url, name } or { file }) again, or (null) offers nothing. */
  offer(last) {
    this.#offer.replaceChildren();
    this.#offer.hidden = !last;
    if (!last) return;
    if (last.file) {
      this.#offer.textContent = `Last time you used ${last.file}, a file from this device: choose or drop it again to go on with it.`;
      return;
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'button small';
    button.textContent = 'Load it';
    button.addEventListener('click', () => {
      this.offer(null);
      this.#load({ url: last.url, name: last.name });
    });
    const text = document.createElement('span');
    text.textContent = `Last time: ${last.name} (not kept in this browser: it downloads again). `;
    this.#offer.append(text, button);
  }

  #render() {
    const suggested = new Set(this.#suggestions.map((s) => s.url));
    this.#list.replaceChildren(...this.#suggestions.map((s) => this.#row({
      url: s.url, title: s.name, quant: s.quant, listedSize: s.size,
    })));
    const others = [...this.#entries.values()].filter((entry) => !suggested.has(entry.url));
    this.#others.replaceChildren(...others.map((entry) => this.#row({ url: entry.url, title: fileNameOf(entry.url) })));
    this.#others.hidden = others.length === 0;
    this.#othersTitle.hidden = others.length === 0;
  }

  #row({ url, title, quant = '', listedSize = 0 }) {
    const entry = this.#entries.get(url);
    const status = entry?.complete ? 'cached' : entry ? 'partial' : 'remote';
    const row = document.createElement('li');
    row.className = 'model-row';
    row.dataset.url = url;
    row.dataset.status = status;
    if (url === this.#loadedUrl) row.setAttribute('aria-current', 'true');

    const text = document.createElement('div');
    text.className = 'model-row-text';
    const name = document.createElement('span');
    name.className = 'model-row-name';
    name.textContent = title;
    name.title = url;
    text.append(name);
    if (quant) {
      const tag = document.createElement('span');
      tag.className = 'model-row-quant';
      tag.textContent = quant;
      text.append(' ', tag);
    }
    const meta = document.createElement('span');
    meta.className = 'model-row-meta';
    meta.textContent = status === 'cached' ? `${this.#formatBytes(entry.size)} · in this browser`
      : status === 'partial' ? `${this.#formatBytes(entry.size)} of ${this.#formatBytes(entry.expectedSize)} downloaded · resumes`
        : `${listedSize ? aboutSize(listedSize) : 'size unknown'} · downloads once`;
    if (url === this.#loadedUrl) meta.textContent += ' · loaded';
    text.append(meta);

    const actions = document.createElement('div');
    actions.className = 'model-row-actions';
    const load = document.createElement('button');
    load.type = 'button';
    load.className = 'button small';
    load.dataset.action = 'load';
    load.textContent = url === this.#loadedUrl ? 'Loaded' : 'Load';
    load.disabled = this.#busy || url === this.#loadedUrl;
    load.addEventListener('click', () => this.#load({ url, name: fileNameOf(url) }));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'button ghost small';
    remove.dataset.action = 'delete';
    remove.textContent = 'Delete';
    remove.title = 'Delete the copy kept in this browser';
    remove.disabled = status === 'remote';
    remove.addEventListener('click', async () => {
      remove.disabled = true;
      try {
        await this.#ask('cache-delete', { url });
      } finally {
        await this.refresh();
      }
    });
    actions.append(load, remove);
    row.append(text, actions);
    return row;
  }
}
