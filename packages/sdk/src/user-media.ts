import { MediaAccessDeniedError, MediaUnsupportedError } from './errors.js'
import type { MediaRequest } from './call-machine.js'

/** navigator.mediaDevices.getUserMedia, where this runtime has it. */
export function defaultGetUserMedia (): ((c: MediaStreamConstraints) => Promise<MediaStream>) | undefined {
  const md = (globalThis as { navigator?: { mediaDevices?: MediaDevices } }).navigator?.mediaDevices
  return md?.getUserMedia != null ? md.getUserMedia.bind(md) : undefined
}

/**
 * The local stream a call with audio or video sends, from `getUserMedia` (the camera with `camera`'s
 * constraints when given); none for a data-only call.
 * MediaUnsupportedError without getUserMedia; MediaAccessDeniedError when the device is refused, absent or busy.
 */
export async function acquire (getUserMedia: ((c: MediaStreamConstraints) => Promise<MediaStream>) | undefined, media: MediaRequest, camera?: MediaTrackConstraints): Promise<MediaStream | undefined> {
  if (!media.audio && !media.video) return undefined
  if (getUserMedia === undefined) {
    throw new MediaUnsupportedError('audio/video asked for, but there is no getUserMedia here: pass media.stream, or make a data-only call ({ audio: false, video: false })')
  }
  try {
    return await getUserMedia({ audio: media.audio, video: media.video ? (camera ?? true) : false })
  } catch (err) {
    const name = (err as Error)?.name
    const what = [media.audio ? 'microphone' : '', media.video ? 'camera' : ''].filter(Boolean).join(' and ')
    if (name === 'NotAllowedError' || name === 'SecurityError') throw new MediaAccessDeniedError(`access to the ${what} was denied`, { cause: err })
    if (name === 'OverconstrainedError' && camera !== undefined) throw new MediaAccessDeniedError(`the camera cannot meet media.camera ${JSON.stringify(camera)} (its ${String((err as { constraint?: unknown }).constraint ?? 'constraints')})`, { cause: err })
    if (name === 'NotFoundError' || name === 'OverconstrainedError') throw new MediaAccessDeniedError(`no ${what} found`, { cause: err })
    if (name === 'NotReadableError') throw new MediaAccessDeniedError(`the ${what} is in use by another program or failed`, { cause: err })
    throw err
  }
}

/** `media.camera`, checked: undefined, or an object of getUserMedia video constraints. */
export function checkCamera (m: { camera?: unknown }, what: string): MediaTrackConstraints | undefined {
  const c = m.camera
  if (c === undefined) return undefined
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new TypeError(`${what}: media.camera must be an object of camera constraints like { width: 320, height: 240, frameRate: 15 }, got ${c === null ? 'null' : Array.isArray(c) ? 'an array' : JSON.stringify(c)}`)
  return c as MediaTrackConstraints
}
