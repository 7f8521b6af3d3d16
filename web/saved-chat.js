// saved-chat.js — the page's side of a chat that survives a reload: after each reply the worker keeps the
// conversation and the KV state (chat-store.js), keyed by the model; after a load it puts them back, so the next
// turn continues exactly where the last visit stopped (the same tokens as if the page had never reloaded). A
// saved state that does not belong to the loaded model (another file at the same URL, another context size) is
// refused by restoreState() before it touches anything: the page says so and starts a new chat.

/**
 * The key a model's conversation is saved under: its URL, or for a file from the disk its name and size (the
 * same file dropped again finds its chat; restoreState() checks the bytes' fingerprint anyway).
 */
export function modelKey(model) {
  const { source } = model;
  if (typeof source === 'string') return `url:${source}`;
  const files = Array.isArray(source) ? source : [source];
  return `file:${files.map((f) => `${f.name}:${f.size}`).join('|')}`;
}

export class SavedChat {
  #ask;   // (type, payload) => Promise<value>: a request to the worker
  #note;  // the <p> that says what happened to a saved conversation

  constructor({ ask, note }) {
    this.#ask = ask;
    this.#note = note;
  }

  /**
   * Puts back the conversation saved for `model`, if any. Resolves to { messages, cache } when it was restored,
   * or null (nothing saved, or refused: the note says why).
   */
  async restore(model) {
    this.#say('');
    let result;
    try {
      result = await this.#ask('chat-restore', { key: modelKey(model) });
    } catch (error) {
      this.#say(`The conversation saved in this browser could not be read (${error.message}).`, 'refused');
      return null;
    }
    if (!result.messages) return null;
    if (result.refused) {
      const why = result.refused.message.replace(/^RingLM\.\w+: /, '');
      this.#say(`A conversation saved with ${model.name} was not restored: ${why}. This is a new chat; the next reply ` +
        'replaces the saved one.', 'refused');
      return null;
    }
    const turns = result.messages.filter((m) => m.role === 'user').length;
    this.#say(`The conversation from your last visit is back (${turns} turn${turns === 1 ? '' : 's'}); ` +
      'the model goes on from where it stopped.', 'restored');
    return { messages: result.messages, cache: result.cache };
  }

  /** Keeps `messages` and the model's KV state, after a reply. */
  async save(model, messages) {
    try {
      await this.#ask('chat-save', { key: modelKey(model), messages });
    } catch (error) {
      this.#say(`This conversation could not be saved for the next visit (${error.message}).`, 'refused');
    }
  }

  /** Deletes the conversation saved for `model` ("New chat"). */
  async forget(model) {
    this.#say('');
    await this.#ask('chat-forget', { key: modelKey(model) }).catch(() => {});
  }

  #say(text, kind = '') {
    this.#note.textContent = text;
    this.#note.hidden = text === '';
    this.#note.dataset.kind = kind;
  }
}
