// The dev server (tools/serve.mjs), spoken to with raw HTTP requests (node:http, so the Host header and the
// path go out exactly as written): it serves the page's mounts and nothing else of a checkout, refuses any
// Host but its own loopback name and port (DNS rebinding), and refuses paths that try to leave a mount.
//
// Most tests run on a made-up checkout in a temporary folder (with a .git/, node_modules/, sources, a secret
// beside it and symlinks pointing out of the mounts); one asks the real repository for what must not be there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, PAGE_MOUNTS, byteRange } from '../tools/serve.mjs';

let outside;  // a folder holding the fake checkout (repo/) and a secret beside it
let server;

function write(file, text) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

before(async () => {
  outside = mkdtempSync(path.join(tmpdir(), 'ringlm-serve-'));
  const repo = path.join(outside, 'repo');
  write(path.join(outside, 'secret.txt'), 'SECRET beside the checkout');
  write(path.join(repo, 'web/index.html'), '<!doctype html><title>page</title>');
  write(path.join(repo, 'web/app.js'), 'export {};');
  write(path.join(repo, 'web/.env'), 'SECRET dotfile');
  write(path.join(repo, 'wasm/ringlm.js'), 'export const RingLM = 1;');
  write(path.join(repo, 'wasm/bindings.cpp'), '// SECRET source');
  write(path.join(repo, 'dist/ringlm.wasm'), '\0asm');
  write(path.join(repo, 'models/m.gguf'), 'GGUF');
  write(path.join(repo, 'build/models/t.gguf'), 'GGUF test');
  write(path.join(repo, 'build/native/CMakeCache.txt'), 'SECRET build');
  write(path.join(repo, '.git/config'), '[remote] SECRET');
  write(path.join(repo, 'node_modules/x/index.js'), 'SECRET module');
  write(path.join(repo, 'src/a.cpp'), 'SECRET');
  write(path.join(repo, 'package.json'), '{"SECRET": 1}');
  symlinkSync(path.join(outside, 'secret.txt'), path.join(repo, 'web/escape.html'));   // out of the checkout
  symlinkSync(outside, path.join(repo, 'web/up'));                                      // a folder out of it
  symlinkSync(path.join(repo, 'package.json'), path.join(repo, 'models/pkg.gguf'));     // out of its mount
  symlinkSync(path.join(repo, 'web/app.js'), path.join(repo, 'web/same.js'));           // inside: fine
  server = await startServer({ port: 0, root: repo });
});

after(async () => {
  await server?.close();
  rmSync(outside, { recursive: true, force: true });
});

/** One raw request; resolves to { status, headers, body }. `host: null` sends no Host header. */
function get(rawPath, { host = `127.0.0.1:${server.port}`, method = 'GET', port = server.port, more = {} } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { ...(host === null ? {} : { Host: host }), ...more };
    const req = request({ host: '127.0.0.1', port, path: rawPath, method, headers, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the mounts are served, with the MIME types and isolation headers browsers need', async () => {
  const page = await get('/web/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>page<\/title>/);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.equal((await get('/web/app.js')).headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await get('/wasm/ringlm.js')).status, 200);
  assert.equal((await get('/dist/ringlm.wasm')).headers['content-type'], 'application/wasm');
  assert.equal((await get('/models/m.gguf')).body, 'GGUF');
  assert.equal((await get('/build/models/t.gguf')).body, 'GGUF test');
  assert.equal((await get('/web/same.js')).status, 200, 'a symlink that stays inside its mount');
  assert.equal((await get('/web/app.js', { method: 'HEAD' })).status, 200);
  const root = await get('/');
  assert.deepEqual([root.status, root.headers.location], [302, '/web/']);
  const bare = await get('/web');
  assert.deepEqual([bare.status, bare.headers.location], [301, '/web/']);
  assert.equal((await get('/web/app.js?v=1')).status, 200, 'a query string is not part of the path');
});

test('byte ranges, for downloads that resume: 206 with Content-Range, If-Range, 416', async () => {
  const whole = await get('/build/models/t.gguf');
  assert.equal(whole.headers['accept-ranges'], 'bytes');
  const etag = whole.headers.etag;
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  const part = await get('/build/models/t.gguf', { more: { Range: 'bytes=5-' } });
  assert.deepEqual([part.status, part.body, part.headers['content-range'], part.headers['content-length']],
    [206, 'test', 'bytes 5-8/9', '4']);
  assert.equal((await get('/build/models/t.gguf', { more: { Range: 'bytes=0-3', 'If-Range': etag } })).body, 'GGUF');
  const stale = await get('/build/models/t.gguf', { more: { Range: 'bytes=5-', 'If-Range': '"other"' } });
  assert.deepEqual([stale.status, stale.body], [200, 'GGUF test'], 'the file changed: all of it');
  const beyond = await get('/build/models/t.gguf', { more: { Range: 'bytes=9-' } });
  assert.deepEqual([beyond.status, beyond.headers['content-range']], [416, 'bytes */9']);
  assert.deepEqual(byteRange('bytes=-3', undefined, 'e', 9), { start: 6, end: 8 }, 'the last n bytes');
  assert.deepEqual(byteRange('bytes=2-100', undefined, 'e', 9), { start: 2, end: 8 });
  assert.equal(byteRange('bytes=0-1,4-5', undefined, 'e', 9), null, 'several ranges: the whole file');
  assert.equal(byteRange('items=0-1', undefined, 'e', 9), null);
  assert.equal(byteRange('bytes=5-2', undefined, 'e', 9), 'unsatisfiable');
});

test('nothing outside the mounts: .git, node_modules, sources, build output, dotfiles, other file types', async () => {
  for (const p of ['/.git/config', '/node_modules/x/index.js', '/src/a.cpp', '/package.json', '/build/native/CMakeCache.txt',
    '/wasm/bindings.cpp', '/web/.env', '/secret.txt', '/build/', '/build/models/', '/tools/serve.mjs']) {
    const r = await get(p);
    assert.equal(r.status, 404, `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /SECRET/, p);
  }
  assert.equal((await get('/web/app.js', { method: 'POST' })).status, 405);
});

test('the real repository: the page is there, its .git, node_modules, sources and tools are not', async () => {
  const real = await startServer({ port: 0 });
  try {
    const at = (p) => get(p, { host: `127.0.0.1:${real.port}`, port: real.port });
    assert.equal((await at('/web/')).status, 200);
    assert.equal((await at('/web/app.js')).status, 200);
    assert.equal((await at('/wasm/ringlm.js')).status, 200);
    for (const p of ['/.git/config', '/.git/HEAD', '/node_modules/playwright-core/package.json', '/package.json',
      '/src/model/engine.cpp', '/wasm/bindings.cpp', '/tools/serve.mjs', '/tests/serve.test.mjs', '/README.md']) {
      assert.equal((await at(p)).status, 404, p);
    }
  } finally {
    await real.close();
  }
});

test('a Host that is not this server\'s loopback name and port gets 421 (DNS rebinding)', async () => {
  assert.equal((await get('/web/', { host: `localhost:${server.port}` })).status, 200);
  assert.equal((await get('/web/', { host: `LOCALHOST:${server.port}` })).status, 200);
  for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1.evil.example:${server.port}`,
    '127.0.0.1', `127.0.0.1:${server.port + 1}`, `localhost:${server.port}.evil.example`, `[::1]:${server.port}`, '']) {
    const r = await get('/web/', { host });
    assert.equal(r.status, 421, `Host ${JSON.stringify(host)}: ${r.status}`);
    assert.doesNotMatch(r.body, /<title>/);
  }
  const none = await get('/web/', { host: null });  // no Host at all: Node's parser refuses HTTP/1.1 without one
  assert.equal(none.status, 400);
  assert.doesNotMatch(none.body, /<title>/);
});

test('path tricks are refused before any file is read: .., encoded slashes and dots, NUL, backslashes', async () => {
  const refused = [
    '/web/../package.json', '/web/../.git/config', '/web/./app.js', '/../secret.txt', '/web/%2e%2e/package.json',
    '/web/%2E%2E/%2e%2e/secret.txt', '/web/..%2fpackage.json', '/web%2f..%2fpackage.json', '/web/%2F..%2F.git/config',
    '/web/..%5cpackage.json', '/web/%5C..%5C.git%5Cconfig', '/web/app.js%00.png', '/web/%00', '/web/..\\package.json',
    '/web/%E0%A4%A', 'web/app.js', '*',
  ];
  for (const p of refused) {
    const r = await get(p);
    assert.equal(r.status, 400, `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /SECRET/, p);
  }
});

test('symlinks that resolve outside their mount are refused (403)', async () => {
  for (const p of ['/web/escape.html', '/web/up/secret.txt', '/web/up/repo/package.json', '/models/pkg.gguf']) {
    const r = await get(p);
    assert.equal(r.status, 403, `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /SECRET/, p);
  }
});

test('the server listens on loopback only, and mounts are checked', async () => {
  await assert.rejects(startServer({ port: 0, host: '0.0.0.0' }), /host must be a loopback address/);
  await assert.rejects(startServer({ port: 0, mounts: [{ url: '/../', dir: '.' }] }), /mount's url must look like/);
  assert.ok(PAGE_MOUNTS.every((m) => !['.', '', 'node_modules', '.git', 'src'].includes(m.dir)));
  assert.equal(server.server.address().address, '127.0.0.1');
});
