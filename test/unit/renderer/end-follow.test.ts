// EndFollow's rules on a fake scroll region (the browser's scrolling and ResizeObserver timing are what
// the e2e tests of the tools, files and conversation tails run against).
import { beforeEach, describe, expect, it } from 'vitest'
import { EndFollow } from '../../../src/renderer/lib/end-follow'

class FakeRegion {
  scrollHeight = 1000
  clientHeight = 100
  style = { overflowAnchor: '' }
  private top = 0
  private listeners: Array<() => void> = []
  get scrollTop(): number {
    return this.top
  }
  set scrollTop(v: number) {
    this.top = Math.max(0, Math.min(v, this.scrollHeight - this.clientHeight))
  }
  addEventListener(_: string, fn: () => void): void {
    this.listeners.push(fn)
  }
  removeEventListener(): void {
    this.listeners = []
  }
  /** The scroll event the browser dispatches with the next frame. */
  dispatchScroll(): void {
    for (const fn of this.listeners) fn()
  }
  /** Content grows or shrinks: the browser clamps the scroll position to the new end. */
  resize(height: number): void {
    this.scrollHeight = height
    this.scrollTop = this.top
  }
}

let observers: Array<() => void> = []
const resized = () => observers.forEach((fn) => fn())
class FakeObserver {
  constructor(fn: () => void) {
    observers.push(fn)
  }
  observe(): void {}
  disconnect(): void {}
}
beforeEach(() => {
  observers = []
})

function follow(): { region: FakeRegion; tail: EndFollow } {
  const region = new FakeRegion()
  const tail = new EndFollow()
  tail.watch(region)
  tail.keep(region, [], FakeObserver)
  return { region, tail }
}

describe('EndFollow', () => {
  it('starts at the end and stays there as the content grows', () => {
    const { region } = follow()
    resized()
    expect(region.scrollTop).toBe(900)
    region.resize(1200)
    resized()
    expect(region.scrollTop).toBe(1100)
  })

  it('stays put once scrolled up, and follows again back at the end', () => {
    const { region, tail } = follow()
    resized()
    region.scrollTop = 300
    region.dispatchScroll()
    expect(tail.atEnd).toBe(false)
    region.resize(1200)
    resized()
    expect(region.scrollTop).toBe(300)
    region.scrollTop = 1100
    region.dispatchScroll()
    region.resize(1300)
    resized()
    expect(region.scrollTop).toBe(1200)
  })

  it('does not pull back a user who scrolled up in the frame the content grew (scroll event not yet come)', () => {
    const { region, tail } = follow()
    resized()
    expect(region.scrollTop).toBe(900)
    region.scrollTop = 0
    region.resize(1200)
    resized()
    expect(region.scrollTop).toBe(0)
    expect(tail.atEnd).toBe(false)
    region.dispatchScroll()
    expect(tail.atEnd).toBe(false)
  })

  it('keeps following when the content shrinks (the position is clamped to the new end)', () => {
    const { region, tail } = follow()
    resized()
    region.resize(600)
    resized()
    expect(tail.atEnd).toBe(true)
    region.resize(800)
    resized()
    expect(region.scrollTop).toBe(700)
  })

  it("turns the browser's scroll anchoring off while following at the end, on once scrolled up, back when it stops following", () => {
    const region = new FakeRegion()
    const tail = new EndFollow()
    tail.watch(region)
    expect(region.style.overflowAnchor).toBe('')
    const stop = tail.keep(region, [], FakeObserver)
    expect(region.style.overflowAnchor).toBe('none')
    region.scrollTop = 100
    region.dispatchScroll()
    expect(region.style.overflowAnchor).toBe('')
    region.scrollTop = 900
    region.dispatchScroll()
    expect(region.style.overflowAnchor).toBe('none')
    stop()
    expect(region.style.overflowAnchor).toBe('')
  })

  it('keeps following when the region gets shorter', () => {
    const { region } = follow()
    resized()
    region.clientHeight = 50
    resized()
    expect(region.scrollTop).toBe(950)
  })
})
