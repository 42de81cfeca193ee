/* global window -- the functions passed to page.evaluate() run in the page */
// Shared by the browser benchmarks (call-setup, browser-throughput): a relay-node process, a
// PeerJS server, the e2e pages (sdk, peerjs) built and served on 127.0.0.1, and Debian's
// Chromium with the e2e harness's flags. Node 24 loads the harness's .ts files directly.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { launchBrowser } from '../e2e/harness/browser.ts'
import { servePages } from '../e2e/harness/server.ts'
import { root, startRelay } from './lib.mjs'

/** Starts everything; `close()` stops all of it. `relayArgs`: more flags for the relay. */
export async function browserBench ({ relayArgs = [] } = {}) {
  const relay = await startRelay({ args: relayArgs })
  const peerServer = spawn(process.execPath, [join(root, 'bench/peerjs-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const peerPort = await new Promise((resolve, reject) => {
    const t = setTimeout(() => { peerServer.kill('SIGKILL'); reject(new Error('the PeerJS server did not start within 10 s')) }, 10_000)
    let out = ''
    peerServer.stdout.on('data', (d) => {
      out += d
      const m = /peerjs-server listening (\d+)/.exec(out)
      if (m) { clearTimeout(t); resolve(Number(m[1])) }
    })
    peerServer.once('exit', (code) => { clearTimeout(t); reject(new Error(`the PeerJS server exited with ${code}`)) })
  })
  const server = await servePages(['sdk', 'peerjs'], { minify: true, sourcemap: false })
  const browser = await launchBrowser()
  const pages = []

  async function page (kind, label) {
    const p = await browser.newPage(label)
    pages.push(p)
    await p.goto(server.url(kind), { timeout: 20_000 })
    await p.waitForFunction((k) => `${k}Page` in window, kind, { timeout: 10_000 })
    return p
  }

  return {
    relayAddr: relay.addr,
    peerPort,
    /** A page of kind 'sdk' or 'peerjs', loaded, its API not started. */
    page,
    /** A page running an AuraLink client registered as `name`. */
    async auralink (name) {
      const p = await page('sdk', name)
      await p.evaluate(async ([r, n]) => window.sdkPage.start(r, n), [relay.addr, name])
      return p
    },
    /** A page running a PeerJS peer with id `id`. */
    async peerjs (id) {
      const p = await page('peerjs', id)
      await p.evaluate(async ([port, i]) => window.peerjsPage.start(port, i), [peerPort, id])
      return p
    },
    async close () {
      // each step bounded: a benchmark must end even when a page or a server misbehaves
      const bounded = async (what, p, ms = 10_000) => {
        let t
        await Promise.race([p, new Promise((resolve) => { t = setTimeout(() => { console.error(`close: ${what} took over ${ms} ms, going on`); resolve() }, ms) })])
        clearTimeout(t)
      }
      for (const p of pages) {
        await bounded('a page\'s client', p.evaluate(async () => { await window.sdkPage?.stop(); window.peerjsPage?.stop() }).catch(() => {}), 5000)
      }
      await bounded('browser', browser.close())
      await bounded('page server', server.close())
      const exited = new Promise((resolve) => peerServer.once('exit', resolve))
      peerServer.kill('SIGTERM')
      await bounded('PeerJS server', exited)
      await bounded('relay', relay.stop())
    }
  }
}

/** Unwraps a page result that is either a value or { name, message, ms }. */
export function ok (result, what) {
  if (result != null && typeof result === 'object' && 'name' in result && 'message' in result) {
    throw new Error(`${what}: ${result.name}: ${result.message}`)
  }
  return result
}
