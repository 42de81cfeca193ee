import { RELAY_ADVERT_TOPIC } from '@auralink/protocol'
import { gossipsub, StrictSign } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import type { GossipSub, GossipSubComponents, GossipsubOpts } from '@libp2p/gossipsub'

// The relays' gossipsub: the one topic relay adverts travel on (adverts.ts), and its peer scores.

/**
 * P4 weight of the advert topic: one invalid advert costs its sender 10 points, n of them
 * 10·n² (gossipsub squares the counter): 2 put it under the gossip threshold (-10), 3 under the
 * graylist threshold (-80), where every RPC it sends is dropped unread.
 */
export const DEFAULT_INVALID_ADVERT_WEIGHT = -10

/** The gossipsub settings a relay needs for adverts, to spread into `gossipsub({...})` or use through `relayGossipsub()`. */
export interface RelayGossipsubInit {
  /** @default RELAY_ADVERT_TOPIC */
  topic?: string
  /** P4 weight of an invalid advert (negative). @default DEFAULT_INVALID_ADVERT_WEIGHT (-10) */
  invalidAdvertWeight?: number
}

/**
 * gossipsub options for a relay mesh that carries adverts: messages signed by their author
 * (StrictSign), only the advert topic (`allowedTopics`), no floodsub fallback (it has no
 * scores), our own adverts flooded to every topic peer (fine at relay-mesh sizes), publishing
 * to no one allowed (a lone relay must not throw), and peer scores in which invalid adverts
 * weigh: P4 at `invalidAdvertWeight`, decaying slowly (half-life about 19 minutes), outweighing
 * all the credit valid adverts earn (P2, capped at 5); P1 and P3 are off, adverts are too sparse
 * for delivery-rate penalties. Thresholds are gossipsub's: gossip -10, publish -50, graylist -80.
 */
export function relayGossipsubOptions (init: RelayGossipsubInit = {}): Partial<GossipsubOpts> {
  const topic = init.topic ?? RELAY_ADVERT_TOPIC
  const weight = init.invalidAdvertWeight ?? DEFAULT_INVALID_ADVERT_WEIGHT
  if (typeof weight !== 'number' || !(weight < 0) || !Number.isFinite(weight)) throw new RangeError(`invalidAdvertWeight must be a negative number, got ${String(weight)}`)
  return {
    globalSignaturePolicy: StrictSign,
    allowedTopics: [topic],
    fallbackToFloodsub: false,
    floodPublish: true,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    emitSelf: false,
    scoreParams: {
      topicScoreCap: 5,
      topics: {
        [topic]: createTopicScoreParams({
          topicWeight: 1,
          timeInMeshWeight: 0,
          firstMessageDeliveriesWeight: 1,
          firstMessageDeliveriesCap: 5,
          firstMessageDeliveriesDecay: 0.999,
          meshMessageDeliveriesWeight: 0,
          meshFailurePenaltyWeight: 0,
          invalidMessageDeliveriesWeight: weight,
          invalidMessageDeliveriesDecay: 0.9994
        })
      }
    },
    scoreThresholds: { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -80, acceptPXThreshold: 10, opportunisticGraftThreshold: 3 }
  }
}

/** A gossipsub service for relays: `relayGossipsubOptions(init)`, with `overrides` on top. */
export function relayGossipsub (init: RelayGossipsubInit = {}, overrides: Partial<GossipsubOpts> = {}): (components: GossipSubComponents) => GossipSub {
  return gossipsub({ ...relayGossipsubOptions(init), ...overrides })
}
