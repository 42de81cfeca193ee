// A real `auralink-relay` process for e2e tests. The process handling itself lives in
// test-utils/relay-process.ts, shared with the integration tests; this adds what e2e tests
// want on top: one stop() that also removes the relay's data folder, and a check that the
// relay listens where a page in the namespace may reach it (127.0.0.1, WebSockets).
import { removeDir, startRelayProcess } from '../../test-utils/relay-process.js'
import type { RelayProcess } from '../../test-utils/relay-process.js'

export interface E2eRelay {
  /** The relay's WebSocket multiaddr, `/ip4/127.0.0.1/tcp/<port>/ws/p2p/<relay peer id>` (or the host asked for). */
  readonly addr: string
  readonly process: RelayProcess
  /** Everything the relay printed so far (JSON log lines): for failure messages. */
  output(): string
  /** Stops the process (SIGTERM, SIGKILL after 5 s) and removes its data folder. Idempotent. */
  stop(): Promise<void>
}

export interface StartRelayOptions {
  /** More relay-node flags. */
  args?: string[]
  /**
   * The IPv4 address to listen on (`--host`), e.g. the test namespace's end of a child
   * namespace's veth, for a browser that runs in that child (e2e/harness/shaped-link.ts).
   * @default '127.0.0.1' (the relay's own default; no --host flag is passed)
   */
  host?: string
}

export async function startRelay (options: StartRelayOptions = {}): Promise<E2eRelay> {
  const host = options.host ?? '127.0.0.1'
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) throw new TypeError(`startRelay: host must be an IPv4 address, got ${JSON.stringify(options.host)}`)
  const args = [...(options.args ?? []), ...(options.host !== undefined ? ['--host', host] : [])]
  const relay = await startRelayProcess({ args })
  if (!relay.addr.startsWith(`/ip4/${host}/tcp/`) || !/^\/ip4\/[\d.]+\/tcp\/\d+\/ws\/p2p\//.test(relay.addr)) {
    await relay.stop()
    await removeDir(relay.dataDir)
    throw new Error(`relay listens on ${relay.addr}, not on a ${host} WebSocket address that pages can dial`)
  }
  let stopped: Promise<void> | undefined
  return {
    addr: relay.addr,
    process: relay,
    output: () => relay.output(),
    stop: async () => {
      stopped ??= (async () => {
        await relay.stop()
        await removeDir(relay.dataDir)
      })()
      await stopped
    }
  }
}
