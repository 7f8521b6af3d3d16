// checks.js — argument checks shared by the API's methods: token ids and chat messages. Each throws a
// TypeError or RangeError that names the method and the bad value.

/**
 * Check a token id: an integer that fits int32 (the vocabulary range is checked in C++). Int32Array.from and
 * Embind would silently turn 1.5, NaN or 2 ** 32 into a valid-looking id; this throws instead.
 */
export function tokenId(id, what) {
  if (!Number.isInteger(id)) throw new TypeError(`${what}: token ids must be integers (got ${id})`);
  if (id < -(2 ** 31) || id >= 2 ** 31) throw new RangeError(`${what}: token id ${id} is out of range`);
  return id;
}

/** Token ids (any iterable of numbers) as a checked Int32Array. */
export function tokenIds(ids, what) {
  if (ids instanceof Int32Array) return ids;
  if (ids == null || typeof ids === 'string' || typeof ids[Symbol.iterator] !== 'function') {
    throw new TypeError(`${what}: token ids must be an array of integers`);
  }
  return Int32Array.from(ids, (id) => tokenId(id, what));
}

/** Check chat messages: an array of { role, content } with string values (other fields go to the template). */
export function chatMessages(messages, what) {
  if (!Array.isArray(messages)) throw new TypeError(`${what}: messages must be an array of { role, content }`);
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object') throw new TypeError(`${what}: messages[${i}] must be an object { role, content }`);
    if (typeof m.role !== 'string' || m.role === '') throw new TypeError(`${what}: messages[${i}].role must be a non-empty string`);
    if (typeof m.content !== 'string') throw new TypeError(`${what}: messages[${i}].content must be a string`);
  });
  return messages;
}
