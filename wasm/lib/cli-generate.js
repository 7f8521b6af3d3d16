// cli-generate.js — plain `ringlm [options]`: generate text from a prompt (or, with --chat, answer it through
// the chat template; with --state, continue a saved session). Text streams to stdout; loading progress, the
// model's description, --logprobs' table and the timings go to stderr.

import { existsSync } from 'node:fs';
import { RingLM } from '../ringlm.js';
import { generateOptionSchema } from './options.js';
import { logprobsReport } from './cli-logprobs.js';
import { DEFAULT_MODEL, SIMD_HELP, describeModel, generationHelp, megabytes, parseArgs, simdOption } from './cli-common.js';

const GENERATE_HELP = `usage: ringlm [options]
       ringlm experiment [options]   the KV cache on and off, timed (ringlm experiment --help)
       ringlm pull URL [--sha256 HEX]   download a model into the cache (resumes an interrupted one)
       ringlm ls                     the cached models, with their sizes
       ringlm rm URL | --all         remove a cached model, or all of them
       ringlm prefill -m MODEL (-p TEXT | -f FILE) -o STATE [--ctx N] [--no-bos]
                                     run a prompt and save the session (restores in any build)
       ringlm score [options]        how likely a text is: per-token log-probabilities (ringlm score --help)
       ringlm chat [options]         an interactive chat through the model's template (ringlm chat --help)

  -m, --model FILE|URL     GGUF model (default: the built-in model, if installed); a URL loads
                           through the cache (downloaded once, then offline: see ringlm ls)
  -p, --prompt TEXT        prompt (default: "")
  -f, --file FILE          read the prompt from a file
      --ctx N              KV cache capacity in tokens (default: the trained context, or the largest that fits memory)
      --no-bos             do not add the BOS token
      --chat               the prompt is a user's message: the model answers it through its chat template
      --system TEXT        with --chat: a system message first
      --state FILE         start from a saved session (ringlm prefill, saveState()): the prompt
                           continues it, as keepCache does
      --grammar-file FILE  read --grammar's GBNF text from a file
${SIMD_HELP}  -h, --help               this text

generation (-n is --max-tokens; --stop and --logit-bias may be repeated; --logprobs writes a table to stderr):
`;

/** ringlm [options]: one generation; a UsageError (bad flags) is the caller's to report. */
export async function generateCommand(argv, Module) {
  const schema = generateOptionSchema(Module);
  const args = parseArgs(argv, Module, schema);
  if (args.help) {
    process.stdout.write(GENERATE_HELP + generationHelp(schema));
    return 0;
  }
  const { model = DEFAULT_MODEL, file, contextSize = 0, chat = false, system, state, simd: simdFlag, ...gen } = args;
  const simd = simdOption(simdFlag);
  if (state !== undefined && chat) {
    process.stderr.write('ringlm: --state continues a saved session as plain text; it does not combine with --chat\n');
    return 2;
  }
  if (system !== undefined && !chat) {
    process.stderr.write('ringlm: --system needs --chat\n');
    return 2;
  }
  const remote = /^https?:/i.test(model);
  if (!remote && !existsSync(model)) {
    throw new Error(args.model ? `model file not found: ${model}` : 'no -m MODEL given and the built-in model is not installed');
  }
  if (gen.grammarFile !== undefined) {  // --grammar-file: the grammar's text from a file
    if (gen.grammar !== undefined) {
      process.stderr.write('ringlm: give --grammar or --grammar-file, not both\n');
      return 2;
    }
    gen.grammar = (await import('node:fs')).readFileSync(gen.grammarFile, 'utf8');
    delete gen.grammarFile;
  }
  if (gen.jsonSchema !== undefined) {  // --json-schema FILE: the schema, as JSON (the jsonSchema option)
    const file = gen.jsonSchema;
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    try {
      gen.jsonSchema = JSON.parse(text);
    } catch (e) {
      process.stderr.write(`ringlm: --json-schema ${file}: not JSON (${e.message})\n`);
      return 2;
    }
  }
  let prompt = gen.prompt ?? '';
  delete gen.prompt;
  if (file) prompt = (await import('node:fs')).readFileSync(file, 'utf8');

  const tty = process.stderr.isTTY;
  const lm = await RingLM.load(model, {
    contextSize, cache: remote, simd,
    onProgress: ({ phase, loaded, total }) => {
      const verb = phase === 'download' ? 'downloading' : 'loading';
      if (tty) process.stderr.write(`\r${verb} ${model}: ${total ? `${Math.round((100 * loaded) / total)}% of ` : ''}${megabytes(total || loaded)}   `);
    },
  });
  if (tty) process.stderr.write('\n');
  process.stderr.write(`ringlm: ${describeModel(lm.info)}\n`);
  try {
    let iterator;
    if (chat) {
      const messages = [...(system === undefined ? [] : [{ role: 'system', content: system }]), { role: 'user', content: prompt }];
      iterator = lm.chat(messages, gen);
    } else {
      if (state !== undefined) {
        await lm.restoreState(state);
        gen.keepCache = true;
      }
      process.stdout.write(prompt);
      iterator = lm.generate(prompt, gen);
    }
    let result;
    const logprobs = [];
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) {
        result = value;
        break;
      }
      process.stdout.write(value.text);
      if (value.logprobs) logprobs.push(value.logprobs);
    }
    process.stdout.write('\n');
    if (gen.logprobs !== undefined) process.stderr.write(logprobsReport(logprobs));
    const t = result.timings;
    process.stderr.write(
      `ringlm: ${t.promptTokens} prompt tokens in ${t.prefillMs.toFixed(1)} ms (${t.prefillTokensPerSecond.toFixed(1)} tok/s), ` +
      `${t.generatedTokens} generated at ${t.decodeTokensPerSecond.toFixed(1)} tok/s; finish: ${result.finishReason}; seed ${result.seed}\n`);
  } finally {
    lm.dispose();
  }
  return 0;
}
