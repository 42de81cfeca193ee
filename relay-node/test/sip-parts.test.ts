import { describe, expect, it } from 'vitest'
import { decodeG711, encodeG711, parseRtp, parseTelephoneEvent, writeRtp, writeTelephoneEvent } from '../src/sip/rtp.js'
import { endReasonOf, readAnswer, trunkOf } from '../src/sip/sip-gateway.js'
import { toneShare as toneShareOf } from '../../test-utils/baresip.js'
import type { SipTrunk } from '../src/sip/sip-gateway.js'

describe('RTP packets from hostile bytes', () => {
  const packet = { payloadType: 0, marker: true, seq: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payload: new Uint8Array([1, 2, 3, 4]) }

  it('a written packet reads back the same', () => {
    expect(parseRtp(writeRtp(packet))).toEqual(packet)
  })

  it('null for what is not a whole RTP packet: short, version not 2, CSRCs, extension or padding past the end', () => {
    const b = writeRtp(packet)
    expect(parseRtp(b.subarray(0, 11))).toBeNull()
    expect(parseRtp(Uint8Array.from([0x40, ...b.subarray(1)]))).toBeNull() // version 1
    expect(parseRtp(Uint8Array.from([0x8f, ...b.subarray(1)]))).toBeNull() // 15 CSRCs, none there
    expect(parseRtp(Uint8Array.from([0x90, ...b.subarray(1)]))).toBeNull() // an extension header cut short
    const ext = Uint8Array.from([0x90, ...b.subarray(1, 12), 0xbe, 0xde, 0x00, 0x09, 1, 2, 3, 4])
    expect(parseRtp(ext)).toBeNull() // says 9 words of extension, has 1
    const padded = Uint8Array.from([0xa0, ...b.subarray(1, 12), 1, 2, 3, 200])
    expect(parseRtp(padded)).toBeNull() // 200 bytes of padding in a 16-byte packet
    const zeroPad = Uint8Array.from([0xa0, ...b.subarray(1, 12), 1, 2, 3, 0])
    expect(parseRtp(zeroPad)).toBeNull()
  })

  it('CSRCs, an extension and padding are stepped over', () => {
    const b = Uint8Array.from([0xb1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, /* csrc */ 9, 9, 9, 9, /* ext */ 0xbe, 0xde, 0, 1, 7, 7, 7, 7, /* payload */ 5, 6, /* padding */ 0, 2])
    expect(parseRtp(b)?.payload).toEqual(Uint8Array.from([5, 6]))
  })

  it('telephone-events (RFC 4733): written and read back; shorter than 4 bytes is null', () => {
    const e = { event: 11, end: true, volume: 10, duration: 800 }
    expect(writeTelephoneEvent(e)).toEqual(Uint8Array.of(11, 0x8a, 0x03, 0x20))
    expect(parseTelephoneEvent(writeTelephoneEvent(e))).toEqual(e)
    expect(parseTelephoneEvent(Uint8Array.of(1, 2, 3))).toBeNull()
  })

  it('G.711 both laws: a tone through encode and decode keeps its shape (SNR over 30 dB)', () => {
    const pcm = Int16Array.from({ length: 160 }, (_, i) => Math.round(10000 * Math.sin(2 * Math.PI * 1000 * i / 8000)))
    for (const codec of ['PCMU', 'PCMA'] as const) {
      const back = decodeG711(codec, encodeG711(codec, pcm))
      let signal = 0
      let noise = 0
      for (let i = 0; i < pcm.length; i++) { signal += pcm[i]! ** 2; noise += (pcm[i]! - back[i]!) ** 2 }
      expect(10 * Math.log10(signal / noise)).toBeGreaterThan(30)
    }
  })
})

describe('SIP answers and targets', () => {
  it('readAnswer: address (the media-level c= over the session one), port, first G.711 codec, telephone-event', () => {
    const sdp = ['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 96 8 0 101', 'c=IN IP4 10.0.0.2', 'a=rtpmap:96 opus/48000/2', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', ''].join('\r\n')
    expect(readAnswer(sdp)).toEqual({ codec: 'PCMA', address: '10.0.0.2', port: 40000, dtmfPayloadType: 101 })
    expect(readAnswer(sdp.replace('96 8 0 101', '96'))).toBeUndefined()
    expect(readAnswer('v=0\r\nm=audio 0 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\n')).toBeUndefined()
    expect(readAnswer('nonsense')).toBeUndefined()
  })

  it('endReasonOf: busy, declined, not found, unreachable, else failed', () => {
    expect([486, 600, 603, 404, 604, 408, 480, 503, 500, 488, 415].map(endReasonOf)).toEqual(['busy', 'busy', 'declined', 'not-found', 'not-found', 'unreachable', 'unreachable', 'unreachable', 'unreachable', 'failed', 'failed'])
  })

  it('trunkOf: a sip: URI on a configured host and port (5060 when none is given); else a TypeError naming it', () => {
    const trunks: SipTrunk[] = [{ name: 'pbx', host: '192.0.2.10', port: 5060, transport: 'udp' }]
    expect(trunkOf('sip:alice@192.0.2.10', trunks).name).toBe('pbx')
    expect(trunkOf('sip:alice@192.0.2.10:5060', trunks).name).toBe('pbx')
    expect(() => trunkOf('sip:alice@192.0.2.10:5062', trunks)).toThrow('SIP target "sip:alice@192.0.2.10:5062": 192.0.2.10:5062 is none of this relay\'s trunks (192.0.2.10:5060)')
    expect(() => trunkOf('sip:192.0.2.10', trunks)).toThrow(/is not a sip:user@host\[:port\] URI/)
    expect(() => trunkOf(42 as unknown as string, trunks)).toThrow(/^SIP target 42 is not/)
  })
})

describe('Opus at 8 kHz and G.711: the bridge\'s codec path', () => {
  /** SNR in dB of `got` against `ref`, at the lag (0-400 samples) where they line up best. */
  function snrDb (ref: Int16Array, got: Int16Array): { db: number, lag: number } {
    let best = { db: -Infinity, lag: 0 }
    for (let lag = 0; lag <= 400; lag++) {
      let signal = 0
      let noise = 0
      // the middle of the signal: the codecs' start-up is left out
      for (let i = 1600; i < ref.length - 1600; i++) {
        const g = got[i + lag] ?? 0
        signal += ref[i]! ** 2
        noise += (ref[i]! - g) ** 2
      }
      const db = 10 * Math.log10(signal / noise)
      if (db > best.db) best = { db, lag }
    }
    return best
  }

  it('a 1 kHz tone through Opus (the WebRTC side), G.711 (the phone line) and Opus again keeps its shape; the SNR of each step is printed', async () => {
    const { Opus8k, FRAME_8K } = await import('../src/sip/opus8k.js')
    const tone = Int16Array.from({ length: 8000 * 2 }, (_, i) => Math.round(10000 * Math.sin(2 * Math.PI * 1000 * i / 8000)))
    const frames = (pcm: Int16Array): Int16Array[] => Array.from({ length: Math.floor(pcm.length / FRAME_8K) }, (_, k) => pcm.subarray(k * FRAME_8K, (k + 1) * FRAME_8K))
    const join = (parts: Int16Array[]): Int16Array => Int16Array.from(parts.flatMap((p) => [...p]))
    const browser = new Opus8k()
    const relay = new Opus8k()
    try {
      // the browser's Opus, decoded at the relay
      const atRelay = join(frames(tone).map((f) => relay.decode(browser.encode(f))))
      // onto the phone line and back (PCMU)
      const line = decodeG711('PCMU', encodeG711('PCMU', atRelay))
      // the phone's audio, encoded by the relay, decoded by the browser
      const atBrowser = join(frames(line).map((f) => browser.decode(relay.encode(f))))
      const steps = { opus: snrDb(tone, atRelay), opusG711: snrDb(tone, line), roundTrip: snrDb(tone, atBrowser) }
      // the tone against everything else in the signal (noise and distortion, whatever the phase): SINAD
      const sinad = (pcm: Int16Array): number => { const s = toneShareOf(pcm.slice(4000, 12000), 1000); return 10 * Math.log10(s / (1 - s)) }
      console.log(`1 kHz tone, waveform SNR: after Opus ${steps.opus.db.toFixed(1)} dB (lag ${steps.opus.lag}), then PCMU ${steps.opusG711.db.toFixed(1)} dB, then Opus again ${steps.roundTrip.db.toFixed(1)} dB (lag ${steps.roundTrip.lag}); SINAD ${sinad(atRelay).toFixed(1)}, ${sinad(line).toFixed(1)}, ${sinad(atBrowser).toFixed(1)} dB`)
      // a working path keeps a tone well clear of its noise; a broken one (wrong rate, wrong
      // sample format, lost frames) falls to about 0 dB or below
      expect(sinad(atBrowser)).toBeGreaterThan(20)
      expect(steps.roundTrip.db).toBeGreaterThan(10)
    } finally {
      browser.destroy()
      relay.destroy()
    }
  })

  it('many at once (the WebAssembly memory grows): the first made still encodes and decodes a tone; one destroyed refuses to work', async () => {
    const { Opus8k, FRAME_8K } = await import('../src/sip/opus8k.js')
    const first = new Opus8k()
    const more = Array.from({ length: 300 }, () => new Opus8k())
    try {
      const tone = Int16Array.from({ length: FRAME_8K * 50 }, (_, i) => Math.round(10000 * Math.sin(2 * Math.PI * 1000 * i / 8000)))
      const out: number[] = []
      for (let k = 0; k < 50; k++) {
        // every instance works in turn between the first's frames, as calls do on one relay
        const m = more[k % more.length]!
        m.decode(m.encode(tone.subarray(k * FRAME_8K, (k + 1) * FRAME_8K)))
        out.push(...first.decode(first.encode(tone.subarray(k * FRAME_8K, (k + 1) * FRAME_8K))))
      }
      const s = toneShareOf(Int16Array.from(out.slice(2000)), 1000)
      expect(10 * Math.log10(s / (1 - s))).toBeGreaterThan(20)
    } finally {
      first.destroy()
      for (const m of more) m.destroy()
    }
    expect(() => first.encode(new Int16Array(FRAME_8K))).toThrow('Opus8k: used after destroy()')
  })

  it('encode() takes 160 samples only; decode() of bytes that are not Opus throws', async () => {
    const { Opus8k } = await import('../src/sip/opus8k.js')
    const o = new Opus8k()
    try {
      expect(() => o.encode(new Int16Array(100))).toThrow('Opus8k.encode(): a frame is 160 samples (20 ms at 8 kHz), got 100')
      expect(() => o.decode(new Uint8Array([0xff, 0xff, 0xff]))).toThrow()
    } finally {
      o.destroy()
    }
  })
})
