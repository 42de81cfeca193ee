import { MAX_RELAY_REPORT_ENTRIES, MAX_RELAY_REPORTS_BYTES, RELAY_REPORTS_PROTOCOL } from '@auralink/protocol'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { DEFAULT_DIRECTORY_TIMEOUT_MS, DEFAULT_REPORT_MIN_INTERVAL_MS } from './constants.js'
import { createRelayReports, verifyRelayReports } from './relay-reports.js'
import type { RelayReportEntry } from './relay-reports.js'
import type { RelayScorer } from './reputation/types.js'
import type { AbortOptions, Connection, Libp2p, Logger, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What became of one batch of reports another peer sent us. */
export interface ReportsReceived {
  from: PeerId
  /** Reports the scorer kept (each still weighted by the reporter's trust, 0 for a stranger). */
  accepted: number
  /** Reports the scorer refused or did not keep: about a relay we do not know, a replay, too old. */
  refused: number
  /** Set when the whole batch was refused: its error (InvalidRelayReportError, or 'too soon'). */
  error?: Error
}

interface ExchangeInit {
  libp2p: Libp2p
  key: PrivateKey
  scorer: RelayScorer
  log: Logger
  /** Relays to reach a peer through when there is no connection to it, best first. */
  relays: () => Array<{ addr: Multiaddr }>
  received: (r: ReportsReceived) => void
  minIntervalMs?: number
}

/**
 * Signed relay reports between peers (`/auralink/relay-reports/1.0.0`): one batch per stream,
 * length-prefixed, at most 8 KiB. Received batches are verified (signature, time, and signed by
 * the peer that sent them) and fed to the scorer's `addReport`, which weighs each by the
 * reporter's EigenTrust weight; at most one batch per peer per `minIntervalMs` is read.
 */
export class ReportExchange {
  private readonly lastFrom = new Map<string, number>()
  private readonly minIntervalMs: number

  constructor (private readonly init: ExchangeInit) {
    this.minIntervalMs = init.minIntervalMs ?? DEFAULT_REPORT_MIN_INTERVAL_MS
  }

  async start (): Promise<void> {
    await this.init.libp2p.handle(RELAY_REPORTS_PROTOCOL, (stream, connection) => { void this.receive(stream, connection) }, {
      runOnLimitedConnection: true, maxInboundStreams: 4
    })
  }

  async stop (): Promise<void> {
    this.lastFrom.clear()
    await this.init.libp2p.unhandle(RELAY_REPORTS_PROTOCOL).catch(() => {})
  }

  private async receive (stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer
    const signal = AbortSignal.timeout(DEFAULT_DIRECTORY_TIMEOUT_MS)
    const now = Date.now()
    const last = this.lastFrom.get(from.toString())
    try {
      if (last !== undefined && now - last < this.minIntervalMs) {
        throw new Error(`a batch ${now - last} ms after the last one from this peer; at most one per ${this.minIntervalMs} ms`)
      }
      this.lastFrom.set(from.toString(), now)
      if (this.lastFrom.size > 10_000) this.lastFrom.delete(this.lastFrom.keys().next().value as string)
      const lp = lpStream(stream, { maxDataLength: MAX_RELAY_REPORTS_BYTES })
      const batch = await verifyRelayReports((await lp.read({ signal })).subarray(), { from, signal })
      await stream.close({ signal }).catch(() => stream.abort(new Error('close failed')))
      let accepted = 0
      for (const e of batch.entries) {
        let kept = false
        try {
          kept = this.init.scorer.addReport({ reporter: batch.reporter.toString(), relay: e.relay.toString(), value: e.value, at: batch.at })
        } catch (err) {
          this.init.log('report from %p about %p refused: %s', from, e.relay, (err as Error).message)
        }
        if (kept) accepted++
      }
      this.init.received({ from, accepted, refused: batch.entries.length - accepted })
    } catch (err) {
      if (stream.status === 'open') stream.abort(err as Error)
      this.init.log('relay reports from %p refused: %s', from, (err as Error).message)
      this.init.received({ from, accepted: 0, refused: 0, error: err as Error })
    }
  }

  /** This peer's own opinion of the relays it has data on: the reputation part of each score, 0..1. */
  ownOpinions (): RelayReportEntry[] {
    return this.init.scorer.ranked()
      .filter((r) => this.init.scorer.has(r.relay))
      .slice(0, MAX_RELAY_REPORT_ENTRIES)
      .map((r) => ({ relay: peerIdFromString(r.relay), value: Math.min(1, Math.max(0, r.parts.reputation)) }))
  }

  /**
   * Signs `entries` and sends them to `peer`: over a connection we have to it, or else over a
   * relayed connection through our relays (reports are small, a limited connection carries them).
   */
  async send (peer: PeerId, entries: RelayReportEntry[], options: AbortOptions = {}): Promise<void> {
    const batch = await createRelayReports(this.init.key, entries, options)
    const timeout = AbortSignal.timeout(DEFAULT_DIRECTORY_TIMEOUT_MS)
    const signal = options.signal != null ? AbortSignal.any([options.signal, timeout]) : timeout
    const existing = this.init.libp2p.getConnections(peer).find((c) => c.status === 'open')
    const connection = existing ?? await this.dialRelayed(peer, signal)
    try {
      const stream = await connection.newStream(RELAY_REPORTS_PROTOCOL, { signal, runOnLimitedConnection: true })
      try {
        await lpStream(stream, { maxDataLength: MAX_RELAY_REPORTS_BYTES }).write(batch.bytes, { signal })
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
        throw err
      }
    } finally {
      // a relayed connection made for the reports alone is not kept: it holds a circuit at the relay
      if (existing === undefined) await connection.close().catch(() => { connection.abort(new Error('close failed')) })
    }
  }

  /** A relayed connection to `peer`: each relay best first, each tried twice (a circuit set-up fails now and then). */
  private async dialRelayed (peer: PeerId, signal: AbortSignal): Promise<Connection> {
    let last: Error | undefined
    for (const { addr } of this.init.relays()) {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          return await this.init.libp2p.dial(addr.encapsulate(`/p2p-circuit/p2p/${peer.toString()}`), { signal, force: attempt > 0 })
        } catch (err) {
          signal.throwIfAborted()
          last = err as Error
          this.init.log('relayed dial to %p through %a failed: %s', peer, addr, last.message)
          await new Promise((resolve) => setTimeout(resolve, 500))
        }
      }
    }
    throw last ?? new Error(`no relay to reach ${peer.toString()} through`)
  }
}
