#!/usr/bin/env node
// Serves the built web call app (dist/) on 127.0.0.1, and /config.json with the relays to use.
// Node built-ins only.
//
//   node examples/web-call/server.mjs --relay /ip4/127.0.0.1/tcp/4001/ws/p2p/12D3Koo... [--port 5173]
//
// Prints "web-call: open http://127.0.0.1:<port>" once it listens (--port 0 picks a free port);
// stops cleanly on SIGINT and SIGTERM.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { parseArgs } from 'node:util'

const USAGE = `usage: node server.mjs [--relay <multiaddr>]... [--relay-http <url>] [--port 5173] [--host 127.0.0.1] [--dir dist]

Serves the built web call app and /config.json ({ "relays": [...], "relayHttp": "..." }) for it.

  --relay       a relay node's WebSocket multiaddr (repeatable); the app's relay field starts with it
  --relay-http  that relay's HTTP port (http://127.0.0.1:4002): where the app lists and plays your recordings
  --port    HTTP port; 0 picks a free one (default: 5173)
  --host    address to listen on (default: 127.0.0.1)
  --dir     the built app (default: dist/ next to this file; npm run build makes it)
  --help    this text`

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream'
}

function fail (message) {
  console.error(`web-call: ${message}`)
  process.exit(2)
}

let args
try {
  args = parseArgs({
    options: {
      relay: { type: 'string', multiple: true, default: [] },
      'relay-http': { type: 'string', default: '' },
      port: { type: 'string', default: '5173' },
      host: { type: 'string', default: '127.0.0.1' },
      dir: { type: 'string', default: join(import.meta.dirname, 'dist') },
      help: { type: 'boolean', default: false }
    },
    strict: true
  }).values
} catch (err) {
  fail(`${err.message}\n${USAGE}`)
}
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}

const port = Number(args.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0 to 65535, got ${JSON.stringify(args.port)}`)
const relays = args.relay.flatMap((r) => r.split(',')).map((r) => r.trim()).filter((r) => r !== '')
for (const r of relays) if (!r.startsWith('/')) fail(`--relay must be a multiaddr like /ip4/127.0.0.1/tcp/4001/ws/p2p/12D3Koo..., got ${JSON.stringify(r)}`)
const root = resolve(args.dir)
if ((await stat(join(root, 'index.html')).catch(() => undefined))?.isFile() !== true) {
  fail(`${root} has no index.html: build the app first (npm run build -w @auralink/example-web-call)`)
}
const relayHttp = args['relay-http']
if (relayHttp !== '' && !/^https?:\/\/\S+$/.test(relayHttp)) fail(`--relay-http must be an http:// or https:// URL, got ${JSON.stringify(relayHttp)}`)
const config = JSON.stringify({ relays, relayHttp })

const server = createServer((req, res) => {
  serve(req, res).catch((err) => {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
    res.end(String(err))
  })
})

async function serve (req, res) {
  // cross-origin isolation (COOP + COEP): SharedArrayBuffer exists, so AIC's enhancer runs
  // onnxruntime-web's WASM with threads (docs/aic.md "AIC in calls"); everything this app loads
  // is its own, so require-corp costs it nothing
  res.setHeader('cross-origin-opener-policy', 'same-origin')
  res.setHeader('cross-origin-embedder-policy', 'require-corp')
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end()
    return
  }
  let path
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
  } catch {
    res.writeHead(400).end()
    return
  }
  if (path === '/config.json') {
    res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' })
    res.end(req.method === 'HEAD' ? undefined : config)
    return
  }
  const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path))
  if (!file.startsWith(root + sep)) {
    res.writeHead(403).end()
    return
  }
  const info = await stat(file).catch(() => undefined)
  if (info?.isFile() !== true) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`)
    return
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': info.size,
    // file names under assets/ carry a content hash; index.html must be fetched fresh
    'cache-control': path.startsWith('/assets/') ? 'max-age=31536000, immutable' : 'no-cache'
  })
  if (req.method === 'HEAD') res.end()
  else createReadStream(file).pipe(res)
}

server.on('error', (err) => {
  console.error(`web-call: cannot listen on ${args.host}:${port}: ${err.message}`)
  process.exit(1)
})
server.listen(port, args.host, () => {
  const { port: actual } = server.address()
  console.log(`web-call: open http://${args.host}:${actual}  (relays: ${relays.length > 0 ? relays.join(', ') : 'none: enter one in the app'})`)
})

// one signal stops cleanly (open connections are dropped); a second exits at once
let signals = 0
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (++signals > 1) process.exit(1)
    server.close(() => { process.exit(0) })
    server.closeAllConnections()
  })
}
