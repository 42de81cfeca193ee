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
  /** True while the relay is degraded (its datastore failed: /healthz says why). */
  degraded?(): boolean
  /** Participants' uploads being recorded now (0 when recording is off). */
  recordings?(): number
  /** Calls streamed out over RTMP now (0 when none may be). */
  streams?(): number
  /** SIP calls now, with the requests being checked (0 when SIP is off). */
  sipCalls?(): number
}

/** Where a connection or socket was refused or closed early: libp2p's upgrader and gater, the WebSocket port's sockets, the HTTP port's sockets. */
export type ConnectionListener = 'libp2p' | 'websocket' | 'http'

/**
 * Why, in `auralink_relay_connections_refused_total{listener,reason}`: for `libp2p`,
 * `max_connections`, `max_pending`, `inbound_rate` (libp2p's connection manager),
 * `connections_per_address`, `pending_per_address`, `connections_per_peer` (connection-guard.ts),
 * `handshake_timeout`; for `websocket` and `http`, `max_sockets`, `sockets_per_address`,
 * `headers_timeout` (and `request_timeout` on the HTTP port).
 */
export type ConnectionRefusal = 'max_connections' | 'max_pending' | 'inbound_rate' | 'connections_per_address' | 'pending_per_address' |
'connections_per_peer' | 'handshake_timeout' | 'max_sockets' | 'sockets_per_address' | 'headers_timeout' | 'request_timeout'

/** Kinds of fault counted in `auralink_errors_total{kind}`. */
export type ErrorKind = 'directory_internal' | 'http' | 'relay' | 'datastore' | 'metrics_source' | (string & {})

/**
 * The relay's Prometheus metrics, in a registry of its own (so embedding the relay never
 * touches prom-client's global registry): Node's process metrics, plus
 * `auralink_relay_reservations`, `auralink_relay_connections`, `auralink_directory_names`,
 * `auralink_relay_circuits{kind}`, `auralink_directory_operations_total{op,outcome}`,
 * `auralink_relay_limit_hits_total{limit}`, `auralink_relay_reservations_dropped_total{reason}`,
 * `auralink_relay_connections_refused_total{listener,reason}`,
 * `auralink_errors_total{kind}`, `auralink_dht_peers`,
 * `auralink_dht_operations_total{op,outcome}`, `auralink_directory_conflicts_total`,
 * `auralink_dht_put_refused_total{reason}`,
 * `auralink_relay_adverts_total{result,reason}`, `auralink_known_relays`, `auralink_relay_degraded`,
 * and with `--recording`: `auralink_recordings_active`, `auralink_recordings_requests_total{result}`,
 * `auralink_recordings_stopped_total{reason}`, `auralink_recordings_bytes_total`,
 * `auralink_recordings_finished_total{status}`, `auralink_recordings_expired_total`,
 * `auralink_recordings_served_total{result}`; with `--stream-host`: `auralink_streams_active`,
 * `auralink_streams_states_total{state}`, `auralink_streams_reconnects_total`; with `--sip-listen`:
 * `auralink_sip_calls_active`, `auralink_sip_requests_total{result}`,
 * `auralink_sip_calls_ended_total{reason}`, `auralink_sip_inbound_total{result}`, `auralink_sip_refused_total{reason}`.
 * A gauge whose source fails is left out of that scrape and counted
 * (`auralink_errors_total{kind="metrics_source"}`): /metrics still answers 200.
 */
export class RelayMetrics {
  readonly registry = new Registry()
  readonly directoryOperations: Counter<'op' | 'outcome'>
  readonly errors: Counter<'kind'>
  readonly connectionsRefused: Counter<'listener' | 'reason'>
  readonly limitHits: Counter<'limit'>
  readonly reservationsDropped: Counter<'reason'>
  readonly dhtOperations: Counter<'op' | 'outcome'>
  readonly directoryConflicts: Counter
  readonly dhtPutsRefused: Counter<'reason'>
  readonly adverts: Counter<'result' | 'reason'>
  readonly recordingRequests: Counter<'result'>
  readonly recordingsStopped: Counter<'reason'>
  readonly recordingBytes: Counter
  readonly recordingsFinished: Counter<'status'>
  readonly recordingsExpired: Counter
  readonly recordingsServed: Counter<'result'>
  readonly streamStates: Counter<'state'>
  readonly streamReconnects: Counter
  readonly sipRequests: Counter<'result'>
  readonly sipCallsEnded: Counter<'reason'>
  readonly sipRefused: Counter<'reason'>
  readonly sipInbound: Counter<'result'>

  constructor (sources: RelayMetricsSources) {
    collectDefaultMetrics({ register: this.registry })
    const registers = [this.registry]
    // a source that throws (a damaged datastore under `names`) leaves its gauge out of this
    // scrape and is counted; the other metrics are still served
    const skipping = <T extends string>(read: (gauge: Gauge<T>) => void | Promise<void>) => {
      const skipped = (): void => { this.errors.inc({ kind: 'metrics_source' }) }
      return async function (this: Gauge<T>): Promise<void> {
        try {
          await read(this)
        } catch {
          this.reset()
          skipped()
        }
      }
    }
    new Gauge({
      name: 'auralink_relay_reservations',
      help: 'Circuit relay v2 reservations held now',
      registers,
      collect: skipping((g) => { g.set(sources.reservations()) })
    })
    new Gauge({
      name: 'auralink_relay_connections',
      help: 'Open libp2p connections',
      registers,
      collect: skipping((g) => { g.set(sources.connections()) })
    })
    new Gauge({
      name: 'auralink_directory_names',
      help: 'AuraIDs held by this relay\'s directory',
      registers,
      collect: skipping(async (g) => { g.set(await sources.names()) })
    })
    new Gauge({
      name: 'auralink_relay_circuits',
      help: 'Relayed connections open now: kind="all", and kind="anonymous" (neither end holds a name here)',
      labelNames: ['kind'],
      registers,
      collect: skipping((g) => {
        const c = sources.circuits?.() ?? { total: 0, anonymous: 0 }
        g.set({ kind: 'all' }, c.total)
        g.set({ kind: 'anonymous' }, c.anonymous)
      })
    })
    this.limitHits = new Counter({
      name: 'auralink_relay_limit_hits_total',
      help: 'Requests refused by an abuse limit, by limit',
      labelNames: ['limit'],
      registers
    })
    this.reservationsDropped = new Counter({
      name: 'auralink_relay_reservations_dropped_total',
      help: 'Reservations the relay dropped before their TTL, by reason: disconnected (no connection left past --reservation-grace-ms)',
      labelNames: ['reason'],
      registers
    })
    this.reservationsDropped.inc({ reason: 'disconnected' }, 0)
    this.connectionsRefused = new Counter({
      name: 'auralink_relay_connections_refused_total',
      help: 'Connections and sockets refused or closed before they were of use, by listener (libp2p, websocket, http) and reason',
      labelNames: ['listener', 'reason'],
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
      collect: skipping((g) => { g.set(sources.dhtPeers?.() ?? 0) })
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
    this.dhtPutsRefused = new Counter({
      name: 'auralink_dht_put_refused_total',
      help: 'DHT PUTs of AuraID records this relay\'s DHT node refused, by reason: not_relay, rate, invalid, withdrawn, taken, look_alike, stale, quota (docs/dht.md)',
      labelNames: ['reason'],
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
      collect: skipping((g) => { g.set(sources.knownRelays?.() ?? 0) })
    })
    new Gauge({
      name: 'auralink_relay_degraded',
      help: '1 while the relay is degraded (its datastore failed a read or write; /healthz says why), else 0',
      registers,
      collect: skipping((g) => { g.set(sources.degraded?.() === true ? 1 : 0) })
    })
    new Gauge({
      name: 'auralink_recordings_active',
      help: 'Participants\' uploads being recorded now (--recording)',
      registers,
      collect: skipping((g) => { g.set(sources.recordings?.() ?? 0) })
    })
    this.recordingRequests = new Counter({
      name: 'auralink_recordings_requests_total',
      help: 'Recording requests by result: ok, bad_request, no_consent (the consents are not a full set for this relay and requester), limit (uploads at once, per peer, the disk floor), failed (the media endpoint could not answer)',
      labelNames: ['result'],
      registers
    })
    this.recordingsStopped = new Counter({
      name: 'auralink_recordings_stopped_total',
      help: 'Uploads whose recording ended, by reason: participant, lapsed (the agreed end), bytes (--max-recording-bytes), disk (--recordings-min-free-bytes), relay_stopping, failed, protocol',
      labelNames: ['reason'],
      registers
    })
    this.recordingBytes = new Counter({
      name: 'auralink_recordings_bytes_total',
      help: 'Bytes of media written by ended uploads',
      registers
    })
    this.recordingsFinished = new Counter({
      name: 'auralink_recordings_finished_total',
      help: 'Recordings finished, by status: complete (one WebM of every part, beside its sidecar), failed (no file could be made; the parts are kept)',
      labelNames: ['status'],
      registers
    })
    this.recordingsExpired = new Counter({
      name: 'auralink_recordings_expired_total',
      help: 'Recordings deleted because they ended more than --recordings-retention-days ago',
      registers
    })
    this.recordingsServed = new Counter({
      name: 'auralink_recordings_served_total',
      help: 'Playback requests on the HTTP port, by result: list, file, unauthorized, forbidden, not_found, conflict, bad_request',
      labelNames: ['result'],
      registers
    })
    new Gauge({
      name: 'auralink_streams_active',
      help: 'Calls streamed out over RTMP now (--stream-host)',
      registers,
      collect: skipping((g) => { g.set(sources.streams?.() ?? 0) })
    })
    this.streamStates = new Counter({
      name: 'auralink_streams_states_total',
      help: 'Streams out entering a state: connecting (started), live (the RTMP server takes it), reconnecting (the server dropped it), ended (stopped, or failed: the server never took it or stayed away)',
      labelNames: ['state'],
      registers
    })
    this.streamReconnects = new Counter({
      name: 'auralink_streams_reconnects_total',
      help: 'New connections to an RTMP server after it dropped a stream (each try counts)',
      registers
    })
    new Gauge({
      name: 'auralink_sip_calls_active',
      help: 'SIP calls placed for clients now, with the requests being checked (--sip-listen)',
      registers,
      collect: skipping((g) => { g.set(sources.sipCalls?.() ?? 0) })
    })
    this.sipRequests = new Counter({
      name: 'auralink_sip_requests_total',
      help: 'Clients\' SIP call requests by result: placed, bad_request, no_name (the client holds no name here), not_trunk (the target is on none of the trunks), limit (--max-sip-calls, --max-sip-calls-per-peer), rate (--sip-call-rate-limit), failed',
      labelNames: ['result'],
      registers
    })
    this.sipCallsEnded = new Counter({
      name: 'auralink_sip_calls_ended_total',
      help: 'Placed SIP calls that ended, by reason: hangup (the client), remote-hangup, busy, declined, not-found, unreachable, failed',
      labelNames: ['reason'],
      registers
    })
    this.sipInbound = new Counter({
      name: 'auralink_sip_inbound_total',
      help: 'INVITEs from trunks for new calls, by result: rung (the name\'s holder is connected and takes phone calls), not_found (404: no such name, its holder away or taking no phone calls), limit (486), rate (503: --sip-call-rate-limit), failed',
      labelNames: ['result'],
      registers
    })
    this.sipRefused = new Counter({
      name: 'auralink_sip_refused_total',
      help: 'SIP datagrams and requests from the network refused, by reason: not_trunk (from an address that is no trunk: dropped unread, unanswered), too_large (over 8 KiB: dropped unread), inbound_invite (answered 403), no_dialog (answered 481)',
      labelNames: ['reason'],
      registers
    })
    this.errors = new Counter({
      name: 'auralink_errors_total',
      help: 'Faults by kind: directory_internal, http, relay, datastore (a LevelDB corruption or I/O error), metrics_source (a gauge left out of a scrape because its source failed)',
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

  /** Counts one reservation dropped before its TTL, and why (`disconnected`). */
  reservationDropped (reason: string): void {
    this.reservationsDropped.inc({ reason })
  }

  /** Counts one connection or socket refused (or closed unfinished) by a connection limit. */
  connectionRefused (listener: ConnectionListener, reason: ConnectionRefusal): void {
    this.connectionsRefused.inc({ listener, reason })
  }

  /** Counts one DHT operation of the directory: `publish` or `lookup`, and its outcome. */
  dhtOperation (op: string, outcome: string): void {
    this.dhtOperations.inc({ op, outcome })
  }

  /** Counts one name released here because another key's record won in the relay network. */
  directoryConflict (): void {
    this.directoryConflicts.inc()
  }

  /** Counts one DHT PUT refused by the write policy, and why. */
  dhtPutRefused (reason: string): void {
    this.dhtPutsRefused.inc({ reason })
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
