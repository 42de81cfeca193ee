import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { RelayLimit } from './relay-guard.js'

/** Where the gauges read their values when Prometheus scrapes. */
export interface RelayMetricsSources {
  /** Circuit relay v2 reservations held now. */
  reservations(): number
  /** Open libp2p connections. */
  connections(): number
  /** AuraIDs the directory holds. */
  names(): Promise<number>
  /** Relayed connections open now: all, and those where neither end holds a name here. */
  circuits?(): { total: number, anonymous: number }
  /** Relays in the DHT routing table now. */
  dhtPeers?(): number
  /** Other relays known from their adverts now. */
  knownRelays?(): number
}

/** Kinds of fault counted in `auralink_errors_total{kind}`. */
export type ErrorKind = 'directory_internal' | 'http' | 'relay' | (string & {})

/**
 * The relay's Prometheus metrics, in a registry of its own (so embedding the relay never
 * touches prom-client's global registry): Node's process metrics, plus
 * `auralink_relay_reservations`, `auralink_relay_connections`, `auralink_directory_names`,
 * `auralink_relay_circuits{kind}`, `auralink_directory_operations_total{op,outcome}`,
 * `auralink_relay_limit_hits_total{limit}`, `auralink_errors_total{kind}`, `auralink_dht_peers`,
 * `auralink_dht_operations_total{op,outcome}`, `auralink_directory_conflicts_total`,
 * `auralink_relay_adverts_total{result,reason}` and `auralink_known_relays`.
 */
export class RelayMetrics {
  readonly registry = new Registry()
  readonly directoryOperations: Counter<'op' | 'outcome'>
  readonly errors: Counter<'kind'>
  readonly limitHits: Counter<'limit'>
  readonly dhtOperations: Counter<'op' | 'outcome'>
  readonly directoryConflicts: Counter
  readonly adverts: Counter<'result' | 'reason'>

  constructor (sources: RelayMetricsSources) {
    collectDefaultMetrics({ register: this.registry })
    const registers = [this.registry]
    new Gauge({
      name: 'auralink_relay_reservations',
      help: 'Circuit relay v2 reservations held now',
      registers,
      collect () { this.set(sources.reservations()) }
    })
    new Gauge({
      name: 'auralink_relay_connections',
      help: 'Open libp2p connections',
      registers,
      collect () { this.set(sources.connections()) }
    })
    new Gauge({
      name: 'auralink_directory_names',
      help: 'AuraIDs held by this relay\'s directory',
      registers,
      async collect () { this.set(await sources.names()) }
    })
    new Gauge({
      name: 'auralink_relay_circuits',
      help: 'Relayed connections open now: kind="all", and kind="anonymous" (neither end holds a name here)',
      labelNames: ['kind'],
      registers,
      collect () {
        const c = sources.circuits?.() ?? { total: 0, anonymous: 0 }
        this.set({ kind: 'all' }, c.total)
        this.set({ kind: 'anonymous' }, c.anonymous)
      }
    })
    this.limitHits = new Counter({
      name: 'auralink_relay_limit_hits_total',
      help: 'Requests refused by an abuse limit, by limit',
      labelNames: ['limit'],
      registers
    })
    this.directoryOperations = new Counter({
      name: 'auralink_directory_operations_total',
      help: 'Directory requests by operation and outcome (ok or the error code)',
      labelNames: ['op', 'outcome'],
      registers
    })
    new Gauge({
      name: 'auralink_dht_peers',
      help: 'Relays in this relay\'s Kad-DHT routing table',
      registers,
      collect () { this.set(sources.dhtPeers?.() ?? 0) }
    })
    this.dhtOperations = new Counter({
      name: 'auralink_dht_operations_total',
      help: 'The directory\'s DHT operations: op="publish" (outcome ok, local, error) and op="lookup" (outcome ok, not_found, invalid, error)',
      labelNames: ['op', 'outcome'],
      registers
    })
    this.directoryConflicts = new Counter({
      name: 'auralink_directory_conflicts_total',
      help: 'Names released here because another key\'s record for them won in the relay network',
      registers
    })
    this.adverts = new Counter({
      name: 'auralink_relay_adverts_total',
      help: 'Relay adverts received on gossipsub: result="accept" (reason stored or table_full), "reject" (oversized, malformed, fields, signature, expired, signer: counted against the sender), "ignore" (stale, older, self, internal)',
      labelNames: ['result', 'reason'],
      registers
    })
    new Gauge({
      name: 'auralink_known_relays',
      help: 'Other relays known from their adverts now',
      registers,
      collect () { this.set(sources.knownRelays?.() ?? 0) }
    })
    this.errors = new Counter({
      name: 'auralink_errors_total',
      help: 'Faults by kind: directory_internal, http, relay',
      labelNames: ['kind'],
      registers
    })
  }

  /** Counts one directory request: `op` (register, resolve, ...) and its outcome (`ok` or an error code). */
  directoryOperation (op: string, outcome: string): void {
    this.directoryOperations.inc({ op, outcome })
  }

  /** Counts one request refused by an abuse limit. */
  limitHit (limit: RelayLimit): void {
    this.limitHits.inc({ limit })
  }

  /** Counts one DHT operation of the directory: `publish` or `lookup`, and its outcome. */
  dhtOperation (op: string, outcome: string): void {
    this.dhtOperations.inc({ op, outcome })
  }

  /** Counts one name released here because another key's record won in the relay network. */
  directoryConflict (): void {
    this.directoryConflicts.inc()
  }

  /** Counts one relay advert received: its verdict and why. */
  advert (result: string, reason: string): void {
    this.adverts.inc({ result, reason })
  }

  /** Counts one fault of the given kind. */
  error (kind: ErrorKind): void {
    this.errors.inc({ kind })
  }

  /** The metrics in Prometheus text format, as `GET /metrics` serves them. */
  async text (): Promise<string> {
    return this.registry.metrics()
  }
}
