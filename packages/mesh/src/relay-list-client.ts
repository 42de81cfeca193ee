import { upstreamErrorKind } from '@auralink/core'
import { verifyRelayAdvert } from '@auralink/identity'
import { MAX_RELAY_ADVERT_BYTES, MAX_RELAY_LIST_ADVERTS, RELAY_LIST_PROTOCOL } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { DEFAULT_DIRECTORY_TIMEOUT_MS } from './constants.js'
import { ExpiredRelayAdvertError, InvalidRelayAdvertError, MessageTooLargeError } from './errors.js'
import type { RelayAdvert } from '@auralink/identity'
import type { AbortOptions, Libp2p, PeerId } from '@libp2p/interface'

/** What one relay told us of itself and of the relays it knows, each advert checked here. */
export interface RelayList {
  /** The relay's own advert, when it sent one first. */
  own?: RelayAdvert
  /** Other relays' adverts that verified. */
  others: RelayAdvert[]
  /** Adverts that did not verify (forged, malformed, out of bounds, oversized): the relay's fault. */
  invalid: Error[]
  /** Adverts that had just expired: nobody's fault (one may expire on the way). */
  expired: number
}

/**
 * Asks `relay` for its relay list (`/auralink/relays/1.0.0`): its own advert, then those of the
 * relays it knows, at most 65 of at most 4 KiB each, within 10 s. Each is verified here; an advert
 * that fails is counted in `invalid`, not trusted because the relay passed it on.
 */
export async function fetchRelayList (libp2p: Libp2p, relay: PeerId, options: AbortOptions = {}): Promise<RelayList> {
  const timeout = AbortSignal.timeout(DEFAULT_DIRECTORY_TIMEOUT_MS)
  const signal = options.signal != null ? AbortSignal.any([options.signal, timeout]) : timeout
  const stream = await libp2p.dialProtocol(relay, RELAY_LIST_PROTOCOL, { signal, runOnLimitedConnection: true })
  const out: RelayList = { others: [], invalid: [], expired: 0 }
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_RELAY_ADVERT_BYTES })
    for (let i = 0; i < MAX_RELAY_LIST_ADVERTS; i++) {
      let bytes: Uint8Array
      try {
        bytes = (await lp.read({ signal })).subarray()
      } catch (err) {
        // the relay closed the stream: the list is complete (a message cut short is dropped)
        if (upstreamErrorKind(err) === 'unexpected-eof' && !signal.aborted) break
        throw err
      }
      try {
        const advert = await verifyRelayAdvert(bytes, { signal })
        if (i === 0 && advert.peerId.equals(relay)) out.own = advert
        else if (!advert.peerId.equals(relay)) out.others.push(advert)
      } catch (err) {
        if (err instanceof ExpiredRelayAdvertError) out.expired++
        else if (err instanceof InvalidRelayAdvertError || err instanceof MessageTooLargeError) out.invalid.push(err)
        else throw err
      }
    }
    await stream.close({ signal }).catch(() => { stream.abort(new Error('close failed')) })
    return out
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
