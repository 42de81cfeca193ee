import { describe, expect, it } from 'vitest'
import { MediaAccessDeniedError } from '../src/errors.js'
import { acquire, checkCamera } from '../src/user-media.js'
import { checkMedia } from '../src/client-init.js'

// getUserMedia is the browser's: here a stand-in records what it was asked and answers with an
// empty stream or the error a browser gives. The real camera with `camera` constraints is
// exercised in e2e/web-call.e2e.test.ts (six pages at 160x120: the tiles' videos are that size).
function recorder (fail?: { name: string, constraint?: string }): { asked: MediaStreamConstraints[], gum: (c: MediaStreamConstraints) => Promise<MediaStream> } {
  const asked: MediaStreamConstraints[] = []
  return {
    asked,
    gum: async (c) => {
      asked.push(c)
      if (fail !== undefined) throw Object.assign(new Error('device says no'), fail)
      return {} as unknown as MediaStream
    }
  }
}

describe('acquire(): what getUserMedia is asked for', () => {
  it('video: the camera constraints when given, else true; no video: false whatever camera says', async () => {
    const r = recorder()
    await acquire(r.gum, { audio: true, video: true, data: true }, { width: 160, height: 120, frameRate: 10 })
    await acquire(r.gum, { audio: true, video: true, data: true })
    await acquire(r.gum, { audio: true, video: false, data: true }, { width: 160 })
    expect(r.asked).toEqual([
      { audio: true, video: { width: 160, height: 120, frameRate: 10 } },
      { audio: true, video: true },
      { audio: true, video: false }
    ])
  })

  it('a camera that cannot meet the constraints: MediaAccessDeniedError naming them and the constraint', async () => {
    const r = recorder({ name: 'OverconstrainedError', constraint: 'width' })
    const err = await acquire(r.gum, { audio: false, video: true, data: true }, { width: { exact: 9999 } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MediaAccessDeniedError)
    expect((err as Error).message).toBe('the camera cannot meet media.camera {"width":{"exact":9999}} (its width)')
  })
})

describe('checkCamera()', () => {
  it('takes an object or nothing; anything else is a TypeError naming the call and the value', () => {
    expect(checkCamera({}, 'call')).toBeUndefined()
    expect(checkCamera({ camera: { width: 320 } }, 'call')).toEqual({ width: 320 })
    expect(() => checkCamera({ camera: '320x240' }, 'call')).toThrow(new TypeError('call: media.camera must be an object of camera constraints like { width: 320, height: 240, frameRate: 15 }, got "320x240"'))
    expect(() => checkCamera({ camera: null }, 'accept(media)')).toThrow(/^accept\(media\): media.camera must be .* got null$/)
    expect(() => checkCamera({ camera: [320, 240] }, 'call')).toThrow(/got an array$/)
    expect(() => checkMedia({ audio: true, video: true, camera: 5 } as never, 'call')).toThrow(/^call: media.camera must be .* got 5$/)
  })
})
