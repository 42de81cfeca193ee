// The install test's call (test/install/README.md), inside the test network namespace: the relay
// that `npm install @auralink/relay-node` installed (`npx auralink-relay` in <work>/relay), the
// Vite app that <work>/app built from the installed @auralink/sdk (served as static files on
// 127.0.0.1), and two pages in Debian's Chromium (e2e/harness/browser.ts), each in a browser
// context of its own: bob registers, alice registers and calls him with audio and video, the call
// connects, a chat message crosses and both sides get the other's tracks.
// Usage: scripts/netns.sh node test/install/call.mjs <work folder>   (after install.mjs)
/* global window */ // the functions given to page.evaluate run in the pages
import { spawn } from 'node:child_process'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { launchBrowser } from '../../e2e/harness/browser.ts'

const work = process.argv[2]
if (work === undefined || !existsSync(join(work, 'app', 'dist', 'index.html'))) {
  throw new TypeError(`usage: node test/install/call.mjs <work folder that install.mjs filled>, got ${JSON.stringify(work)}`)
}
if (process.env.AURALINK_NETNS !== '1') throw new Error('call.mjs runs inside the test network namespace: scripts/netns.sh node test/install/call.mjs <work>')
const t0 = Date.now()
const say = (line) => { console.log(`install: [call ${((Date.now() - t0) / 1000).toFixed(1)} s] ${line}`) }

/** Resolves with fn()'s value once `ok` accepts it; rejects after `ms` saying what it waited for. */
async function until (what, fn, ok, ms) {
  const end = Date.now() + ms
  for (;;) {
    const value = await fn()
    if (ok(value)) return value
    if (Date.now() > end) throw new Error(`waited ${ms} ms for ${what}; last: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function startRelay () {
  const dir = join(work, 'relay')
  // the installed relay, as its user runs it (npx finds it in the folder's node_modules: no network)
  const child = spawn('npx', ['auralink-relay', '--port', '0', '--http-port', '0', '--data-dir', join(dir, 'relay-data-call')], {
    cwd: dir, env: { ...process.env, HOME: join(work, 'home-relay') }, stdio: ['ignore', 'pipe', 'pipe'], detached: true
  })
  let out = ''
  child.stdout.on('data', (d) => { out += String(d) })
  child.stderr.on('data', (d) => { out += String(d) })
  const stop = () => { try { process.kill(-child.pid, 'SIGTERM') } catch {} }
  return { out: () => out, stop, addr: until('the relay to print its address', () => /auralink-relay listening (\S+)/.exec(out)?.[1], (a) => a !== undefined || child.exitCode !== null, 30_000) }
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml' }

async function serve (root) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    const file = normalize(join(root, path === '/' ? 'index.html' : path))
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
    createReadStream(file).pipe(res)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => { server.closeAllConnections(); server.close() } }
}

const relay = startRelay()
let server
let browser
try {
  const addr = await relay.addr
  if (addr === undefined) throw new Error(`the installed relay exited before listening:\n${relay.out()}`)
  say(`installed relay listening on ${addr}`)
  server = await serve(resolve(work, 'app', 'dist'))
  browser = await launchBrowser()
  const [alice, bob] = await Promise.all(['alice', 'bob'].map(async (label) => {
    const page = await browser.newPage(label)
    await page.goto(server.url, { timeout: 15_000 })
    await page.waitForFunction(() => window.installApp !== undefined, undefined, { timeout: 15_000 })
    return page
  }))
  const suffix = String(process.pid % 100_000)
  await bob.evaluate(([a, n]) => window.installApp.start(a, n), [addr, `@bob-${suffix}.aura`])
  await alice.evaluate(([a, n]) => window.installApp.start(a, n), [addr, `@alice-${suffix}.aura`])
  say('both pages: AuraLink.create() and register() done')
  const path = await alice.evaluate((n) => window.installApp.call(n), `@bob-${suffix}.aura`)
  await until("bob's side of the call to be connected", () => bob.evaluate(() => window.installApp.state()), (s) => s === 'connected', 30_000)
  say(`alice -> bob connected (path ${path})`)
  await alice.evaluate(() => window.installApp.send('hello from an installed app'))
  await until('bob to receive the message', () => bob.evaluate(() => window.installApp.received()), (r) => r.includes('hello from an installed app'), 15_000)
  for (const [label, page] of [['alice', alice], ['bob', bob]]) {
    const tracks = await until(`${label} to get an audio and a video track`, () => page.evaluate(() => window.installApp.tracks()), (t) => t.includes('audio') && t.includes('video'), 20_000)
    const frames = await until(`${label}'s remote video to show frames`, () => page.evaluate(() => window.installApp.frames()), (f) => f > 0, 20_000)
    say(`${label}: remote tracks ${tracks.join(', ')}, ${frames} video frames shown`)
  }
  if (path !== 'direct') throw new Error(`the call took the ${path} path, not direct WebRTC`)
  await Promise.all([alice, bob].map(async (p) => p.evaluate(() => window.installApp.stop())))
  const problems = browser.errors()
  if (problems.length > 0) say(`page errors seen (not failures): ${problems.length}, first: ${problems[0]}`)
  say('one call between two Chromium pages of the installed app, through the installed relay: passed')
} finally {
  await browser?.close()
  server?.close()
  relay.stop()
}
