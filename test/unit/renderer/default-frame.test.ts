// RunFollow's default frame: the next animation frame, or a 100 ms timer when none comes (a hidden tab).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defaultFrame } from '../../../src/renderer/lib/run-follow'

let frames: Array<() => void> = []
beforeEach(() => {
  vi.useFakeTimers()
  frames = []
  vi.stubGlobal('requestAnimationFrame', (cb: () => void) => frames.push(cb))
})
afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

describe('defaultFrame', () => {
  it('runs on the animation frame once, and leaves no timer behind', () => {
    const fn = vi.fn()
    defaultFrame(fn)
    expect(vi.getTimerCount()).toBe(1)
    frames.shift()!()
    expect(fn).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(200)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('runs after 100 ms when no frame comes (a hidden tab), once even if the frame comes later', () => {
    const fn = vi.fn()
    defaultFrame(fn)
    vi.advanceTimersByTime(99)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fn).toHaveBeenCalledTimes(1)
    frames.shift()!()
    expect(fn).toHaveBeenCalledTimes(1)
  })
})
