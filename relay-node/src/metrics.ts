import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'

export interface RelayMetricsSources {
  reservations(): number
  connections(): number
  names(): Promise<number>
}

/** The relay's Prometheus metrics, in a registry of its own. */
export class RelayMetrics {
  readonly registry = new Registry()
  readonly directoryOperations: Counter<'op' | 'outcome'>
  readonly errors: Counter<'kind'>

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
    this.directoryOperations = new Counter({
      name: 'auralink_directory_operations_total',
      help: 'Directory requests by operation and outcome (ok or the error code)',
      labelNames: ['op', 'outcome'],
      registers
    })
    this.errors = new Counter({
      name: 'auralink_errors_total',
      help: 'Faults by kind: directory_internal, http, relay',
      labelNames: ['kind'],
      registers
    })
  }
}
