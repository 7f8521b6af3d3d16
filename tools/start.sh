#!/usr/bin/env bash
# `npm start`: set up, build the wasm module (incremental: nothing to do when dist/ is current), write the test
# models (the page falls back to one while models/ has no default model), then serve the page (and only what it
# needs: tools/serve.mjs) on 127.0.0.1 with COOP/COEP headers and print its URL. PORT=N picks the port (default 8080; the
# next free one of the nine after it when it is taken).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh
node tools/build.mjs --wasm-only
node tools/make-test-models.mjs | tail -n 1

exec node --input-type=module -e '
import { startServer } from "./tools/serve.mjs";

const first = Number(process.env.PORT ?? 8080);
for (let port = first; port < first + 10; port++) {
  try {
    const { url } = await startServer({ port });
    console.log(`\nringlm demo page: ${url}web/\n(serving the page, the package and the models on 127.0.0.1 with COOP/COEP; Ctrl+C stops)`);
    break;
  } catch (error) {
    if (error.code !== "EADDRINUSE" || port === first + 9) {
      console.error(`start: cannot serve on port ${port}: ${error.message}`);
      process.exit(1);
    }
  }
}
'
