// Launches Debian's Firefox ESR (/usr/bin/firefox-esr) through puppeteer-core over WebDriver BiDi
// for e2e tests (Playwright's own Firefox is a patched build that cannot be fetched here; Debian's
// speaks BiDi, which puppeteer-core drives). One fresh profile per launch (Puppeteer makes it and
// removes it on close, with its own automation preferences: no updates, no telemetry, no first
// run); each page gets a user context (a container of its own storage, as another user would
// have); what goes wrong in pages is forwarded to the test log as the Chromium harness does.
import puppeteer from 'puppeteer-core'
import type { Browser, BrowserContext, Page } from 'puppeteer-core'

export const FIREFOX_PATH = '/usr/bin/firefox-esr'

/** Firefox preferences the tests need, each with its reason (docs/testing.md repeats them). */
export const FIREFOX_PREFS: Record<string, boolean | number | string> = {
  // getUserMedia() gets synthetic devices (frames of changing colour and a tone), without a prompt
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // host ICE candidates as the interface's IP (10.213.0.x in the namespace), not a random
  // `<uuid>.local` name the other end must resolve over mDNS (as the Chromium harness does)
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // two pages run at once and only one tab is in front: the other's timers (libp2p keep-alives,
  // the call's heartbeat) must not be throttled, nor its media held back or its video not decoded
  'dom.min_background_timeout_value': 4,
  'dom.min_background_timeout_value_without_budget_throttling': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  'media.block-autoplay-until-in-foreground': false,
  'media.suspend-bkgnd-video.enabled': false,
  'media.autoplay.default': 0,
  // a slow 2-core machine must not make Firefox stop a busy page as hung
  'dom.max_script_run_time': 0,
  'dom.ipc.reportProcessHangs': false
}

export interface LaunchFirefoxOptions {
  /** More preferences (merged over {@link FIREFOX_PREFS}). */
  prefs?: Record<string, boolean | number | string>
  /** Launch limit. @default 60000 */
  timeoutMs?: number
  /** @default FIREFOX_PATH */
  executablePath?: string
  /** Where page problems go. @default console.error */
  log?: (line: string) => void
  /**
   * Debug namespaces to switch on in every page (`localStorage.debug`, read by @libp2p/logger);
   * then every console message of the pages is forwarded, not only errors.
   * @default process.env.AURALINK_E2E_DEBUG
   */
  debug?: string
}

export interface E2eFirefox {
  readonly browser: Browser
  /** Firefox's version string, e.g. 'firefox/153.8.0'. */
  readonly version: string
  /** A page in a user context of its own; `label` prefixes what it forwards to the log. */
  newPage(label: string): Promise<Page>
  /** Closes a page's user context (bounded). */
  closePage(page: Page): Promise<void>
  /** Page problems seen so far, each prefixed with its page's label. */
  errors(): string[]
  /** Closes every context and the browser (bounded). Idempotent. */
  close(): Promise<void>
}

/** Launches Firefox ESR headless with {@link FIREFOX_PREFS}, driven over WebDriver BiDi. */
export async function launchFirefox (options: LaunchFirefoxOptions = {}): Promise<E2eFirefox> {
  if (process.env.AURALINK_NETNS !== '1') {
    throw new Error('e2e tests run inside the test network namespace: scripts/netns.sh npx vitest run --project e2e')
  }
  const log = options.log ?? ((line: string) => { console.error(line) })
  const debug = options.debug ?? process.env.AURALINK_E2E_DEBUG ?? ''
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: options.executablePath ?? FIREFOX_PATH,
    protocol: 'webDriverBiDi',
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...(options.prefs ?? {}) },
    timeout: options.timeoutMs ?? 60_000,
    // the test process must not exit on Ctrl-C before the browser did; vitest ends it
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false
  })
  const version = await browser.version()
  const contexts = new Map<Page, BrowserContext>()
  const seen: string[] = []
  const report = (line: string, problem: boolean): void => {
    if (problem) seen.push(line)
    log(line)
  }
  let closing: Promise<void> | undefined

  const bounded = async (what: string, p: Promise<unknown>, ms: number): Promise<void> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => { log(`[e2e] ${what} did not finish within ${ms} ms`); resolve() }, ms)
    })
    await Promise.race([p.catch((err: unknown) => { log(`[e2e] ${what} failed: ${String(err)}`) }), timeout])
    clearTimeout(timer)
  }

  return {
    browser,
    version,
    async newPage (label) {
      if (closing !== undefined) throw new Error('the browser is closed')
      const context = await browser.createBrowserContext()
      const page = await context.newPage()
      contexts.set(page, context)
      if (debug !== '') await page.evaluateOnNewDocument((namespaces: string) => { localStorage.setItem('debug', namespaces) }, debug)
      page.on('console', (msg) => {
        const error = msg.type() === 'error'
        if (!error && debug === '') return
        report(`[${label}] console.${msg.type()}: ${msg.text()}`, error)
      })
      page.on('pageerror', (err) => { report(`[${label}] page error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, true) })
      return page
    },
    async closePage (page) {
      const context = contexts.get(page)
      contexts.delete(page)
      await bounded('closing a Firefox page', context !== undefined ? context.close() : page.close(), 10_000)
    },
    errors: () => [...seen],
    close: async () => {
      closing ??= (async () => {
        const open = [...contexts.values()]
        contexts.clear()
        await bounded('closing the Firefox user contexts', Promise.all(open.map(async (c) => c.close())), 10_000)
        await bounded('closing Firefox', browser.close(), 15_000)
        // browser.close() waited for the process; one that hangs past that is killed
        const proc = browser.process()
        if (proc !== null && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      })()
      await closing
    }
  }
}
