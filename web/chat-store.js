// chat-store.js — the page's saved conversations, one per model, in IndexedDB (database 'ringlm-page', store
// 'chats'), so that a reload continues a chat where it was. worker.js writes one after each reply and reads it
// back after a load. A record is { messages, state, chat, savedAt }: the conversation as the page shows it, the
// KV cache as lm.saveState() gives it (bytes: IndexedDB keeps them as they are, with no JSON round trip) and
// lm.chatCache, which lets the next turn run only its new tokens. IndexedDB rather than OPFS: a record is one
// value written whole, and IndexedDB exists in every worker, including Safari's.

const DATABASE = 'ringlm-page';
const STORE = 'chats';

let opened = null;  // Promise<IDBDatabase>

function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`the browser's storage (IndexedDB) could not be opened: ${request.error?.message}`));
  });
  opened.catch(() => { opened = null; });  // try again next time
  return opened;
}

/** Runs one request on the store; resolves with its result once the transaction has committed. */
async function withStore(mode, makeRequest) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const request = makeRequest(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result);
    const fail = () => reject(new Error(`saving the conversation failed: ${(transaction.error ?? request.error)?.message ?? 'aborted'}`));
    transaction.onerror = fail;
    transaction.onabort = fail;
  });
}

/** The conversation saved for `key` (see modelKey in app.js), or null. */
export const loadChat = async (key) => (await withStore('readonly', (store) => store.get(key))) ?? null;

export const saveChat = (key, record) => withStore('readwrite', (store) => store.put(record, key));

export const forgetChat = (key) => withStore('readwrite', (store) => store.delete(key));
