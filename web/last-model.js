// last-model.js — the model the page had loaded last, kept in localStorage so that the next visit can load it
// again (when the download cache still holds it) or offer it. Only what can be loaded again by itself is
// remembered as loadable: a URL. A file from the disk is remembered by name, to say which one to pick again.

const KEY = 'ringlm.lastModel';

/** { url, name } or { file: name }, or null. */
export function lastModel() {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    if (value && (typeof value.url === 'string' || typeof value.file === 'string')) return value;
  } catch {
    // Unreadable (written by another version, or storage blocked): as if none.
  }
  return null;
}

export function rememberModel(value) {
  try {
    localStorage.setItem(KEY, JSON.stringify(value));
  } catch {
    // Storage full or blocked (a private window in some browsers): the page works, it just forgets.
  }
}
