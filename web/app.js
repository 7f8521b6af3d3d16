// app.js — the demo page. The model lives in a Web Worker (worker.js, which imports ../wasm/ringlm.js), so
// the page only sends requests and draws replies: it stays responsive while a model loads or generates.
// Everything the model or a file supplies (generated text, file names, metadata) reaches the page through
// textContent or Text nodes, never as HTML.
//
// Sections: configuration, the worker, loading models, the sampling form, generating, the experiment, showing
// things, wiring, test hook. The model picker (model-picker.js, models.js, last-model.js), the chat kept across
// reloads (saved-chat.js, chat-store.js) and the offline copy of the page (offline.js, sw.js) live in their files.

import { toElement } from '../wasm/lib/chart.js';
import { experimentChart } from '../wasm/lib/experiment.js';
import { RingView } from './ring-view.js';
import { SUGGESTED_MODELS } from './models.js';
import { ModelPicker } from './model-picker.js';
import { lastModel, rememberModel } from './last-model.js';
import { SavedChat } from './saved-chat.js';
import { keepPageOffline } from './offline.js';

// ---- configuration ------------------------------------------------------------------------------------

/** The built-in default model, loaded at start. The one place to change when that file is renamed. */
const DEFAULT_MODEL_URL = new URL('../models/ringlm-kjv-3.7m.gguf', import.meta.url).href;  // RingLM.defaultModelUrl

/** Loaded instead when the default model is not there (HTTP 404): a tiny random-weight model made by
 *  `node tools/make-test-models.mjs` (npm start makes it). Its text is noise. */
const FALLBACK_MODEL_URL = new URL('../build/models/gqa-q8_0.gguf', import.meta.url).href;

const DEFAULT_PROMPT = 'And God said';

/**
 * The most memory a model may take (file + KV cache + scratch), or 0 for RingLM's own limit, the 4 GiB wasm
 * address space. Phones run out long before that: where the browser tells the device's memory
 * (navigator.deviceMemory, in GiB, at most 8), keep a model to half of it, so that one too big is refused
 * with a clear error instead of crashing the tab.
 */
const MEMORY_LIMIT = navigator.deviceMemory ? Math.min(2 ** 32, Math.floor((navigator.deviceMemory * 2 ** 30) / 2)) : 0;

/** ?test-hooks in the URL exposes window.ringlmTest (see the end of this file); nothing else changes. */
const TEST_HOOKS = new URLSearchParams(location.search).has('test-hooks');

/**
 * The picker's suggested models (models.js). With ?test-hooks, &suggestions=<JSON list in models.js's shape>
 * replaces them: tests offer small local files instead of real downloads.
 */
const SUGGESTIONS = [
  // The built-in model first, so that it can be chosen again (models/MODEL_CARD.md).
  { family: 'ringlm', name: 'Built-in: KJV 3.7M', quant: 'Q8_0', size: 4.0e6, url: DEFAULT_MODEL_URL },
  ...(TEST_HOOKS && new URLSearchParams(location.search).has('suggestions')
    ? JSON.parse(new URLSearchParams(location.search).get('suggestions'))
    : SUGGESTED_MODELS),
];

const $ = (id) => document.getElementById(id);

const state = {
  phase: 'starting',   // 'starting' | 'loading' | 'ready' | 'generating' | 'stopping' | 'no-model'
  model: null,         // { name, kind, source, info, tokenizer } of the model the worker holds
  pending: new Map(),  // request id -> { onMessage, resolve }
  nextId: 1,
  generation: null,    // { id, maxTokens, prompt } while one runs
  conversation: [],    // chat mode: the messages so far ({ role, content })
  countId: 0,          // the latest prompt token count asked for
};

// ---- the worker ---------------------------------------------------------------------------------------

const TERMINAL = new Set(['loaded', 'load-error', 'done', 'generate-error', 'experiment-done', 'experiment-error', 'answer']);
let worker = null;         // the Worker the page talks to, or null (the next request starts one)
let workerStarted = false; // it said it is alive: its script and module loaded
let workersStarted = 0;    // for the test hook
let testWorkersDieDuringLoad = false;  // test hook: every new worker ends itself during its first load

function startWorker() {
  const url = new URL('./worker.js', import.meta.url);
  if (TEST_HOOKS) url.search = `?test-hooks${testWorkersDieDuringLoad ? '&die-during-load' : ''}`;
  const current = new Worker(url, { type: 'module' });
  worker = current;
  workerStarted = false;
  workersStarted++;
  // Each handler acts only while this is still the page's worker: one the page ended itself is not "lost".
  const lost = (reason) => {
    if (worker === current) workerLost(reason);
  };
  current.onmessage = ({ data }) => {
    if (data.type !== 'alive') return receive(data);
    if (worker === current) workerStarted = true;
    if (data.lock) watchForDeath(data.lock, lost);
  };
  // An uncaught error in the worker, or its script failing to load (e.g. dist/ not built).
  current.onerror = (event) => {
    event.preventDefault();
    lost(event.message || 'the Web Worker could not start (is dist/ built? `npm start` builds it)');
  };
  current.onmessageerror = () => lost('a message from the engine\'s Web Worker could not be read');
}

/**
 * Tells the page when the worker dies, whatever killed it: a crash, the browser ending it for lack of memory, a
 * terminate(). A dead worker fires no event at the page, and a heartbeat cannot tell a dead worker from one busy
 * in a long wasm call; but the worker holds a Web Lock for as long as it lives, and the browser releases it the
 * moment the worker ends, so a request for the same lock is granted exactly then. (Web Locks exist in secure
 * contexts, such as http://127.0.0.1; elsewhere only the error events above are seen.)
 */
function watchForDeath(lock, lost) {
  navigator.locks?.request(lock, () => lost('the engine\'s Web Worker stopped: it crashed, or the browser ended it (for example for lack of memory)'));
}

/** Ends the worker and answers every open request with an error. */
function stopWorker(reason) {
  const started = workerStarted;
  worker?.terminate();
  worker = null;
  workerStarted = false;
  state.model = null;
  const error = { name: 'Error', message: reason, httpStatus: 0, fatal: false, workerFailed: true, workerDied: started };
  for (const id of [...state.pending.keys()]) {
    receive({ type: state.generation?.id === id ? 'generate-error' : 'load-error', id, error });
  }
}

/**
 * The worker died under the page: open requests fail with `reason` (their alerts say so), the page says what
 * happened, starts a new worker and loads the model it had again, without a page reload. When there is none to
 * load (the worker died while reloading it, say, or before any loaded), the next request starts a worker: a model
 * that kills the worker each time it loads cannot make the page restart it for ever. A worker that never started
 * (its script did not load) is not restarted either.
 */
function workerLost(reason) {
  const model = state.model;
  const started = workerStarted;
  stopWorker(reason);
  if (!started) return;
  showAlert('engine-error', {
    title: model ? 'The engine stopped, and was restarted' : 'The engine stopped',
    detail: reason,
    hint: model ? `${model.name} is loaded again; the text generated so far stays on the page.` : 'Load a model to go on.',
  });
  if (!model) {
    setPhase('no-model');
    return;
  }
  startWorker();
  queueLoad({ ...model, keepAlert: true });
}

/** Sends a request; resolves with its last reply. `onMessage` sees every reply on the way. */
function request(type, payload, onMessage) {
  if (!worker) startWorker();
  const id = state.nextId++;
  return new Promise((resolve) => {
    state.pending.set(id, { onMessage, resolve });
    worker.postMessage({ type, id, ...payload });
  });
}

/** A request answered with { type: 'answer', value | error } (worker.js): resolves to the value, or throws. */
async function ask(type, payload = {}) {
  const reply = await request(type, payload);
  if (reply.type !== 'answer' || reply.error) throw new Error(reply.error?.message ?? `no answer to ${type}`);
  return reply.value;
}

function receive(message) {
  if (message.type === 'count') {
    if (message.id === state.countId) showPromptTokens(message.tokens);
    return;
  }
  const entry = state.pending.get(message.id);
  if (!entry) return;  // a reply to a request the page gave up on
  entry.onMessage?.(message);
  if (TERMINAL.has(message.type)) {
    state.pending.delete(message.id);
    entry.resolve(message);
  }
}

/** After the wasm module aborted (its worker is unusable): a new worker, and the model we had, again. */
function recoverFromFatalError(model) {
  stopWorker('the engine stopped after an error');
  startWorker();
  if (model) queueLoad({ ...model, keepAlert: true });
  else setPhase('no-model');
}

// ---- loading models -----------------------------------------------------------------------------------

// Loads run one after another, each after the running generation (if any) is stopped.
let loadQueue = Promise.resolve();
function queueLoad(options) {
  const result = loadQueue.then(() => loadModel(options));
  loadQueue = result.catch(() => {});
  return result;
}

/**
 * Loads a model in the worker. `source` is a URL, a File, or several Files (the parts of a split GGUF file);
 * `kind` says where it came from ('default', 'fallback', 'file', 'url'). Resolves to { ok, error }. With
 * quiet404 a missing file shows no error; with keepAlert the error on show stays; with remember it is the model
 * the next visit starts with (when it is a URL the download cache holds). The conversation saved with this model,
 * if any, is put back.
 */
async function loadModel({ source, name, kind, quiet404 = false, keepAlert = false, remember = false }) {
  if (state.generation) {
    stop();
    await state.generation?.finished;
  }
  if (!keepAlert) {
    hideAlert('load-error');
    hideAlert('engine-error');
  }
  const previousPhase = state.phase;
  setPhase('loading');
  picker.setLoaded(loadedUrl(), true);
  showProgress(0, [source].flat().reduce((sum, part) => sum + (part instanceof Blob ? part.size : 0), 0), name);
  const contextSize = $('context-size').validity.valid ? Number($('context-size').value || 0) : 0;
  const reply = await request('load', { source, contextSize, memoryLimit: MEMORY_LIMIT }, (message) => {
    if (message.type === 'progress') showProgress(message.loaded, message.total, name, message.phase);
    if (message.type === 'unloaded') {
      state.model = null;
      showModel();
    }
  });
  hideProgress();

  if (reply.type === 'loaded') {
    state.model = { name, kind, source, info: reply.info, tokenizer: reply.tokenizer, chat: reply.chat };
    buildSamplingForm(reply.options);
    showModel();
    showChatMode();
    showCache(reply.cache);
    if (remember) {  // chosen by the user (not ?model=, not the start-up default)
      rememberModel(typeof source === 'string' ? { url: source, name } : { file: name });
      picker.offer(null);
    }
    picker.setLoaded(loadedUrl());
    picker.refresh();
    if (state.model.chat) await restoreConversation(state.model);
    setPhase('ready');
    countPromptTokens();
    return { ok: true };
  }
  picker.setLoaded(loadedUrl());
  if (worker) picker.refresh();  // without one (it died), asking would start one: the next load does
  if (!(quiet404 && reply.error.httpStatus === 404)) showLoadError(reply.error, name);
  if (reply.error.fatal) {
    const previous = state.model;
    recoverFromFatalError(previous?.source === source ? null : previous);
  } else {
    showModel();
    setPhase(state.model ? 'ready' : previousPhase === 'starting' ? 'starting' : 'no-model');
  }
  return { ok: false, error: reply.error };
}

/** The URL of the model the worker holds, or '' (none, or a file from the disk). */
const loadedUrl = () => (typeof state.model?.source === 'string' ? state.model.source : '');

/**
 * At start: the model named by ?model=URL; else the model loaded last time, when the download cache holds it
 * (so this works offline; otherwise the picker offers it); else the default one, else (404) the test model.
 */
async function loadStartupModel() {
  const requested = new URLSearchParams(location.search).get('model');
  const last = lastModel();
  if (!requested && last?.url && last.url !== DEFAULT_MODEL_URL) {
    await picker.refresh();
    if (picker.isCached(last.url)) {
      const result = await queueLoad({ source: last.url, name: last.name, kind: 'url' });
      if (result.ok) return;
    } else {
      picker.offer(last);
    }
  } else if (!requested && last?.file) {
    picker.offer(last);
  }
  if (requested) {
    const url = new URL(requested, location.href).href;
    await queueLoad({ source: url, name: fileName(url), kind: 'url' });
  } else {
    const result = await queueLoad({ source: DEFAULT_MODEL_URL, name: fileName(DEFAULT_MODEL_URL), kind: 'default', quiet404: true });
    if (!result.ok && result.error.httpStatus === 404) {
      await queueLoad({ source: FALLBACK_MODEL_URL, name: fileName(FALLBACK_MODEL_URL), kind: 'fallback' });
    }
  }
  if (!state.model) setPhase('no-model');
}

/**
 * Loads files from the disk: one GGUF file, or the parts of a split one (name-00001-of-0000N.gguf ...), given
 * to RingLM.load as an array in their names' order.
 */
function loadFiles(fileList) {
  const files = [...(fileList ?? [])].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  if (files.length === 0) return;
  const name = files.length === 1 ? files[0].name : `${files[0].name} (+${files.length - 1} more part${files.length > 2 ? 's' : ''})`;
  queueLoad({ source: files.length === 1 ? files[0] : files, name, kind: 'file', remember: true });
}

/** Loads a model from the picker, a typed URL or the last-model offer. */
const loadUrl = ({ url, name }) => queueLoad({
  source: url, name: name ?? fileName(url), kind: url === DEFAULT_MODEL_URL ? 'default' : 'url', remember: true,
});

// ---- the sampling form --------------------------------------------------------------------------------

/**
 * The generate() options the page offers, in order, with the page's words for them. Everything else (type,
 * range, default, the tooltip) comes from the core's options schema, which the worker sends with a loaded model.
 */
const SAMPLING_CONTROLS = [
  { name: 'temperature', label: 'Temperature', step: 0.05 },
  { name: 'topK', label: 'Top-k' },
  { name: 'topP', label: 'Top-p', step: 0.01 },
  { name: 'minP', label: 'Min-p', step: 0.01 },
  { name: 'repeatPenalty', label: 'Repeat penalty', step: 0.01 },
  { name: 'maxTokens', label: 'Max tokens' },
  { name: 'seed', label: 'Seed' },
  { name: 'contextPolicy', label: 'When the context is full',
    choices: { sinks: 'Keep going (sinks)', shift: 'Keep going (shift)', stop: 'Stop' } },
  { name: 'kvCache', label: 'KV cache' },
];

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1) + '.';

/** Makes the sampling form's fields from the schema, once: their values then stay from model to model. */
function buildSamplingForm(schema) {
  const form = $('sampling');
  if (form.elements.length > 0 || !schema) return;
  const specs = new Map(schema.map((spec) => [spec.name, spec]));
  for (const { name, label, step, choices = {} } of SAMPLING_CONTROLS) {
    const spec = specs.get(name);
    if (!spec) continue;  // an option this version of the core no longer has
    let control;
    if (spec.type === 'choice') {
      control = document.createElement('select');
      // The page's order first, then any value it has no words for.
      const values = [...Object.keys(choices).filter((v) => spec.values.includes(v)), ...spec.values.filter((v) => !(v in choices))];
      control.append(...values.map((value) => new Option(choices[value] ?? value, value)));
    } else if (spec.type === 'boolean') {
      control = document.createElement('input');
      control.type = 'checkbox';
      control.defaultChecked = spec.default;
    } else {
      control = document.createElement('input');
      control.type = 'number';
      control.min = String(spec.min);
      control.max = String(spec.max);
      control.step = spec.type === 'integer' ? '1' : String(step ?? 'any');
      if (spec.type === 'integer') control.inputMode = 'numeric';
      if (spec.default === null) {
        control.placeholder = spec.defaultText;
      } else {
        control.defaultValue = String(spec.default);
        control.required = true;
      }
    }
    control.name = name;
    const field = document.createElement('label');
    field.className = 'field';
    field.title = sentence(spec.doc) + (spec.default === null && control.tagName === 'INPUT' ? ` Empty: ${spec.defaultText}.` : '');
    const caption = document.createElement('span');
    caption.textContent = label;
    field.append(caption, control);
    form.append(field);
  }
}

/** The context policies the model can use (learned positions cannot use 'sinks'), its own chosen by default. */
function showContextPolicies(info) {
  const select = $('sampling').elements.namedItem('contextPolicy');
  if (!select || !info.contextPolicies) return;
  for (const option of select.options) {
    option.disabled = !info.contextPolicies.includes(option.value);
    option.defaultSelected = option.value === info.defaultContextPolicy;
  }
  if (select.selectedOptions[0]?.disabled) select.value = info.defaultContextPolicy;
}

// ---- generating ---------------------------------------------------------------------------------------

/** The sampling form as generate() options; null (and the browser points at the field) when one is invalid. */
function readOptions() {
  const form = $('sampling');
  if (!form.reportValidity()) return null;
  const options = {};
  for (const input of form.elements) {
    if (!input.name) continue;
    if (input.type === 'number') {
      if (input.value !== '') options[input.name] = input.valueAsNumber;
    } else if (input.type === 'checkbox') {
      options[input.name] = input.checked;
    } else {
      options[input.name] = input.value;
    }
  }
  return options;
}

function generate() {
  if (state.phase !== 'ready') return;
  const options = readOptions();
  if (!options) return;
  const prompt = $('prompt').value;
  if (!worker) startWorker();
  if (!chatMode()) {
    runGeneration(prompt, options, (id) => worker.postMessage({ type: 'generate', id, prompt, options }));
    return;
  }
  // Chat: the conversation so far and the new message go through the model's template; the reply (even one
  // stopped early) joins the conversation.
  const messages = [...state.conversation, { role: 'user', content: prompt }];
  runGeneration(transcript(messages), options, (id) => worker.postMessage({ type: 'chat', id, messages, options }))
    .then((reply) => {
      if (reply.type !== 'done') return;
      state.conversation = [...messages, { role: 'assistant', content: completionText.data }];
      $('prompt').value = '';
      countPromptTokens();
      if (state.model) savedChat.save(state.model, state.conversation);
    });
}

const chatMode = () => Boolean(state.model?.chat) && $('chat-mode').checked;

/** A conversation as the output box shows it, ending where the assistant's reply goes. */
function transcript(messages) {
  return messages.map(({ role, content }) => `${role === 'user' ? 'You' : 'Assistant'}: ${content}\n\n`).join('') + 'Assistant: ';
}

/** The Chat switch: offered when the model has a chat template; switching it starts a new conversation. */
function showChatMode() {
  $('chat-toggle').hidden = !state.model?.chat;
  if (!state.model?.chat) $('chat-mode').checked = false;
  state.conversation = [];
  const chat = chatMode();
  $('new-chat').hidden = !chat;
  $('prompt-label').textContent = chat ? 'Message' : 'Prompt';
  $('prompt').placeholder = chat ? 'Write a message; the model answers it.' : 'Write the beginning of a text; the model continues it.';
}

/** After a load: the conversation saved with this model, put back with its KV state (saved-chat.js). */
async function restoreConversation(model) {
  const restored = await savedChat.restore(model);
  if (!restored || state.model !== model) return;
  $('chat-mode').checked = true;
  showChatMode();
  state.conversation = restored.messages;
  const last = restored.messages.at(-1);
  const replied = last?.role === 'assistant';
  clearOutput(transcript(replied ? restored.messages.slice(0, -1) : restored.messages));
  appendOutput(replied ? last.content : '');
  $('output').classList.remove('streaming');
  $('copy').disabled = false;
  if (restored.cache) showCache(restored.cache);
}

/** "New chat": forget the conversation, here and in the browser's store. */
function newChat() {
  state.conversation = [];
  clearOutput('');
  $('output').classList.remove('streaming');
  $('output-placeholder').hidden = false;
  $('finish').textContent = '';
  if (state.model) savedChat.forget(state.model);
}

function stop() {
  if (state.phase !== 'generating') return;
  setPhase('stopping');
  worker.postMessage({ type: 'stop' });
}

/** Shows one generation's replies as they arrive; `start(id)` sets it going (in the worker, or a test). */
function runGeneration(prompt, options, start) {
  const id = state.nextId++;
  hideAlert('generate-error');
  clearOutput(prompt);
  $('finish').textContent = '';
  delete $('finish').dataset.reason;
  const generation = { id, maxTokens: options.maxTokens, prompt };
  state.generation = generation;
  showStats({ tokens: 0 }, null);
  setPhase('generating');
  generation.finished = new Promise((resolve) => {
    state.pending.set(id, { onMessage: onGenerationMessage, resolve });
    start(id);
  }).then((reply) => {
    finishGeneration(reply, generation);
    return reply;
  });
  return generation.finished;
}

function finishGeneration(reply, generation) {
  state.generation = null;
  $('output').classList.remove('streaming');
  $('copy').disabled = completionText.data === '';
  if (reply.type === 'done') {
    showFinalStats(reply, generation.maxTokens);
  } else {
    showAlert('generate-error', { title: 'Generation failed', detail: withoutPrefix(reply.error.message) });
  }
  if (reply.type === 'generate-error' && reply.error.fatal) {
    recoverFromFatalError(state.model);
  } else {
    setPhase(state.model ? 'ready' : 'no-model');
    countPromptTokens();
  }
}

function onGenerationMessage(message) {
  if (message.type === 'prefill') {
    if (state.phase === 'generating') setStatus(`Reading the prompt… ${message.done} / ${message.total}`);
  } else if (message.type === 'token') {
    appendOutput(message.text);
    if (state.phase === 'generating') setStatus('Generating…');
    scheduleStats(message.stats, message.cache);
  }
}

// ---- the experiment -----------------------------------------------------------------------------------

/** Runs the KV cache experiment in the worker and draws its per-token times. */
async function runExperimentPanel() {
  const form = $('experiment-form');
  if (state.phase !== 'ready' || !form.reportValidity()) return;
  const promptTokens = $('experiment-prompt-tokens').valueAsNumber, maxTokens = $('experiment-max-tokens').valueAsNumber;
  setPhase('experimenting');
  $('experiment-chart').replaceChildren();
  $('experiment-summary').replaceChildren();
  $('experiment-status').textContent = 'Running…';
  const reply = await request('experiment', { promptTokens, maxTokens }, (message) => {
    if (message.type === 'experiment-run') {
      $('experiment-status').textContent = message.kvCache ? 'Running with the KV cache…' : 'Running without the cache (re-running the sequence for every token)…';
    }
  });
  setPhase(state.model ? 'ready' : 'no-model');
  if (reply.type === 'experiment-error') {
    $('experiment-status').textContent = `Failed: ${withoutPrefix(reply.error.message)}`;
    return;
  }
  showExperiment(reply.result);
}

function showExperiment(result) {
  const [cached, uncached] = result.runs;
  $('experiment-status').textContent = '';
  $('experiment-chart').replaceChildren(toElement(experimentChart(result)));
  const rows = [
    ['Prompt', `${integer.format(result.promptTokens)} tokens, greedy`],
    ['With the KV cache', `${integer.format(cached.tokens)} tokens in ${oneDecimal.format(cached.totalMs)} ms (${cached.msPerToken.toFixed(2)} ms/token)`],
    ['Without', `${integer.format(uncached.tokens)} tokens in ${oneDecimal.format(uncached.totalMs)} ms (${uncached.msPerToken.toFixed(2)} ms/token)`],
    ['Speed-up', `${result.speedup.toFixed(2)}×`],
    ['Texts', result.textsEqual ? 'equal' : 'different'],
    ['Text', cached.text],
  ];
  for (const [term, value] of rows) {
    const row = document.createElement('div');
    const dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = term;
    dd.textContent = value;
    if (term === 'Speed-up') dd.id = 'experiment-speedup';
    if (term === 'Texts') dd.id = 'experiment-texts';
    if (term === 'Text') {
      dd.id = 'experiment-text';
      row.className = 'wide';
    }
    row.append(dt, dd);
    $('experiment-summary').append(row);
  }
}

// ---- showing things -----------------------------------------------------------------------------------

// The generated text is one Text node that grows with appendData(): never parsed as HTML.
const completionText = document.createTextNode('');

// Whether the output box follows the text as it grows: yes, unless the reader scrolled up. Tracked on scroll
// events, because measuring the box for every token would force a layout per token.
let followOutput = true;

function clearOutput(prompt) {
  $('echo').textContent = prompt;
  $('completion').replaceChildren(completionText);
  completionText.data = '';
  $('output-placeholder').hidden = true;
  $('output').classList.add('streaming');
  followOutput = true;
  $('copy').disabled = true;
}

function appendOutput(text) {
  if (!text) return;
  completionText.appendData(text);
  if (followOutput) {
    scheduleFrame('scroll', () => {
      const box = $('output');
      box.scrollTop = box.scrollHeight;
    });
  }
}

// Work to do once per frame at most, however fast tokens arrive.
const frameTasks = new Map();
function scheduleFrame(key, task) {
  const first = frameTasks.size === 0;
  frameTasks.set(key, task);
  if (first) {
    requestAnimationFrame(() => {
      const tasks = [...frameTasks.values()];
      frameTasks.clear();
      for (const t of tasks) t();
    });
  }
}

function scheduleStats(stats, cache) {
  scheduleFrame('stats', () => {
    if (state.generation) showStats(stats, cache);
  });
}

// The KV ring's picture; drawn by showCache, so at most once per animation frame while tokens stream.
const ringView = new RingView($('ring-view'));

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const rate = (perSecond) => (!Number.isFinite(perSecond) || perSecond <= 0 ? '–'
  : perSecond >= 100 ? integer.format(perSecond) : oneDecimal.format(perSecond));

function showStats({ promptTokens = 0, prefillMs = 0, tokens = 0, decodeMs = 0 }, cache) {
  $('stat-prefill').textContent = tokens > 0 ? rate(promptTokens / (prefillMs / 1000)) : '–';
  $('stat-decode').textContent = tokens > 1 ? rate((tokens - 1) / (decodeMs / 1000)) : '–';
  $('stat-tokens').textContent = maxTokensLabel(tokens, state.generation?.maxTokens);
  if (cache) showCache(cache);
}

const maxTokensLabel = (n, max) => (max ? `${integer.format(n)} / ${integer.format(max)}` : integer.format(n));

function showCache(cache) {
  const { kept, capacity, dropped } = cache;
  $('stat-kv').textContent = `${integer.format(kept)} / ${integer.format(capacity)}`;
  $('kv-bar').style.width = `${capacity ? (100 * kept) / capacity : 0}%`;
  $('stat-kv').title = `${integer.format(dropped)} tokens dropped by the context policy so far`;
  ringView.show(cache);
}

const FINISH_REASONS = {
  stop: 'the model ended its text',
  length: 'reached the token limit',
  aborted: 'stopped',
};

function showFinalStats({ finishReason, seed, timings, cache }, maxTokens) {
  $('stat-prefill').textContent = rate(timings.prefillTokensPerSecond);
  $('stat-decode').textContent = rate(timings.decodeTokensPerSecond);
  $('stat-tokens').textContent = maxTokensLabel(timings.generatedTokens, maxTokens);
  if (cache) showCache(cache);
  const seconds = (timings.prefillMs + timings.decodeMs) / 1000;
  $('finish').textContent = `Finished: ${FINISH_REASONS[finishReason] ?? finishReason} · ${integer.format(timings.promptTokens)} prompt + `
    + `${integer.format(timings.generatedTokens)} generated tokens in ${oneDecimal.format(seconds)} s · seed ${seed}`;
  $('finish').dataset.reason = finishReason;
}

const PHASE_STATUS = {
  starting: 'Starting…',
  loading: 'Loading the model…',
  ready: 'Ready',
  generating: 'Generating…',
  experimenting: 'Running the experiment…',
  stopping: 'Stopping…',
  'no-model': 'No model loaded',
};

function setPhase(phase) {
  state.phase = phase;
  document.body.dataset.state = phase;
  setStatus(PHASE_STATUS[phase]);
  $('generate').disabled = phase !== 'ready';
  $('stop').disabled = phase !== 'generating';
  $('experiment-run').disabled = phase !== 'ready';
}

function setStatus(text) {
  if ($('status-text').textContent !== text) $('status-text').textContent = text;
}

/** `phase`: 'download' (from the network) or 'read' (into memory: from a file, or the download cache). */
function showProgress(loaded, total, name, phase = 'read') {
  $('progress').hidden = false;
  const percent = total > 0 ? Math.min(100, (100 * loaded) / total) : 0;
  $('progress-bar').style.width = `${percent}%`;
  $('progress-bar').parentElement.setAttribute('aria-valuenow', String(Math.round(percent)));
  $('progress-text').textContent = total > 0
    ? `${name}: ${phase === 'download' ? 'downloading' : 'reading'} ${formatBytes(loaded)} of ${formatBytes(total)} · ${Math.floor(percent)}%`
    : `${name}: connecting…`;
  const doing = phase === 'download' ? 'Downloading the model' : 'Loading the model';
  if (state.phase === 'loading') setStatus(total > 0 ? `${doing}… ${Math.floor(percent)}%` : PHASE_STATUS.loading);
}

function hideProgress() {
  $('progress').hidden = true;
}

const BADGES = { default: 'built-in', fallback: 'test model', file: 'your file', url: 'from a URL' };

function showModel() {
  const model = state.model;
  $('model-name').textContent = model ? model.name : 'No model loaded';
  $('model-name').dataset.url = model && typeof model.source === 'string' ? model.source : '';
  $('model-badge').hidden = !model;
  $('model-badge').textContent = model ? BADGES[model.kind] : '';
  $('model-badge').dataset.kind = model?.kind ?? '';
  $('model-note').hidden = model?.kind !== 'fallback';
  $('model-note').textContent = model?.kind === 'fallback'
    ? `The built-in model (${relativeUrl(DEFAULT_MODEL_URL)}) is not there yet, so this is a tiny test model with random weights: its text is noise.`
    : '';

  const info = model?.info;
  if (info) showContextPolicies(info);
  const rows = info ? [
    ['Architecture', info.family === info.architecture ? info.architecture : `${info.family} (${info.architecture})`],
    ['Parameters', formatParameters(info)],
    ['Tensor types', info.tensorTypes.join(' · ')],
    ['Context', `${integer.format(info.contextSize)} tokens` + (info.trainedContextSize !== info.contextSize
      ? ` (trained ${integer.format(info.trainedContextSize)}${info.contextLimitedBy === 'memory' ? '; the largest that fits memory' : ''})` : '')],
    ['Layers', integer.format(info.layers)],
    ['Heads', info.kvHeads === info.heads ? integer.format(info.heads) : `${info.heads} · ${info.kvHeads} KV`],
    ['Embedding', integer.format(info.embeddingSize)],
    ['Vocabulary', `${integer.format(info.vocabSize)}${model.tokenizer ? ` · ${model.tokenizer.model}` : ''}`],
    ['File', formatBytes(info.fileBytes)],
    ['KV cache', formatBytes(info.kvBytes)],
    // More than one only on a cross-origin-isolated page (COOP/COEP headers), which may share memory with Workers.
    ['Threads', integer.format(info.threads) + (self.crossOriginIsolated ? '' : ' (page not cross-origin isolated)')],
  ] : [];
  $('model-info').replaceChildren(...rows.map(([term, value]) => {
    const pair = document.createElement('div');
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    pair.append(dt, dd);
    return pair;
  }));
}

function formatParameters(info) {
  const n = info.parameters;  // every tensor's elements, counted by the engine
  if (n >= 1e9) return `${oneDecimal.format(n / 1e9)} B`;
  if (n >= 1e6) return `${oneDecimal.format(n / 1e6)} M`;
  return `${oneDecimal.format(n / 1e3)} K`;
}

function formatBytes(n) {
  if (n >= 2 ** 30) return `${oneDecimal.format(n / 2 ** 30)} GiB`;
  if (n >= 2 ** 20) return `${oneDecimal.format(n / 2 ** 20)} MiB`;
  if (n >= 2 ** 10) return `${oneDecimal.format(n / 2 ** 10)} KiB`;
  return `${integer.format(n)} B`;
}

const fileName = (url) => decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
const relativeUrl = (url) => new URL(url).pathname.replace(/^\//, '');
const withoutPrefix = (message) => message.replace(/^RingLM\.\w+: /, '');

/** What went wrong with a load, in words a person can act on. */
function explainLoadError(error, name) {
  const message = error.message;
  const detail = withoutPrefix(message);
  if (error.workerDied) {
    return {
      title: `The engine stopped while loading ${name}`,
      detail,
      hint: 'A model too big for this browser\'s memory can do this. Try a smaller model, a smaller quantization such as '
        + 'Q4_0, or a smaller context size.',
    };
  }
  if (error.workerFailed) return { title: 'The engine could not start', detail, hint: '' };
  if (/cannot allocate|out of memory|memory limit|address space|Array buffer allocation failed|Aborted\(/i.test(message)) {
    return {
      title: `${name} is too big for this browser's memory`,
      detail,
      hint: 'The whole model lives in WebAssembly memory, at most 4 GiB (often less on phones). '
        + 'Try a smaller model, a smaller quantization such as Q4_0, or a smaller context size.',
    };
  }
  if (error.httpStatus || /fetch|network/i.test(message)) {
    return {
      title: `Could not download ${name}`,
      detail,
      hint: 'Check the address. A model on another site must be served with CORS headers.',
    };
  }
  // Before the test below: these name GGUF too, but the files are fine, only not the whole set or not in one.
  if (/split GGUF file|split file|the parts are out of order/.test(message)) {
    return {
      title: `The parts of ${name} do not make one model`,
      detail,
      hint: 'A split GGUF file (NAME-00001-of-0000N.gguf, NAME-00002-of-0000N.gguf, ...) loads when all N parts of '
        + 'the same set are chosen or dropped together.',
    };
  }
  if (/GGUF|tensor|key '|architecture|type|version|file ended|empty/i.test(message)) {
    return {
      title: `${name} is not a model ringlm can read`,
      detail,
      hint: 'ringlm runs GGUF files of Llama-architecture models with F32, F16, Q8_0 or Q4_0 weights. '
        + 'The file may be damaged, cut short, or of another kind.',
    };
  }
  return { title: `Could not load ${name}`, detail, hint: '' };
}

function showLoadError(error, name) {
  showAlert('load-error', explainLoadError(error, name));
}

function showAlert(id, { title, detail, hint = '' }) {
  const box = $(id);
  box.querySelector('.alert-title').textContent = title;
  box.querySelector('.alert-detail').textContent = detail;
  const hintElement = box.querySelector('.alert-hint');
  if (hintElement) hintElement.textContent = hint;
  box.hidden = false;
}

function alertContent(id) {
  const box = $(id);
  return {
    title: box.querySelector('.alert-title').textContent,
    detail: box.querySelector('.alert-detail').textContent,
    hint: box.querySelector('.alert-hint')?.textContent ?? '',
  };
}

function hideAlert(id) {
  $(id).hidden = true;
}

let countTimer = 0;
function countPromptTokens() {
  clearTimeout(countTimer);
  countTimer = setTimeout(() => {
    if (state.phase !== 'ready' || !worker) return;
    state.countId = state.nextId++;
    worker.postMessage({ type: 'count', id: state.countId, text: $('prompt').value });
  }, 150);
}

function showPromptTokens(n) {
  $('prompt-tokens').textContent = `${integer.format(n)} prompt token${n === 1 ? '' : 's'}`;
}

// ---- wiring -------------------------------------------------------------------------------------------

const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

function wire() {
  $('generate').addEventListener('click', generate);
  $('stop').addEventListener('click', stop);
  $('prompt').addEventListener('input', countPromptTokens);
  $('chat-mode').addEventListener('change', showChatMode);
  $('new-chat').addEventListener('click', newChat);
  $('experiment-run').addEventListener('click', runExperimentPanel);
  $('output').addEventListener('scroll', () => {
    const box = $('output');
    followOutput = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }, { passive: true });

  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      generate();
    } else if (event.key === 'Escape' && state.phase === 'generating') {
      event.preventDefault();
      stop();
    }
  });

  $('file-input').addEventListener('change', (event) => {
    loadFiles(event.target.files);
    event.target.value = '';  // choosing the same file again loads it again
  });
  $('url-form').addEventListener('submit', (event) => {
    event.preventDefault();
    loadUrl({ url: new URL($('model-url').value, location.href).href });
  });

  // Drag and drop anywhere on the page. dragenter/dragleave fire for every child: count them.
  let dragDepth = 0;
  const hasFiles = (event) => event.dataTransfer?.types?.includes('Files');
  document.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth++;
    $('drop-overlay').hidden = false;
  });
  document.addEventListener('dragover', (event) => {
    if (hasFiles(event)) event.preventDefault();
  });
  document.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) $('drop-overlay').hidden = true;
  });
  document.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    $('drop-overlay').hidden = true;
    loadFiles(event.dataTransfer.files);
  });

  for (const button of document.querySelectorAll('.alert-close')) {
    button.addEventListener('click', () => { button.closest('.alert').hidden = true; });
  }
  $('sampling-reset').addEventListener('click', () => $('sampling').reset());

  if (navigator.clipboard) {
    $('copy').addEventListener('click', async () => {
      await navigator.clipboard.writeText($('echo').textContent + completionText.data);
      $('copy').textContent = 'Copied';
      setTimeout(() => { $('copy').textContent = 'Copy'; }, 1500);
    });
  } else {
    $('copy').hidden = true;
  }

  if (isMac) {
    for (const kbd of document.querySelectorAll('kbd[data-mac]')) kbd.textContent = kbd.dataset.mac;
  }
  $('isolation').textContent = self.crossOriginIsolated ? 'cross-origin isolated' : 'single-threaded (not cross-origin isolated)';
}

const picker = new ModelPicker(
  { list: $('model-list'), others: $('model-others'), othersTitle: $('model-others-title'), offer: $('last-model') },
  { suggestions: SUGGESTIONS, ask, load: loadUrl, formatBytes },
);
const savedChat = new SavedChat({ ask, note: $('chat-note') });

wire();
$('prompt').value = DEFAULT_PROMPT;
// The service worker starts once a model is loaded, so that its copies of the page's files include the worker's.
const offline = loadStartupModel().then(() => keepPageOffline(async () => (worker ? ask('resources') : [])));

// ---- test hooks ---------------------------------------------------------------------------------------
// Only with ?test-hooks in the URL (tests/web.test.mjs uses them):
//   fakeGeneration(['<b>', 'text']) plays worker replies for a generation that emits those texts, through the
//     same code as real replies (model output is never parsed as HTML);
//   killWorker() ends the worker behind the page's back, as a crash or the browser would;
//   throwInWorker() makes the worker throw an uncaught error;
//   dieDuringNextLoad() makes the worker end itself once the next load has begun (as one that runs out of
//     memory there would);
//   everyWorkerDiesDuringLoad(on) makes every worker started from then on do that (a model that kills the
//     worker each time it loads);
//   workersStarted() counts the workers the page has started;
//   offlineReady() resolves once the service worker keeps copies of the page's files.

if (TEST_HOOKS) {
  window.ringlmTest = {
    fakeGeneration: (texts) => runGeneration('', { maxTokens: texts.length }, (id) => {
      const cache = { position: texts.length, kept: texts.length, capacity: 256, dropped: 0 };
      texts.forEach((text, i) => receive({ type: 'token', id, text, cache, stats: { promptTokens: 1, prefillMs: 1, tokens: i + 1, decodeMs: i + 1 } }));
      const timings = { promptTokens: 1, generatedTokens: texts.length, prefillMs: 1, prefillTokensPerSecond: 1000, decodeMs: texts.length, decodeTokensPerSecond: 1000 };
      receive({ type: 'done', id, finishReason: 'stop', seed: 0, timings, cache });
    }),
    killWorker: () => worker.terminate(),
    throwInWorker: () => worker.postMessage({ type: 'test-throw' }),
    dieDuringNextLoad: () => worker.postMessage({ type: 'test-die-during-next-load' }),
    everyWorkerDiesDuringLoad: (on) => { testWorkersDieDuringLoad = on; },
    workersStarted: () => workersStarted,
    modelInfo: () => state.model?.info ?? null,
    memoryLimit: () => MEMORY_LIMIT,
    offlineReady: () => offline,  // resolves to the service worker's scope once it keeps the page's files
  };
}
