// What a page's WebRTC connections actually use: the candidate pair ICE selected, read from
// getStats() of every RTCPeerConnection the page made. It tells a direct path (host or
// peer-reflexive candidates on the namespace's addresses) from a TURN-relayed one, whatever the
// library above says. Call trackPeerConnections(page) before page.goto().
import type { Page } from 'playwright-core'

export interface CandidateInfo {
  /** '' where the browser does not say (a peer-reflexive remote candidate in Chromium) */
  address: string
  port: number
  protocol: string
  /** 'host' | 'srflx' | 'prflx' | 'relay' */
  candidateType: string
}

export interface SelectedPair {
  connectionState: string
  local: CandidateInfo
  remote: CandidateInfo
}

/**
 * Makes the page record every RTCPeerConnection it creates (the constructor is wrapped before
 * any of the page's scripts runs, so libraries that keep a reference to it get the wrapper).
 */
export async function trackPeerConnections (page: Page): Promise<void> {
  await page.addInitScript(() => {
    const Native = globalThis.RTCPeerConnection
    const made = new Set<RTCPeerConnection>()
    class TrackedRTCPeerConnection extends Native {
      constructor (configuration?: RTCConfiguration) {
        super(configuration)
        made.add(this)
      }
    }
    Object.defineProperty(globalThis, '__auralinkPeerConnections', { value: made })
    globalThis.RTCPeerConnection = TrackedRTCPeerConnection
  })
}

/** The selected candidate pair of each connected RTCPeerConnection of the page (trackPeerConnections first). */
export async function selectedCandidatePairs (page: Page): Promise<SelectedPair[]> {
  return page.evaluate(async () => {
    const made = (globalThis as unknown as { __auralinkPeerConnections?: Set<RTCPeerConnection> }).__auralinkPeerConnections
    if (made === undefined) throw new Error('trackPeerConnections(page) was not called before the page loaded')
    const pairs: SelectedPair[] = []
    for (const pc of made) {
      if (pc.connectionState !== 'connected') continue
      const stats = await pc.getStats()
      const byId = new Map<string, Record<string, unknown>>()
      stats.forEach((s: Record<string, unknown>) => { byId.set(s.id as string, s) })
      const transport = [...byId.values()].find((s) => s.type === 'transport' && s.selectedCandidatePairId != null)
      const pair = transport !== undefined
        ? byId.get(transport.selectedCandidatePairId as string)
        : [...byId.values()].find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded')
      if (pair === undefined) continue
      const candidate = (id: unknown): CandidateInfo => {
        const c = byId.get(id as string) ?? {}
        // Chromium leaves out the address of a peer-reflexive remote candidate: '' then
        return { address: String(c.address ?? ''), port: Number(c.port ?? 0), protocol: String(c.protocol ?? ''), candidateType: String(c.candidateType ?? '') }
      }
      pairs.push({ connectionState: pc.connectionState, local: candidate(pair.localCandidateId), remote: candidate(pair.remoteCandidateId) })
    }
    return pairs
  })
}
