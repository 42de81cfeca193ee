import { AsyncLocalStorage } from 'node:async_hooks'
import { auraIdDhtPolicy, dhtNetwork, dhtRecordStore, kadGetValue } from '@auralink/signalling'
import { multiaddr } from '@multiformats/multiaddr'
import { DHT_PROTOCOL } from './constants.js'
import { overriding } from './override.js'
import type { AuraIdDhtPolicy, AuraIdNetwork, AuraIdDht, DhtLocalRecords, DhtPutRefusedEvent } from '@auralink/signalling'
import type { AbortOptions, ComponentLogger, PeerId, Stream, StreamHandler } from '@libp2p/interface'

export interface DhtGuardInit {
  /** The libp2p datastore, which kad-dht keeps its records in and the directory its names. */
  datastore: Parameters<typeof dhtRecordStore>[0]
  /** Bootstrap relays' multiaddrs: their peer ids are relays from the start. */
  bootstrap: string[]
  /** Names one key may have among this node's DHT records and held names (the directory's quota). */
  maxNamesPerKey: number
  /** PUTs accepted per sending relay per minute. */
  putRateLimit: number
  /** A name held here binds its key until validity + this (the directory's grace). @default the directory's default */
  gracePeriodMs?: number
  /** Called once per refused PUT. */
  onRefuse?(detail: DhtPutRefusedEvent): void
}

/** What the guard takes from the DHT service's components (see `relayServices`). */
export interface DhtGuardComponents {
  registrar: { handle(protocol: string, handler: StreamHandler, options?: object): Promise<void> }
  connectionManager: { openStream(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream> }
  logger: ComponentLogger
}

/** The relays this node knows from their signed adverts (`RelayAdverts`). */
export interface AdvertisedRelays {
  relay(peerId: PeerId): unknown
}

export interface DhtGuard {
  /** This node's kad-dht record store. */
  readonly records: DhtLocalRecords
  /**
   * kad-dht's validator for `/auraid/` keys: inside an inbound DHT stream (kad-dht's PUT_VALUE
   * handler) the write policy (`auraIdDhtPolicy`) for its remote peer; elsewhere verify only.
   */
  readonly validator: (key: Uint8Array, value: Uint8Array, options?: AbortOptions) => Promise<void>
  /** Takes the DHT service's components: returns them with the registrar wrapped, so each inbound DHT stream runs knowing its remote peer. */
  wrap<C extends DhtGuardComponents>(components: C): C
  /** Relays known from their adverts, read at each PUT. */
  useAdverts(adverts: AdvertisedRelays): void
  /** A relay: a peer with a current signed advert here, or a configured bootstrap relay. */
  isRelay(peer: PeerId): boolean
  /** The directory's network over `dht`: lookups ask the closest relays (GET_VALUE) and count this node's own record. */
  network(dht: AuraIdDht): AuraIdNetwork
}

/**
 * The relay's guard on its Kad-DHT (docs/dht.md, "Threat model"): wraps the registrar kad-dht
 * registers `/auralink/kad/1.0.0` with, so its stream handler runs inside an AsyncLocalStorage
 * holding the remote peer (as `relayGuard` does for hop streams), and gives kad-dht a validator
 * that applies the write policy to PUTs from that peer: writes only from relays, and only what
 * this relay's directory would accept.
 */
export function dhtGuard (init: DhtGuardInit): DhtGuard {
  return new Guard(init)
}

class Guard implements DhtGuard {
  readonly records: DhtLocalRecords
  private readonly init: DhtGuardInit
  private readonly remote = new AsyncLocalStorage<PeerId>()
  private readonly bootstrap: Set<string>
  private policy: AuraIdDhtPolicy | undefined
  private adverts: AdvertisedRelays | undefined
  private components: DhtGuardComponents | undefined

  constructor (init: DhtGuardInit) {
    this.init = init
    this.records = dhtRecordStore(init.datastore)
    this.bootstrap = new Set(init.bootstrap.map((a) => multiaddr(a).getComponents().findLast((c) => c.name === 'p2p')?.value).filter((id) => id !== undefined))
  }

  readonly validator = async (key: Uint8Array, value: Uint8Array, options?: AbortOptions): Promise<void> => {
    if (this.policy === undefined) throw new TypeError('the DHT guard has no components yet: pass the DHT service\'s components through wrap()')
    await this.policy.validator(key, value, options)
  }

  wrap<C extends DhtGuardComponents>(components: C): C {
    this.components = components
    this.policy = auraIdDhtPolicy({
      datastore: this.init.datastore,
      records: this.records,
      isRelay: (peer) => this.isRelay(peer),
      remotePeer: () => this.remote.getStore(),
      maxNamesPerKey: this.init.maxNamesPerKey,
      putsPerMinute: this.init.putRateLimit,
      ...(this.init.gracePeriodMs !== undefined ? { gracePeriodMs: this.init.gracePeriodMs } : {}),
      ...(this.init.onRefuse !== undefined ? { onRefuse: this.init.onRefuse } : {}),
      log: components.logger.forComponent('auralink:relay:dht-guard')
    })
    const registrar = components.registrar
    const handle = async (protocol: string, handler: StreamHandler, options?: object): Promise<void> => {
      if (protocol !== DHT_PROTOCOL) return registrar.handle(protocol, handler, options)
      return registrar.handle(protocol, async (stream, connection) => {
        await this.remote.run(connection.remotePeer, async () => handler(stream, connection))
      }, options)
    }
    const wrapped = overriding(registrar, { handle })
    return new Proxy(components, { get: (target, prop) => prop === 'registrar' ? wrapped : Reflect.get(target, prop) })
  }

  useAdverts (adverts: AdvertisedRelays): void {
    this.adverts = adverts
  }

  isRelay (peer: PeerId): boolean {
    return this.bootstrap.has(peer.toString()) || this.adverts?.relay(peer) !== undefined
  }

  network (dht: AuraIdDht): AuraIdNetwork {
    return dhtNetwork(dht, {
      getValue: kadGetValue(async (peer, protocol, options) => {
        if (this.components === undefined) throw new TypeError('the DHT guard has no components yet')
        return this.components.connectionManager.openStream(peer, protocol, options)
      }, DHT_PROTOCOL),
      records: this.records,
      counts: (peer) => this.isRelay(peer)
    })
  }
}
