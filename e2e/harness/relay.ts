// A real `auralink-relay` process for e2e tests. The process handling itself lives in
// test-utils/relay-process.ts, shared with the integration tests; this adds what e2e tests
// want on top: one stop() that also removes the relay's data folder, and a check that the
// relay listens where a page in the namespace may reach it (127.0.0.1, WebSockets).
import { removeDir, startRelayProcess } from '../../test-utils/relay-process.js'
import type { RelayProcess } from '../../test-utils/relay-process.js'

export interface E2eRelay {
  /** The relay's WebSocket multiaddr, `/ip4/127.0.0.1/tcp/<port>/ws/p2p/<relay peer id>`. */
  readonly addr: string
  readonly process: RelayProcess
  /** Everything the relay printed so far (JSON log lines): for failure messages. */
  output(): string
  /** Stops the process (SIGTERM, SIGKILL after 5 s) and removes its data folder. Idempotent. */
  stop(): Promise<void>
}

export async function startRelay (options: { args?: string[] } = {}): Promise<E2eRelay> {
  const relay = await startRelayProcess(options)
  if (!/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//.test(relay.addr)) {
    await relay.stop()
    await removeDir(relay.dataDir)
    throw new Error(`relay listens on ${relay.addr}, not on a 127.0.0.1 WebSocket address that pages can dial`)
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
