// A scripted run of the chat example against a real relay node: @alice.aura calls
// @bob.aura, they exchange a line each way over a direct WebRTC connection, and both quit.
// Used by `npm run demo` and by this example's integration test. Needs the test network
// namespace (scripts/netns.sh) on machines whose only interface is loopback.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '../..')

class Proc {
  constructor (name, args, log) {
    this.name = name
    this.out = ''
    this.waiters = []
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const onData = (d) => {
      for (const line of String(d).split('\n').filter(Boolean)) log(`[${name}] ${line}`)
      this.out += d
      this.waiters = this.waiters.filter((w) => !w())
    }
    this.child.stdout.on('data', onData)
    this.child.stderr.on('data', onData)
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)))
  }

  /** Resolves with the first match of `re` in the output; rejects after `ms`. */
  wait (re, ms = 30_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no output matching ${re} within ${ms} ms; output was:\n${this.out}`)), ms)
      const check = () => {
        const m = re.exec(this.out)
        if (m) { clearTimeout(timer); resolve(m) }
        return m != null
      }
      if (!check()) this.waiters.push(check)
      this.exited.then(() => { if (!re.test(this.out)) { clearTimeout(timer); reject(new Error(`${this.name} exited before printing ${re}:\n${this.out}`)) } })
    })
  }

  type (line) { this.child.stdin.write(line + '\n') }

  async stop () {
    if (this.child.exitCode !== null) return this.child.exitCode
    this.child.kill('SIGTERM')
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    const code = await this.exited
    clearTimeout(t)
    return code
  }
}

/** Runs the scripted conversation; resolves with a summary, rejects with what went wrong. */
export async function runChatDemo ({ log = console.log, relayArgs = [] } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'auralink-demo-'))
  const relay = new Proc('relay', [join(root, 'relay-node/dist/cli.js'), '--port', '0', '--http-port', '0', '--data-dir', join(tmp, 'relay'), ...relayArgs], log)
  const procs = [relay]
  try {
    const [, addr] = await relay.wait(/auralink-relay listening (\S+)/)
    const chat = (as) => {
      const p = new Proc(as, [join(here, 'dist/cli.js'), '--as', as, '--relay', addr, '--key-dir', join(tmp, 'keys')], log)
      procs.push(p)
      return p
    }
    const bob = chat('@bob.aura')
    const alice = chat('@alice.aura')
    await Promise.all([bob.wait(/registered @bob\.aura/), alice.wait(/registered @alice\.aura/)])
    const t0 = Date.now()
    alice.type('/call @bob.aura')
    const [, path] = await alice.wait(/connected to @bob\.aura \((direct|relayed)\)/)
    await bob.wait(/connected to @alice\.aura/)
    const setupMs = Date.now() - t0
    alice.type('hello bob')
    await bob.wait(/<@alice\.aura> hello bob/)
    bob.type('hi alice, loud and clear')
    await alice.wait(/<@bob\.aura> hi alice, loud and clear/)
    alice.type('/quit')
    await bob.wait(/@alice\.aura left/)
    bob.type('/quit')
    const codes = await Promise.all([alice.exited, bob.exited])
    return { path, setupMs, exitCodes: codes }
  } finally {
    await Promise.all(procs.map((p) => p.stop()))
  }
}
