#!/usr/bin/env node
// The dev server for the demo page and the browser tests (`npm start`, `npm run serve`).
//
//   node tools/serve.mjs [--port N] [--no-isolation]
//
// It serves what the page needs and nothing else of the checkout: a short list of mounts (web/, the
// package's JS and its built wasm, models/, the test models), each a URL prefix over one folder, some
// limited to a few file types. `.git`, `node_modules`, the C++ sources and dotfiles are never reachable.
// It listens on 127.0.0.1 only, and answers only requests whose Host header names that loopback address
// and port: a page on another site that points its own name at 127.0.0.1 (DNS rebinding) sends its own
// name as Host and gets 421. Paths are refused before any file is touched when they try to leave a
// folder: `..` or `.` segments, encoded slashes or backslashes (%2f, %5c), NUL bytes, backslashes (400);
// a symlink that resolves outside its mount is refused once resolved (403).
//
// Responses carry the MIME types browsers insist on (`application/wasm` for instantiateStreaming,
// `text/javascript` for module scripts and workers) and, by default, Cross-Origin-Opener-Policy /
// Cross-Origin-Embedder-Policy, which make the page `crossOriginIsolated` (SharedArrayBuffer, hence the
// threaded build); --no-isolation drops them, as a plain static host would.

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What the demo page loads: URL prefix -> folder of the repository, and (when given) the only file
 * extensions served from it.
 */
export const PAGE_MOUNTS = Object.freeze([
  { url: '/web/', dir: 'web' },
  { url: '/wasm/', dir: 'wasm', extensions: ['.js', '.mjs'] },  // the package's JS, not the bindings' C++
  { url: '/dist/', dir: 'dist' },                                // the built wasm modules and jinja.mjs
  { url: '/models/', dir: 'models', extensions: ['.gguf'] },     // the built-in model
  { url: '/build/models/', dir: 'build/models', extensions: ['.gguf'] },  // test models (the page's fallback)
]);

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gguf': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

class Refusal extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * The URL path as checked segments, or a Refusal. Checked on the raw text first, so that an encoded
 * character cannot slip past a check made after decoding.
 */
function pathSegments(rawPath) {
  if (!rawPath.startsWith('/')) throw new Refusal(400, 'bad request: the path must start with /');
  if (/%(2f|5c|00)/i.test(rawPath) || rawPath.includes('\\')) {
    throw new Refusal(400, 'bad request: encoded slashes, backslashes and NUL are not allowed in paths');
  }
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new Refusal(400, 'bad request: the path is not valid percent-encoded UTF-8');
  }
  if (decoded.includes('\0')) throw new Refusal(400, 'bad request: NUL in the path');
  const segments = decoded.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) throw new Refusal(400, 'bad request: . and .. are not allowed in paths');
  return { decoded, segments };
}

/** The mount serving `decoded` and the path below it, or null. */
function findMount(mounts, decoded) {
  for (const mount of mounts) {
    if (decoded.startsWith(mount.url)) return { mount, rest: decoded.slice(mount.url.length) };
    if (decoded === mount.url.slice(0, -1)) return { mount, rest: null };  // '/web': redirect to '/web/'
  }
  return null;
}

/** True when `inner` is `outer` or inside it. */
const isInside = (outer, inner) => inner === outer || inner.startsWith(outer + path.sep);

/**
 * Starts the server. Resolves to { server, port, url, close() } once it listens.
 * @param {{port?: number, root?: string, mounts?: typeof PAGE_MOUNTS, isolation?: boolean, host?: string}} [options]
 *   root: the folder the mounts' `dir`s are relative to (the repository); mounts: what is served (PAGE_MOUNTS,
 *   plus whatever a test page needs)
 */
/**
 * The one byte range a request asks for: null for the whole file (no Range header, an If-Range that no longer
 * matches, or a form this server does not serve, such as several ranges), 'unsatisfiable', or {start, end}
 * (inclusive, as HTTP counts).
 */
export function byteRange(header, ifRange, etag, size) {
  if (!header || (ifRange !== undefined && ifRange !== etag)) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start, end;
  if (m[1] === '') {  // the last n bytes
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

export async function startServer({ port = 8080, root = REPO_ROOT, mounts = PAGE_MOUNTS, isolation = true, host = '127.0.0.1' } = {}) {
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    throw new Error(`serve: host must be a loopback address (127.0.0.1, ::1 or localhost), not ${host}`);
  }
  for (const m of mounts) {
    if (!/^\/([\w-][\w.-]*\/)+$/.test(m.url)) throw new Error(`serve: a mount's url must look like /dir/ (got ${m.url})`);
  }
  const rootDir = await realpath(path.resolve(root));
  const commonHeaders = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(isolation && {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    }),
  };
  let allowedHosts = new Set();  // filled in once the port is known

  const send = (res, status, text, headers = {}) => {
    res.writeHead(status, { ...commonHeaders, ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(text + '\n');
  };

  /** The file a request names, after every check; throws a Refusal. */
  async function resolveFile(rawPath) {
    const { decoded, segments } = pathSegments(rawPath);
    if (decoded === '/') return { redirect: '/web/', status: 302 };  // the front door is the demo page
    const found = findMount(mounts, decoded);
    if (!found) throw new Refusal(404, `not found: ${decoded}`);
    if (found.rest === null) return { redirect: found.mount.url, status: 301 };
    const { mount, rest } = found;
    if (segments.some((s) => s.startsWith('.'))) throw new Refusal(404, `not found: ${decoded}`);  // dotfiles
    const mountDir = await realpath(path.join(rootDir, mount.dir)).catch(() => null);
    if (mountDir === null) throw new Refusal(404, `not found: ${decoded} (${mount.dir}/ does not exist yet)`);
    let file = path.join(mountDir, rest === '' || rest.endsWith('/') ? rest + 'index.html' : rest);
    const real = await realpath(file).catch(() => null);
    if (real === null) throw new Refusal(404, `not found: ${decoded}`);
    if (!isInside(mountDir, real)) throw new Refusal(403, `forbidden: ${decoded} leads outside ${mount.url}`);
    file = real;
    const info = await stat(file);
    if (info.isDirectory()) return { redirect: rawPath + '/', status: 301 };
    if (!info.isFile()) throw new Refusal(404, `not found: ${decoded}`);
    const extension = path.extname(file).toLowerCase();
    if (mount.extensions && !mount.extensions.includes(extension)) throw new Refusal(404, `not found: ${decoded}`);
    return { file, info, extension };
  }

  const server = createServer(async (req, res) => {
    try {
      if (!allowedHosts.has(String(req.headers.host ?? '').toLowerCase())) {
        return send(res, 421, `misdirected request: this server answers only to ${[...allowedHosts].join(' or ')}`);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      }
      const rawPath = req.url.split('?')[0].split('#')[0];
      const target = await resolveFile(rawPath);
      if (target.redirect) {
        res.writeHead(target.status, { ...commonHeaders, Location: target.redirect });
        return res.end();
      }
      // Byte ranges, so that an interrupted model download resumes where it stopped (wasm/lib/cache.js).
      const { size, mtimeMs } = target.info;
      const etag = `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
      const range = byteRange(req.headers.range, req.headers['if-range'], etag, size);
      const fileHeaders = {
        ...commonHeaders,
        'Content-Type': MIME_TYPES[target.extension] ?? 'application/octet-stream',
        'Accept-Ranges': 'bytes',
        ETag: etag,
        // The page's service worker may control the whole origin: the threaded build's workers live in /dist/.
        ...(rawPath === '/web/sw.js' && { 'Service-Worker-Allowed': '/' }),
      };
      if (range === 'unsatisfiable') {
        res.writeHead(416, { ...fileHeaders, 'Content-Range': `bytes */${size}` });
        return res.end();
      }
      if (range) {
        res.writeHead(206, { ...fileHeaders, 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': range.end - range.start + 1 });
      } else {
        res.writeHead(200, { ...fileHeaders, 'Content-Length': size });
      }
      if (req.method === 'HEAD') return res.end();
      createReadStream(target.file, range ? { start: range.start, end: range.end } : {})
        .on('error', () => res.destroy())
        .pipe(res);
    } catch (error) {
      if (res.headersSent) return res.destroy();
      if (error instanceof Refusal) return send(res, error.status, error.message);
      send(res, 500, 'internal error');
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = server.address().port;
  // The names a browser on this machine sends for this server; any other Host is someone else's name.
  const names = host === 'localhost' ? ['localhost', '127.0.0.1', '[::1]'] : [host === '::1' ? '[::1]' : host, 'localhost'];
  allowedHosts = new Set(names.map((name) => `${name}:${actualPort}`));
  const urlHost = host === '::1' ? '[::1]' : host;
  return {
    server,
    port: actualPort,
    url: `http://${urlHost}:${actualPort}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parseArgs(argv) {
  const options = { port: Number(process.env.PORT ?? 8080), isolation: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--port' || arg.startsWith('--port=')) options.port = Number(value());
    else if (arg === '--no-isolation') options.isolation = false;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node tools/serve.mjs [--port N] [--no-isolation]');
      process.exit(0);
    } else throw new Error(`unknown argument: ${arg}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error(`bad port: ${options.port}`);
  }
  return options;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { url } = await startServer(parseArgs(process.argv.slice(2)));
    console.log(`serving the demo page: ${url}web/`);
  } catch (error) {
    console.error(`serve: ${error.message}`);
    process.exit(1);
  }
}
