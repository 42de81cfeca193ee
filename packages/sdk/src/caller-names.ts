import { validateAuraId } from '@auralink/identity'
import {
  CALLER_LOOKUP_FAILURE_TTL_MS, CALLER_LOOKUP_TIMEOUT_MS, DEFAULT_MAX_CALLER_LOOKUPS, DEFAULT_UNRESOLVED_CALLER_CACHE_SIZE, DEFAULT_UNRESOLVED_CALLER_TTL_MS
} from './constants.js'
import { AuraIdNotFoundError, InvalidStateError } from './errors.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

// The AuraID an invite claims is believed only when its record names the key the connection
// authenticated. Each check is a directory lookup that this client pays for (its relays limit
// directory requests per peer), so a caller can make the callee spend its budget by naming names
// that are not registered. Here: a name that did not resolve is remembered (negative cache, LRU,
// ttlMs), one lookup per name runs at a time however many invites name it, and at most maxLookups
// names are looked up at once (an invite naming another name past that is refused).

/** How this client checks the AuraIDs that callers claim (AuraLinkInit `invites`). */
export interface InvitesInit {
  /** A caller's AuraID that is not registered is not looked up again for this long (the caller shows unnamed). @default 60000 */
  unresolvedTtlMs?: number
  /** Most such AuraIDs remembered; the least recently seen goes first. @default 1024 */
  unresolvedCacheSize?: number
  /** Callers' AuraIDs looked up at once; an invite naming yet another one is refused. @default 4 */
  maxLookups?: number
}

/** @internal checks and resolves `invites` of AuraLinkInit */
export function inviteLimits (invites: InvitesInit | undefined): CallerNamesInit {
  if (invites !== undefined && (invites === null || typeof invites !== 'object')) throw new TypeError(`AuraLink.create(init): init.invites must be an object, got ${invites === null ? 'null' : typeof invites}`)
  const count = (v: number | undefined, what: string, d: number, min: number): number => {
    if (v === undefined) return d
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new RangeError(`AuraLink.create(init): init.invites.${what} must be a whole number from ${min}, got ${String(v)}`)
    return v
  }
  return {
    ttlMs: count(invites?.unresolvedTtlMs, 'unresolvedTtlMs', DEFAULT_UNRESOLVED_CALLER_TTL_MS, 0),
    cacheSize: count(invites?.unresolvedCacheSize, 'unresolvedCacheSize', DEFAULT_UNRESOLVED_CALLER_CACHE_SIZE, 0),
    maxLookups: count(invites?.maxLookups, 'maxLookups', DEFAULT_MAX_CALLER_LOOKUPS, 1)
  }
}

/** @internal */
export interface CallerNamesInit {
  /** How long a name that is not registered is remembered. */
  ttlMs: number
  /** Most names remembered; the least recently seen goes first. */
  cacheSize: number
  /** Names looked up at once. */
  maxLookups: number
}

/** @internal */
export interface CallerNamesComponents {
  log: Logger
  /** The verified record of `name` (the mesh node's resolve, which caches the records it finds). */
  resolve(name: string, options: AbortOptions): Promise<{ name: string, peerId: PeerId }>
}

/** @internal checks the AuraIDs that callers claim */
export class CallerNames {
  private readonly unresolved = new Map<string, number>()
  private readonly lookups = new Map<string, Promise<{ name: string, peerId: PeerId } | undefined>>()

  constructor (private readonly init: CallerNamesInit, private readonly c: CallerNamesComponents) {}

  /** Names remembered as not resolving now. */
  get remembered (): number { return this.unresolved.size }

  /**
   * The name `claimed` when its record names `peer`; undefined when it does not (unnamed caller).
   * Throws InvalidStateError when maxLookups other names are being looked up: refuse the invite.
   */
  async verify (claimed: string, peer: PeerId, options: AbortOptions = {}): Promise<string | undefined> {
    if (claimed === '') return undefined
    let name: string
    try {
      name = validateAuraId(claimed)
    } catch (err) {
      this.c.log('caller %p claims %s, which is not an AuraID (%s): shown as unnamed', peer, JSON.stringify(claimed.slice(0, 80)), (err as Error).message)
      return undefined
    }
    const until = this.unresolved.get(name)
    if (until !== undefined) {
      this.unresolved.delete(name)
      if (until > Date.now()) {
        this.unresolved.set(name, until) // most recently seen last
        return undefined
      }
    }
    let lookup = this.lookups.get(name)
    if (lookup === undefined) {
      if (this.lookups.size >= this.init.maxLookups) {
        throw new InvalidStateError(`${this.lookups.size} callers' AuraIDs are being looked up already: the limit is ${this.init.maxLookups}`)
      }
      lookup = this.lookup(name, options)
      this.lookups.set(name, lookup)
      void lookup.then(() => { this.lookups.delete(name) })
    }
    const record = await lookup
    if (record === undefined) return undefined
    if (record.peerId.equals(peer)) return record.name
    this.c.log('caller %p claims %s, which belongs to %p: shown as unnamed', peer, name, record.peerId)
    return undefined
  }

  private async lookup (name: string, options: AbortOptions): Promise<{ name: string, peerId: PeerId } | undefined> {
    const signal = AbortSignal.any([AbortSignal.timeout(CALLER_LOOKUP_TIMEOUT_MS), ...(options.signal != null ? [options.signal] : [])])
    try {
      return await this.c.resolve(name, { signal })
    } catch (err) {
      const notFound = err instanceof AuraIdNotFoundError
      this.remember(name, notFound ? this.init.ttlMs : Math.min(this.init.ttlMs, CALLER_LOOKUP_FAILURE_TTL_MS))
      this.c.log('a caller claims %s, which does not resolve (%s): shown as unnamed', name, (err as Error).message)
      return undefined
    }
  }

  private remember (name: string, ttlMs: number): void {
    if (ttlMs <= 0 || this.init.cacheSize <= 0) return
    this.unresolved.delete(name)
    while (this.unresolved.size >= this.init.cacheSize) this.unresolved.delete(this.unresolved.keys().next().value as string)
    this.unresolved.set(name, Date.now() + ttlMs)
  }
}
