// Launches Debian's Chromium (/usr/bin/chromium) through playwright-core for e2e tests, with a
// fresh temporary profile per launch, the flags below and nothing else, and forwards what goes
// wrong in pages (console errors, uncaught errors, crashes) to the test log.
//
// Why every flag is ours (ignoreDefaultArgs: true): Chromium honours only the last
// --disable-features switch on its command line, so adding ours next to Playwright's defaults
// would silently drop Playwright's list (or ours). The harness therefore lists every switch
// itself, each with its reason; docs/testing.md repeats the list.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { Browser, BrowserContext, BrowserContextOptions, ConsoleMessage, Page } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Features switched off (one --disable-features switch: Chromium reads only the last one). */
export const DISABLED_FEATURES = [
  // host ICE candidates as the interface's IP (10.213.0.x in the namespace) instead of a random
  // `<uuid>.local` name that the other end (a page or a Node peer) must resolve over mDNS: tests
  // should not depend on multicast name resolution
  'WebRtcHideLocalIpsWithMdns',
  // Cast device discovery (mDNS/SSDP multicast); nothing to discover
  'MediaRouter',
  // optimization hints are fetched from Google at start-up
  'OptimizationHints',
  // pages are served on http://127.0.0.1: keep them on http
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  // closing a context waits for its profile to be destroyed; Playwright switches this off too
  'DestroyProfileOnBrowserClose'
]

/** Every switch the browser gets, but --user-data-dir (one fresh folder per launch). */
export const CHROMIUM_FLAGS = [
  // Playwright talks to the browser over a pipe (fds 3 and 4); with ignoreDefaultArgs it must be asked for
  '--remote-debugging-pipe',
  // no window until a context asks for a page
  '--no-startup-window',
  // no display here; Chromium's (new) headless mode
  '--headless',
  // the sandbox cannot start as root or inside the user and network namespaces of scripts/netns.sh
  '--no-sandbox',
  // no GPU here: no GPU process probing, software paths only
  '--disable-gpu',
  // no QUIC (UDP) for HTTP: pages and WebSockets use TCP on 127.0.0.1
  '--disable-quic',
  // no first-run tasks, default-browser prompt, default apps or extensions
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-default-apps',
  '--disable-extensions',
  // no requests of Chromium's own: update checks, component downloads, sync, crash uploads
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-breakpad',
  // features as built, without field-trial configuration: the same browser on every run
  '--disable-field-trial-config',
  // no keyring lookups (D-Bus) for a password store nobody uses
  '--password-store=basic',
  // shared memory in /tmp: /dev/shm is 64 MB in many containers
  '--disable-dev-shm-usage',
  // two pages run at once and neither is "visible": their timers (libp2p keep-alives, dial
  // backoff) must not be throttled to once a second, nor their renderers deprioritised
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  // a slow 2-core machine must not make Chromium kill a busy renderer as hung
  '--disable-hang-monitor',
  // getUserMedia() is granted without a prompt and gets synthetic devices (a test pattern and a beep)
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  // the fake microphone's beep stays silent
  '--mute-audio',
  `--disable-features=${DISABLED_FEATURES.join(',')}`
]

export interface LaunchOptions {
  /** More switches (not --user-data-dir, not a second --disable-features: use disableFeatures). */
  args?: string[]
  /** More features to switch off, merged into the one --disable-features switch. */
  disableFeatures?: string[]
  /** Launch limit. @default 30000 */
  timeoutMs?: number
  /**
   * The browser binary (or a script that execs it, keeping Playwright's pipe on fds 3 and 4, as
   * e2e/harness/shaped-link.ts does to start Chromium in another network namespace).
   * @default CHROMIUM_PATH
   */
  executablePath?: string
  /** Where page problems go. @default console.error */
  log?: (line: string) => void
  /**
   * Debug namespaces to switch on in every page (`localStorage.debug`, read by @libp2p/logger),
   * e.g. 'libp2p:webrtc*,auralink:*'; then every console message of the pages is forwarded, not
   * only errors. @default process.env.AURALINK_E2E_DEBUG
   */
  debug?: string
}

export interface E2eBrowser {
  readonly browser: Browser
  /** The profile folder of this launch, removed by close(). */
  readonly userDataDir: string
  /**
   * A page in a new browser context of its own (its own storage, as another user would have):
   * `label` prefixes what it forwards to the log.
   */
  newPage(label: string, options?: BrowserContextOptions): Promise<Page>
  /** Page problems seen so far, each prefixed with its page's label. */
  errors(): string[]
  /** Closes every context and the browser (bounded), and removes the profile. Idempotent. */
  close(): Promise<void>
}

/** Launches Chromium with {@link CHROMIUM_FLAGS} and a fresh temporary profile. */
export async function launchBrowser (options: LaunchOptions = {}): Promise<E2eBrowser> {
  // outside the namespace Chromium would gather ICE candidates on the machine's real interfaces
  if (process.env.AURALINK_NETNS !== '1') {
    throw new Error('e2e tests run inside the test network namespace: scripts/netns.sh npx vitest run --project e2e')
  }
  const extra = options.args ?? []
  const bad = extra.find((a) => a.startsWith('--user-data-dir') || a.startsWith('--disable-features'))
  if (bad !== undefined) throw new TypeError(`args may not set ${bad.split('=')[0]}: the harness sets it (use disableFeatures for features)`)
  const log = options.log ?? ((line: string) => { console.error(line) })
  const debug = options.debug ?? process.env.AURALINK_E2E_DEBUG ?? ''
  const userDataDir = await mkdtemp(join(tmpdir(), 'auralink-chromium-'))
  const features = [...DISABLED_FEATURES, ...(options.disableFeatures ?? [])]
  const args = [
    ...CHROMIUM_FLAGS.filter((a) => !a.startsWith('--disable-features=')),
    `--disable-features=${features.join(',')}`,
    `--user-data-dir=${userDataDir}`,
    ...extra
  ]
  let browser: Browser
  try {
    browser = await chromium.launch({
      executablePath: options.executablePath ?? CHROMIUM_PATH,
      headless: true,
      ignoreDefaultArgs: true,
      args,
      timeout: options.timeoutMs ?? 30_000
    })
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true })
    throw err
  }

  const contexts: BrowserContext[] = []
  const seen: string[] = []
  const report = (line: string, problem: boolean): void => {
    if (problem) seen.push(line)
    log(line)
  }
  let closing: Promise<void> | undefined

  return {
    browser,
    userDataDir,
    async newPage (label, contextOptions) {
      if (closing !== undefined) throw new Error('the browser is closed')
      const context = await browser.newContext(contextOptions)
      contexts.push(context)
      if (debug !== '') await context.addInitScript((namespaces) => { localStorage.setItem('debug', namespaces) }, debug)
      const page = await context.newPage()
      forwardPageProblems(page, label, report, { everything: debug !== '' })
      return page
    },
    errors: () => [...seen],
    close: async () => {
      closing ??= (async () => {
        const bounded = async (what: string, p: Promise<unknown>, ms: number): Promise<void> => {
          let timer: ReturnType<typeof setTimeout> | undefined
          const timeout = new Promise<void>((resolve) => {
            timer = setTimeout(() => { log(`[e2e] ${what} did not finish within ${ms} ms`); resolve() }, ms)
          })
          await Promise.race([p.catch((err: unknown) => { log(`[e2e] ${what} failed: ${String(err)}`) }), timeout])
          clearTimeout(timer)
        }
        await bounded('closing the browser contexts', Promise.all(contexts.splice(0).map(async (c) => c.close())), 10_000)
        // browser.close() ends the process (Playwright kills it when it does not exit by itself)
        await bounded('closing the browser', browser.close(), 15_000)
        await rm(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
      })()
      await closing
    }
  }
}

/**
 * Sends a page's console errors, uncaught errors and crashes to `report` (`problem` true),
 * prefixed with `[label]`; with `everything`, every other console message too (`problem` false).
 */
export function forwardPageProblems (page: Page, label: string, report: (line: string, problem: boolean) => void, options: { everything?: boolean } = {}): void {
  // messages are formatted asynchronously (their arguments live in the page): one chain keeps their order
  let chain = Promise.resolve()
  page.on('console', (msg) => {
    const error = msg.type() === 'error'
    if (!error && options.everything !== true) return
    const where = msg.location()
    const at = error && where.url !== '' ? ` (${where.url}:${where.lineNumber})` : ''
    chain = chain.then(async () => {
      const text = await formatConsoleMessage(msg).catch(() => msg.text())
      report(`[${label}] console.${msg.type()}: ${text}${at}`, error)
    })
  })
  page.on('pageerror', (err) => { report(`[${label}] page error: ${err.stack ?? err.message}`, true) })
  page.on('crash', () => { report(`[${label}] page crashed`, true) })
}

/** printf-style substitution as the console does it (`%s`, `%d`, `%o`, ...; `%c` styles dropped). */
async function formatConsoleMessage (msg: ConsoleMessage): Promise<string> {
  const args = msg.args()
  if (args.length < 2) return msg.text()
  const values: unknown[] = await Promise.all(args.map(async (a) => a.jsonValue().catch(() => a.toString())))
  const first = values.shift()
  if (typeof first !== 'string' || !first.includes('%')) return [first, ...values].map(show).join(' ')
  const text = first.replace(/%[csdifoOj%]/g, (spec) => {
    if (spec === '%%') return '%'
    if (values.length === 0) return spec
    const value = values.shift()
    return spec === '%c' ? '' : show(value)
  })
  return [text, ...values.map(show)].join(' ')
}

function show (value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
