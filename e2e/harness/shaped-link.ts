// A "shaped link" for tests and benchmarks that need WebRTC media to cross a bottleneck of a
// known rate: Chromium runs inside a child network namespace (test-utils/netns.ts) whose `lo`
// carries the UDP between its pages through an HTB class of that rate, while the pages and the
// relay are served from the test namespace's end of the child's veth (10.214.<n>.1), over TCP,
// unshaped.
//
// Why this shape:
// - Two pages of one browser reach each other over the browser's own interface address
//   (10.214.<n>.2: Chromium gathers no loopback candidates), which the kernel routes through
//   `lo`. Shaping the child's `lo` therefore shapes what one page sends the other, and nothing
//   outside the child.
// - Playwright talks to Chromium over a pipe on fds 3 and 4, so Chromium is started through a
//   small generated script that `exec`s `nsenter --net=/proc/<holder>/ns/net` with the real
//   binary: the pipe is inherited and launchBrowser's flags are used as they are.
// - Only UDP (WebRTC: media, data channels, ICE) is classified into the shaped class: page loads
//   and the relay's WebSocket (TCP) go through HTB's direct queue at full speed, so a slow link
//   slows the call and not the test's set-up.
// - HTB and pfifo are what this machine's kernel offers (netem, tbf and prio are not built in),
//   so the link has a rate and a queue but no added delay or loss of its own: what the call sees
//   is the queueing delay and the tail drops of a full queue, as at a real bottleneck.
// - Both directions between two pages cross the same `lo` and so share one rate: a benchmark
//   that wants a one-way link sends media one way (the other way carries RTCP only).
//
// Runs inside the namespace of scripts/netns.sh (docs/testing.md), as root there.
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childNetns, requireTestNetns, requireTools } from '../../test-utils/netns.js'
import { CHROMIUM_PATH, launchBrowser } from './browser.js'
import { startRelay } from './relay.js'
import { servePages } from './server.js'
import { throwFirstRejection } from './settled.js'
import type { E2eBrowser, LaunchOptions } from './browser.js'
import type { E2eRelay } from './relay.js'
import type { PageServer, ServePagesOptions } from './server.js'
import type { ChildNetns } from '../../test-utils/netns.js'

/** Defaults of {@link ShapedLinkInit}. */
export const SHAPED_LINK_DEFAULTS = {
  /** The child namespace's number: 10.214.<n>.0/24 (distinct from the TURN test's 1 and 2). */
  n: 40,
  /** How much the bottleneck's queue holds, in ms of full-size (1200-byte) packets at the rate. */
  queueMs: 300,
  /** The fewest packets the queue holds, whatever the rate. */
  minQueuePackets: 10,
  /** The packet size that converts queueMs into packets: WebRTC's RTP and SCTP packets are about this big. */
  packetBytes: 1200
} as const

export interface ShapedLinkInit {
  /** Child namespace number (1 to 254): addresses 10.214.<n>.1 (test side) and .2 (browser side). @default 40 */
  n?: number
  /** The UDP rate between the browser's pages in kbit/s; undefined: unshaped. @default undefined */
  rateKbit?: number
  /** The bottleneck queue, in ms at the rate (see SHAPED_LINK_DEFAULTS). @default 300 */
  queueMs?: number
}

/** Counters of the shaped class's queue (the pfifo under the HTB class), from `tc -s qdisc`. */
export interface ShapedLinkStats {
  /** Bytes and packets that left the queue (IP packets, headers included). */
  bytes: number
  packets: number
  /** Packets dropped because the queue was full. */
  drops: number
  /** What is queued now. */
  backlogBytes: number
}

export interface ShapedLinkBrowserOptions extends LaunchOptions {
  /**
   * Origins served from the test namespace over plain http (e.g. a PageServer's origin) that
   * Chromium should treat as secure contexts (WebCrypto, getUserMedia): an http origin other
   * than localhost is not one. @default []
   */
  secureOrigins?: string[]
}

export interface ShapedLink {
  /** The child namespace's number. */
  readonly n: number
  /** Where servers the browser must reach listen: the test namespace's end of the veth, 10.214.<n>.1. */
  readonly host: string
  /** The browser's own address (its ICE host candidates), 10.214.<n>.2. */
  readonly browserAddr: string
  /** The current UDP rate in kbit/s, undefined when unshaped. */
  readonly rateKbit: number | undefined
  /** The current queue limit in packets (0 when unshaped). */
  readonly queuePackets: number
  readonly netns: ChildNetns
  /** Launches Chromium (launchBrowser's flags) inside the child namespace. */
  launchBrowser(options?: ShapedLinkBrowserOptions): Promise<E2eBrowser>
  /** Changes the rate (and the queue with it); undefined lifts the shaping. Takes effect at once. */
  setRate(kbit: number | undefined): Promise<void>
  /** The shaped queue's counters (they survive setRate; zeros before the first shaped rate). */
  stats(): Promise<ShapedLinkStats>
  /** Runs `tc` with these arguments inside the child namespace; resolves with its stdout. */
  tc(args: string[]): Promise<string>
  /** Removes the generated scripts and ends the namespace (its browser must be closed first). Idempotent. */
  close(): Promise<void>
}

const CLASS = '1:20'
const LEAF = '20:'

function checkRate (kbit: number | undefined, what: string): void {
  if (kbit === undefined) return
  if (typeof kbit !== 'number' || !Number.isFinite(kbit) || kbit < 8 || kbit > 10_000_000) {
    throw new RangeError(`${what} must be a number of kbit/s from 8 to 10000000, or undefined (unshaped), got ${String(kbit)}`)
  }
}

/** Queue limit in packets for a rate: queueMs of 1200-byte packets, at least minQueuePackets. */
export function queuePacketsFor (rateKbit: number, queueMs: number = SHAPED_LINK_DEFAULTS.queueMs): number {
  const packets = Math.ceil((rateKbit * 1000 / 8) * (queueMs / 1000) / SHAPED_LINK_DEFAULTS.packetBytes)
  return Math.max(SHAPED_LINK_DEFAULTS.minQueuePackets, packets)
}

async function exec (cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`))
      else resolve(stdout)
    })
  })
}

/**
 * Makes child namespace `n` with its veth (test-utils/netns.ts childNetns) and the shaping
 * set-up on its `lo`: an HTB root whose unclassified traffic (TCP) leaves at once, and one class
 * for UDP with the rate asked for (or no filter sending UDP to it, when unshaped).
 */
export async function createShapedLink (init: ShapedLinkInit = {}): Promise<ShapedLink> {
  requireTestNetns()
  requireTools({ tc: 'iproute2', nsenter: 'util-linux', unshare: 'util-linux' })
  const n = init.n ?? SHAPED_LINK_DEFAULTS.n
  checkRate(init.rateKbit, 'rateKbit')
  const queueMs = init.queueMs ?? SHAPED_LINK_DEFAULTS.queueMs
  if (!Number.isFinite(queueMs) || queueMs <= 0 || queueMs > 10_000) throw new RangeError(`queueMs must be a number of ms from 1 to 10000, got ${String(init.queueMs)}`)

  const netns = await childNetns(n)
  const pid = netns.holder.pid!
  const nsPath = `/proc/${pid}/ns/net`
  const tc = async (args: string[]): Promise<string> => exec('nsenter', [`--net=${nsPath}`, '--', 'tc', ...args])
  let dir: string | undefined
  let rate: number | undefined
  let queuePackets = 0
  let filtered = false
  const browsers: E2eBrowser[] = []

  const shape = async (kbit: number | undefined): Promise<void> => {
    checkRate(kbit, 'setRate(kbit)')
    if (kbit === undefined) {
      if (filtered) await tc(['filter', 'del', 'dev', 'lo', 'parent', '1:'])
      filtered = false
      rate = undefined
      queuePackets = 0
      return
    }
    const packets = queuePacketsFor(kbit, queueMs)
    // burst of one packet: at these rates a bigger bucket would let bursts through at line speed
    const htb = ['htb', 'rate', `${kbit}kbit`, 'ceil', `${kbit}kbit`, 'burst', '1600', 'cburst', '1600']
    await tc(['class', 'change', 'dev', 'lo', 'parent', '1:', 'classid', CLASS, ...htb])
    await tc(['qdisc', 'change', 'dev', 'lo', 'parent', CLASS, 'handle', LEAF, 'pfifo', 'limit', String(packets)])
    if (!filtered) {
      await tc(['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', '17', '0xff', 'flowid', CLASS])
      await tc(['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ipv6', 'prio', '2', 'u32', 'match', 'ip6', 'protocol', '17', '0xff', 'flowid', CLASS])
      filtered = true
    }
    rate = kbit
    queuePackets = packets
  }

  let closing: Promise<void> | undefined
  const close = async (): Promise<void> => {
    closing ??= (async () => {
      await Promise.allSettled(browsers.map(async (b) => b.close()))
      await netns.stop()
      if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    })()
    await closing
  }

  try {
    // unclassified packets (default 0) take HTB's direct queue, unshaped
    await tc(['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb'])
    await tc(['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', CLASS, 'htb', 'rate', '1gbit', 'ceil', '1gbit', 'quantum', '60000'])
    await tc(['qdisc', 'add', 'dev', 'lo', 'parent', CLASS, 'handle', LEAF, 'pfifo', 'limit', '1000'])
    await shape(init.rateKbit)
    dir = await mkdtemp(join(tmpdir(), 'auralink-shaped-'))
  } catch (err) {
    await close()
    throw err
  }
  const wrapper = join(dir, 'chromium-in-netns.sh')
  // exec twice: the script's shell becomes nsenter, which becomes Chromium with the same fds
  await writeFile(wrapper, `#!/bin/sh\nexec nsenter --net=${nsPath} -- ${CHROMIUM_PATH} "$@"\n`)
  await chmod(wrapper, 0o755)

  return {
    n,
    host: netns.gateway,
    browserAddr: netns.addr,
    get rateKbit () { return rate },
    get queuePackets () { return queuePackets },
    netns,
    async launchBrowser (options = {}) {
      if (closing !== undefined) throw new Error('the shaped link is closed')
      const { secureOrigins = [], ...launch } = options
      for (const o of secureOrigins) {
        if (!/^http:\/\/[^/]+$/.test(o)) throw new TypeError(`secureOrigins must be http://host:port origins, got ${JSON.stringify(o)}`)
      }
      const args = [...(launch.args ?? [])]
      if (secureOrigins.length > 0) args.push(`--unsafely-treat-insecure-origin-as-secure=${secureOrigins.join(',')}`)
      const browser = await launchBrowser({ ...launch, args, executablePath: wrapper })
      browsers.push(browser)
      return browser
    },
    setRate: shape,
    async stats () {
      const qdiscs = JSON.parse(await tc(['-s', '-j', 'qdisc', 'show', 'dev', 'lo'])) as Array<Record<string, unknown>>
      const leaf = qdiscs.find((q) => q.handle === LEAF)
      if (leaf === undefined) throw new Error(`no qdisc ${LEAF} on the child's lo: ${JSON.stringify(qdiscs)}`)
      const num = (v: unknown): number => (typeof v === 'number' ? v : 0)
      return { bytes: num(leaf.bytes), packets: num(leaf.packets), drops: num(leaf.drops), backlogBytes: num(leaf.backlog) }
    },
    tc,
    close
  }
}

export interface ShapedBrowserInit extends ShapedLinkInit {
  /** Pages (e2e/pages/<name>.html) to build and serve on the link's host. */
  pages: string[]
  /** Start a relay-node process on the link's host. @default false */
  relay?: boolean
  /** Options for the page build and server (crossOriginIsolated: COOP/COEP on every response). */
  build?: ServePagesOptions
  /** Options for Chromium (the page server's origin is added to secureOrigins). */
  launch?: ShapedLinkBrowserOptions
}

export interface ShapedBrowser {
  readonly link: ShapedLink
  /** Chromium inside the child namespace, in the E2eBrowser shape of launchBrowser. */
  readonly browser: E2eBrowser
  readonly server: PageServer
  /** The relay, when asked for: its addr is on the link's host. */
  readonly relay: E2eRelay | undefined
  /** Where the pages are served and the relay listens (10.214.<n>.1). */
  readonly pageHost: string
  readonly relayHost: string
  setRate(kbit: number | undefined): Promise<void>
  /** Closes the browser, the page server, the relay and the link. Idempotent. */
  close(): Promise<void>
}

/**
 * Everything a test needs for two (or more) pages across a shaped link: the link, the pages
 * built and served on its host, a relay there when asked for, and Chromium in the child
 * namespace treating the page origin as secure.
 */
export async function launchShapedBrowser (init: ShapedBrowserInit): Promise<ShapedBrowser> {
  const link = await createShapedLink(init)
  let server: PageServer | undefined
  let relay: E2eRelay | undefined
  let browser: E2eBrowser | undefined
  let closing: Promise<void> | undefined
  const close = async (): Promise<void> => {
    closing ??= (async () => {
      await browser?.close()
      await Promise.allSettled([server?.close(), relay?.stop()])
      await link.close()
    })()
    await closing
  }
  try {
    const started = await Promise.allSettled([
      servePages(init.pages, { ...init.build, host: link.host }).then((s) => { server = s }),
      init.relay === true ? startRelay({ host: link.host }).then((r) => { relay = r }) : Promise.resolve()
    ])
    throwFirstRejection(started)
    const launch = init.launch ?? {}
    browser = await link.launchBrowser({ ...launch, secureOrigins: [...(launch.secureOrigins ?? []), server!.origin] })
  } catch (err) {
    await close()
    throw err
  }
  return {
    link,
    browser,
    server: server!,
    relay,
    pageHost: link.host,
    relayHost: link.host,
    setRate: async (kbit) => link.setRate(kbit),
    close
  }
}
