/**
 * @internal What this device's network looks like to WebRTC now: the host candidates a throwaway
 * RTCPeerConnection gathers (one data channel, its offer set locally, no signalling, nothing
 * sent), as a key that changes when an interface comes or goes or an address changes. '' when
 * there are none (every link down). Addresses hidden behind mDNS names (random per connection)
 * count without their names. Resolves within `timeoutMs` with what was gathered by then.
 */
export async function networkKey (timeoutMs: number): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: [] })
  const seen: string[] = []
  try {
    pc.createDataChannel('probe')
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      pc.onicecandidate = ({ candidate }) => {
        if (candidate === null) { clearTimeout(timer); resolve(); return }
        const address = candidate.address ?? ''
        if (candidate.type === 'host') seen.push(address.endsWith('.local') ? 'mdns' : address)
      }
    })
    await pc.setLocalDescription()
    await done
  } finally {
    pc.onicecandidate = null
    pc.close()
  }
  return seen.sort().join(',')
}
