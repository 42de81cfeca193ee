import { MAX_RELAY_ADVERT_BYTES, MAX_RELAY_LIST_ADVERTS, RELAY_LIST_PROTOCOL } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import type { RelayAdverts } from './adverts.js'
import type { ComponentLogger, Startable, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'

/** What the relay-list service takes from libp2p: the registrar, the logger and the adverts service. */
export interface RelayListComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  logger: ComponentLogger
  adverts: RelayAdverts
}

/**
 * Serves `/auralink/relays/1.0.0`: each stream gets this relay's last signed advert and then the
 * verified adverts of the relays it knows (at most 64 more, newest first), length-prefixed, and
 * is closed. Peers check every advert themselves (docs/PROTOCOL.md): what a relay serves is
 * only as good as its signatures.
 */
export function relayList (): (components: RelayListComponents) => Startable {
  return (components) => {
    const log = components.logger.forComponent('auralink:relay:list')
    const serve = async (stream: Stream): Promise<void> => {
      const signal = AbortSignal.timeout(10_000)
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_RELAY_ADVERT_BYTES })
        const own = components.adverts.advert
        const others = components.adverts.relays().sort((a, b) => b.issuedAt - a.issuedAt)
        const list = [...(own !== undefined ? [own] : []), ...others].slice(0, MAX_RELAY_LIST_ADVERTS)
        for (const advert of list) await lp.write(advert.bytes, { signal })
        await stream.close({ signal })
      } catch (err) {
        log('serving the relay list failed: %s', (err as Error).message)
        stream.abort(err as Error)
      }
    }
    return {
      async start () {
        await components.registrar.handle(RELAY_LIST_PROTOCOL, (stream) => { void serve(stream) }, { maxInboundStreams: 8, runOnLimitedConnection: true })
      },
      async stop () {
        await components.registrar.unhandle(RELAY_LIST_PROTOCOL)
      }
    }
  }
}
