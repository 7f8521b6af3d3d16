#!/usr/bin/env node
// A tiny static file server for the demo page and the browser tests.
//
//   node tools/serve.mjs [--port N] [--root DIR] [--no-isolation]
//
// Serves the repository root on 127.0.0.1 (so /web/, /wasm/, /dist/ and /build/models/ are all
// reachable) with the MIME types browsers insist on (`application/wasm` for instantiateStreaming,
// `text/javascript` for module scripts and workers). By default every response carries
// Cross-Origin-Opener-Policy / Cross-Origin-Embedder-Policy, which make the page
// `crossOriginIsolated` (SharedArrayBuffer, hence a threaded build); --no-isolation drops them.

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gguf': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The file a URL path names inside `root`, or null when it would leave `root`. */
async function resolveInside(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const candidate = path.resolve(root, '.' + path.posix.normalize('/' + decoded));
  if (candidate !== root && !candidate.startsWith(root + path.sep)) return null;
  // Follow symlinks, then check again: a link must not lead out of the root either.
  let real;
  try {
    real = await realpath(candidate);
  } catch {
    return candidate; // does not exist: the caller answers 404
  }
  if (real !== root && !real.startsWith(root + path.sep)) return null;
  return real;
}

function send(res, status, text, headers) {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

/**
 * Starts the server. Resolves to { server, port, url, close() } once it listens.
 * @param {{port?: number, root?: string, isolation?: boolean, host?: string}} [options]
 */
export async function startServer({ port = 8080, root = REPO_ROOT, isolation = true, host = '127.0.0.1' } = {}) {
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

  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(res, 405, 'method not allowed', { ...commonHeaders, Allow: 'GET, HEAD' });
      }
      const urlPath = new URL(req.url, 'http://localhost').pathname;
      if (urlPath === '/' && root === REPO_ROOT) {  // the repository's front door is the demo page
        res.writeHead(302, { ...commonHeaders, Location: '/web/' });
        return res.end();
      }
      let file = await resolveInside(rootDir, urlPath);
      if (file === null) return send(res, 403, 'forbidden', commonHeaders);

      let info = await stat(file).catch(() => null);
      if (info?.isDirectory()) {
        if (!urlPath.endsWith('/')) {
          res.writeHead(301, { ...commonHeaders, Location: urlPath + '/' });
          return res.end();
        }
        file = path.join(file, 'index.html');
        info = await stat(file).catch(() => null);
      }
      if (!info?.isFile()) return send(res, 404, 'not found: ' + urlPath, commonHeaders);

      res.writeHead(200, {
        ...commonHeaders,
        'Content-Type': MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': info.size,
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    } catch (error) {
      if (!res.headersSent) send(res, 500, 'internal error', commonHeaders);
      else res.destroy();
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
  return {
    server,
    port: actualPort,
    url: `http://${host}:${actualPort}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parseArgs(argv) {
  const options = { port: Number(process.env.PORT ?? 8080), root: REPO_ROOT, isolation: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--port' || arg.startsWith('--port=')) options.port = Number(value());
    else if (arg === '--root' || arg.startsWith('--root=')) options.root = value();
    else if (arg === '--no-isolation') options.isolation = false;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node tools/serve.mjs [--port N] [--root DIR] [--no-isolation]');
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
    console.log(`serving ${url}  (demo: ${url}web/)`);
  } catch (error) {
    console.error(`serve: ${error.message}`);
    process.exit(1);
  }
}
