import { ICE_RESTART_INTERVAL_MS, NETWORK_PROBE_INTERVAL_MS, NETWORK_PROBE_TIMEOUT_MS } from './constants.js'
import { networkKey } from './network-probe.js'
import type { MediaSession } from './media-session.js'
import type { Logger } from '@libp2p/interface'

/** What an IceRestarter needs of its call. */
export interface IceRestarterComponents {
  /** The call's media session, while it has one. */
  media(): MediaSession | undefined
  /** Whether an offer can reach the other side now (the call stream works). */
  canSignal(): boolean
  /** Whether the call has ended. */
  ended(): boolean
  log: Logger
  /** For log lines: the call's id (a glare may change it). */
  callId(): string
}

/**
 * @internal When the caller of a media call restarts ICE (packages/sdk/README.md "Reconnecting").
 * While media is down it looks at the device's network every NETWORK_PROBE_INTERVAL_MS (the host
 * candidates a throwaway peer connection gathers): a network with an interface that differs from
 * the one media last worked on, or from the last look, restarts ICE at once (so does
 * `restartNow()`, when the call stream resumed, if the network changed); besides, ICE restarts
 * every ICE_RESTART_INTERVAL_MS while the device has an interface (a path that went silent and
 * stays so, as after a NAT rebinding). Not sooner, and never while the device has no interface:
 * a restart replaces the old candidate pairs, which ICE brings back by itself (in about 0.1 s in
 * bench/reconnect) when the same path returns.
 */
export class IceRestarter {
  private readonly c: IceRestarterComponents
  private timer: ReturnType<typeof setInterval> | undefined
  private watching = false
  /**
   * The last network a look saw with an interface while media was down (starting from the one media
   * last worked on); undefined when not looking. A look that sees no interface leaves it as it was,
   * so that the same network coming back is not taken for a new one.
   */
  private network: string | undefined
  /** Whether the last look saw an interface (restarts wait while there is none). */
  private online = true
  /** The device's network when media last worked. */
  private networkWhenUp: string | undefined

  constructor (components: IceRestarterComponents) {
    this.c = components
  }

  /** Media went down, or the call stream came back while it is: restart where it may help, and keep at it until media is back. */
  restartNow (): void {
    const media = this.c.media()
    if (media === undefined || this.c.ended()) return
    this.timer ??= setInterval(() => {
      if (this.c.media()?.interrupted !== true || this.c.ended()) { this.stop(); return }
      if (this.c.canSignal() && this.online) void this.c.media()?.restartIce()
    }, ICE_RESTART_INTERVAL_MS)
    // at once only for a network that changed; the same one may well bring its old pairs back
    if (this.network !== undefined && this.network !== '' && this.network !== this.networkWhenUp && this.c.canSignal()) void media.restartIce()
    void this.watch()
  }

  /** Media works (again): remember the device's network it works on (one look). */
  noteNetwork (): void {
    this.stop()
    void networkKey(NETWORK_PROBE_TIMEOUT_MS).then((key) => { if (this.c.media()?.interrupted === false) this.networkWhenUp = key }, () => {})
  }

  /** Stops the interval restarts; a running look at the network ends once media is back or the call ended. */
  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private async watch (): Promise<void> {
    if (this.watching) return
    this.watching = true
    try {
      this.network = this.networkWhenUp
      while (this.c.media()?.interrupted === true && !this.c.ended()) {
        const now = await networkKey(NETWORK_PROBE_TIMEOUT_MS)
        this.online = now !== ''
        // a link that went down and came back with the same addresses is no change: its old
        // candidate pairs come back by themselves, and a restart would throw them away (Chromium
        // gathers no host candidate for an instant as a link returns: that look is skipped)
        if (this.online && now !== this.network && this.c.canSignal() && this.c.media()?.interrupted === true) {
          this.c.log('call %s: the network is %s (was %s); restarting ICE now', this.c.callId(), now, this.network === undefined ? 'not looked at' : this.network === '' ? 'no interface' : this.network)
          void this.c.media()?.restartIce()
        }
        if (this.online) this.network = now
        await new Promise((resolve) => setTimeout(resolve, NETWORK_PROBE_INTERVAL_MS))
      }
    } catch (err) {
      this.c.log('call %s: looking at the network failed: %s', this.c.callId(), (err as Error).message)
    } finally {
      this.watching = false
      this.network = undefined
      this.online = true
    }
  }
}
