// cli-cache.js — `ringlm pull`, `ringlm ls` and `ringlm rm`: the download cache (wasm/lib/cache.js) from the
// command line, as RingLM.cache and load({ cache }) use it.

import { RingLM } from '../ringlm.js';
import { splitParts } from './source.js';
import { UsageError, megabytes } from './cli-common.js';

const CACHE_HELP = `usage: ringlm pull URL [--sha256 HEX] | ringlm ls | ringlm rm URL | ringlm rm --all
The cache is ${'$'}RINGLM_CACHE_DIR, else ${'$'}XDG_CACHE_HOME/ringlm/models, else ~/.cache/ringlm/models.
`;

/** ringlm pull / ls / rm: the download cache (wasm/lib/cache.js), as RingLM.cache and load({cache}) use it. */
export async function cacheCommand([command, ...argv]) {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(CACHE_HELP);
    return 0;
  }
  if (command === 'ls') {
    if (argv.length) throw new UsageError(`ls takes no arguments (got '${argv[0]}')`);
    const entries = await RingLM.cache.list();
    for (const e of entries) {
      const state = e.complete ? '' : `  (partial: ${e.expectedSize ? `${Math.floor((100 * e.size) / e.expectedSize)}%` : 'size unknown'}; pull resumes it)`;
      process.stdout.write(`${megabytes(e.size).padStart(10)}  ${e.url}${state}\n`);
    }
    const total = entries.reduce((sum, e) => sum + e.size, 0);
    process.stdout.write(`${entries.length} model${entries.length === 1 ? '' : 's'}, ${megabytes(total)} in ${await RingLM.cache.location()}\n`);
    return 0;
  }
  if (command === 'rm') {
    if (argv.length !== 1) throw new UsageError('rm takes one URL, or --all');
    if (argv[0] === '--all') {
      const { entries, bytes } = await RingLM.cache.clear();
      process.stdout.write(`removed ${entries} model${entries === 1 ? '' : 's'}, ${megabytes(bytes)}\n`);
      return 0;
    }
    if (!(await RingLM.cache.delete(argv[0]))) throw new Error(`${argv[0]} is not in the cache (see ringlm ls)`);
    process.stdout.write(`removed ${argv[0]}\n`);
    return 0;
  }
  // pull: a load through the cache, which leaves the file stored; the model is checked by loading it.
  let url, sha256;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--sha256') {
      sha256 = argv[++i];
      if (sha256 === undefined) throw new UsageError('--sha256 needs a value');
    } else if (!argv[i].startsWith('-') && url === undefined) {
      url = argv[i];
    } else {
      throw new UsageError(`pull: unexpected '${argv[i]}' (usage: ringlm pull URL [--sha256 HEX])`);
    }
  }
  if (!url || !/^https?:/i.test(url)) throw new UsageError('pull needs an http(s) URL');
  const tty = process.stderr.isTTY;
  const lm = await RingLM.load(url, {
    cache: true, sha256, contextSize: 16,
    onProgress: ({ phase, loaded, total }) => {
      if (tty) process.stderr.write(`\r${phase === 'download' ? 'downloading' : 'checking'}: ${total ? `${Math.round((100 * loaded) / total)}% of ` : ''}${megabytes(total || loaded)}   `);
    },
  });
  if (tty) process.stderr.write('\n');
  const { architecture, parameters } = lm.info;
  lm.dispose();
  // A split file's first part brings the others (RingLM.load finds them by name): count every part kept.
  const parts = new Set(splitParts(url).map((u) => new URL(u).href));
  const kept = (await RingLM.cache.list()).filter((e) => parts.has(e.url));
  const size = kept.reduce((sum, e) => sum + e.size, 0);
  process.stdout.write(`${url}: ${megabytes(size)}${parts.size > 1 ? ` in ${kept.length} parts` : ''}, ${architecture}${parameters ? `, ${(parameters / 1e6).toFixed(1)}M parameters` : ''}, cached\n`);
  return 0;
}
