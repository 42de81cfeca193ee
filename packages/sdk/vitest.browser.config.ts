import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { defineConfig } from 'vitest/config'
import { chromiumBrowser } from '../../vitest.browser.base.ts'

const exec = promisify(execFile)

/**
 * A browser command (runs here, in Node, inside the test namespace): drops every packet to the
 * namespace's veth addresses (10.213.0.0/24) on `lo`, which carries the traffic between two
 * local addresses, i.e. the ICE, DTLS and RTP of peer connections in the page; the runner's own
 * connection to the page (127.0.0.1) is untouched. `cut: false` lifts it (and does nothing when
 * nothing is cut).
 */
async function cutPeerLink (_context: unknown, cut: boolean): Promise<void> {
  if (process.env.AURALINK_NETNS !== '1') throw new Error('cutPeerLink changes the network: run the browser tests under scripts/netns.sh')
  if (cut) {
    // an HTB root (unclassified packets pass untouched) with one class whose queue holds nothing
    // (pfifo limit 0: every packet dropped), and a filter sending 10.213.0.0/24 into it; no tc
    // action modules needed (this kernel has none)
    await exec('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb'])
    await exec('tc', ['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1gbit', 'quantum', '60000'])
    await exec('tc', ['qdisc', 'add', 'dev', 'lo', 'parent', '1:10', 'handle', '10:', 'pfifo', 'limit', '0'])
    await exec('tc', ['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', '10.213.0.0/24', 'flowid', '1:10'])
  } else {
    await exec('tc', ['qdisc', 'del', 'dev', 'lo', 'root']).catch(() => {})
  }
}

// The SDK tests that need a browser's RTCPeerConnection (the media session: two of them in one
// page, wired to each other), in Debian's headless Chromium through Playwright. Run inside the
// test network namespace, so ICE gathers only the namespace's addresses. From the repo root:
//   scripts/netns.sh npx vitest run --config packages/sdk/vitest.browser.config.ts
// Files are test/**/*.browser.spec.ts: the root config's unit project (Node) takes *.test.ts only.
export default defineConfig({
  root: import.meta.dirname,
  test: {
    name: 'sdk-browser',
    include: ['test/**/*.browser.spec.ts'],
    testTimeout: 30_000,
    // host candidates as the namespace's IPs, not mDNS names nobody resolves here
    browser: { ...chromiumBrowser(['--disable-features=WebRtcHideLocalIpsWithMdns']), commands: { cutPeerLink } }
  }
})
