import { generateIdentityKey } from '@auralink/identity'
import { describe, expect, it } from 'vitest'
import { relayRecordings } from '../src/recording-playback.js'

// client.recordings(httpUrl) before any request: its inputs. Against a real relay it is
// e2e/web-call.e2e.test.ts (the example lists and plays a recording).
describe('client.recordings(httpUrl)', () => {
  it('refuses what is not an http(s) URL, and url() an id that is not a recording id, naming them', async () => {
    const key = await generateIdentityKey()
    expect(() => relayRecordings('not a url', key)).toThrow('recordings(httpUrl): "not a url" is not a URL (the relay\'s HTTP port, e.g. http://127.0.0.1:4002)')
    expect(() => relayRecordings('ws://127.0.0.1:4001', key)).toThrow('recordings(httpUrl): ws: is not http: or https:')
    const at = relayRecordings('http://127.0.0.1:1', key)
    await expect(at.url('../../relay.key')).rejects.toThrow('url(id): id must be a recording id (32 lowercase hex characters), got "../../relay.key"')
  })

  it('a relay whose HTTP port cannot be reached: RecordingFailedError (unreachable) naming it', async () => {
    const key = await generateIdentityKey()
    // port 1 on loopback: nothing listens, the connection is refused at once
    const at = relayRecordings('http://127.0.0.1:1/', key)
    await expect(at.list()).rejects.toMatchObject({ name: 'RecordingFailedError', result: 'unreachable', message: expect.stringContaining('http://127.0.0.1:1') })
  })
})
