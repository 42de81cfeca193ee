// The AuraID directory's public types: its options, components, events and service interface.
// `auraIdDirectory()` in directory.ts builds the service.
import type { AuraIdNetwork } from './dht.js'
import type { DirectoryConflictEvent, DirectoryNetworkEvent, RepublishResult } from './network-sync.js'
import type { AuraIdRecord } from '@auralink/identity'
import type { DirectoryRequestMessage, DirectoryResponseFields } from '@auralink/protocol'
import type { AbortOptions, ComponentLogger, PeerId, Startable, StreamHandler, StreamHandlerOptions, TypedEventTarget } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** Options of `auraIdDirectory()`: only `datastore` is required. */
export interface AuraIdDirectoryInit {
  /** Where names live. The host provides it: the relay node passes a LevelDB store. */
  datastore: Datastore
  /** A name stays bound to its key until its record's validity + this. @default 604_800_000 (7 days) */
  gracePeriodMs?: number
  /** Requests of any kind per remote PeerId per minute (token bucket); over it: RATE_LIMITED. @default 120 */
  maxRequestsPerMinute?: number
  /** Register, update and unregister requests per remote PeerId per minute. @default 20 */
  maxWritesPerMinute?: number
  /** Names one key may hold here; over it: QUOTA_EXCEEDED. @default 5 */
  maxNamesPerKey?: number
  /** Most search results, never above MAX_SEARCH_RESULTS (50). @default 20 */
  maxSearchResults?: number
  /** A stream that sends no complete request (or is not done) within this is aborted. @default 10_000 */
  requestTimeoutMs?: number
  /** Concurrent directory streams per connection. @default 64 */
  maxInboundStreams?: number
  /** The clock, for tests. @default Date.now */
  now?: () => number
  /**
   * The relay network beyond this directory (the relay node passes `dhtNetwork(kadDHT)`): public
   * and unlisted records are published there after each write and on every republish; a
   * RESOLVE for a name not held here is asked there; a REGISTER or UPDATE is refused with
   * NAME_TAKEN when most answering nodes hold another key's record (docs/dht.md). Private records never
   * leave this directory. @default none: names live in this directory only
   */
  network?: AuraIdNetwork
  /**
   * With `network`: how often held public and unlisted records are checked against the network
   * and published again (DHT nodes keep a record 48 h after it was sent); 0: never on a timer.
   * @default 3_600_000 (1 hour)
   */
  republishIntervalMs?: number
}

/** What the directory takes from libp2p: the small subset of its components it uses. */
export interface AuraIdDirectoryComponents {
  registrar: {
    /** Registers the directory's stream handler. */
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    /** Removes it when the directory stops. */
    unhandle(protocol: string, options?: AbortOptions): Promise<void>
  }
  logger: ComponentLogger
}

/** A directory request's operation, as the `operation` event names it. */
export type DirectoryOperation = 'register' | 'update' | 'resolve' | 'search' | 'unregister' | 'invalid'

/** The payload of the directory's `operation` event: one per handled request. */
export interface DirectoryOperationEvent {
  /** The request's op; 'invalid' for an unknown op or a request that could not be decoded. */
  op: DirectoryOperation
  /** 'ok', or the DirectoryError name without its prefix in lower case: 'name_taken', 'rate_limited', ... */
  outcome: string
  /** The remote peer that sent the request. */
  peer?: PeerId
  /** The name the request was about, once known (for REGISTER/UPDATE: once the record decoded). */
  name?: string
  /** Set when the request hit an abuse limit: which one. */
  limit?: DirectoryLimit
}

/**
 * The directory's abuse limits, as the operation event names them: `requests`
 * (`maxRequestsPerMinute`, RATE_LIMITED), `writes` (`maxWritesPerMinute`, RATE_LIMITED),
 * `names_per_key` (`maxNamesPerKey`, QUOTA_EXCEEDED).
 */
export type DirectoryLimit = 'requests' | 'writes' | 'names_per_key'

/** The events of an AuraID directory, by name. */
export interface AuraIdDirectoryEvents {
  /** One per handled request, for metrics. */
  operation: CustomEvent<DirectoryOperationEvent>
  /** With `network`: one per lookup and per publish, for metrics. */
  network: CustomEvent<DirectoryNetworkEvent>
  /** With `network`: a name held here lost to another key's record in the network and was released here. */
  conflict: CustomEvent<DirectoryConflictEvent>
}

/** The AuraID directory service (`auraIdDirectory()`): serves `/auralink/directory/1.0.0` and emits an event per operation. */
export interface AuraIdDirectory extends Startable, TypedEventTarget<AuraIdDirectoryEvents> {
  /**
   * Handles one decoded request as if it came from `from` (the stream handler calls this; tests
   * and the relay may too). Never throws: failures are responses with an error code.
   */
  handle(from: PeerId, request: DirectoryRequestMessage, options?: AbortOptions): Promise<DirectoryResponseFields>
  /**
   * The current valid record for a name (any visibility), or undefined.
   *
   * @throws InvalidAuraIdError when `name` is not a valid AuraID
   */
  get(name: string, options?: AbortOptions): Promise<AuraIdRecord | undefined>
  /** Number of names held (including ones whose record expired but that are not reclaimed yet). */
  size(options?: AbortOptions): Promise<number>
  /**
   * True when `peer` holds at least one name here whose record is still valid (any visibility)
   * and, with `minAgeMs`, that its key first registered here at least that long ago (updates keep
   * a name's age; unregistering or losing it ends it). A name stored by an older version without
   * its registration time counts from the first call that asks its age.
   *
   * @throws RangeError when `minAgeMs` is not a number >= 0
   */
  holdsName(peer: PeerId, options?: AbortOptions & { minAgeMs?: number }): Promise<boolean>
  /**
   * Runs one republish cycle now (the timer runs them every `republishIntervalMs`): each held
   * public or unlisted record with validity left is checked against the network, released here
   * if another key's record won there, else published again. Without `network`: all zeros.
   */
  republish(options?: AbortOptions): Promise<RepublishResult>
}

