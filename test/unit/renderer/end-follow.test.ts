// EndFollow's rules on a fake scroll region (the browser's scrolling and ResizeObserver timing are what
// the e2e tests of the tools, files and conversation tails run against).
import { beforeEach, describe, expect, it } from 'vitest'
import { EndFollow } from '../../../src/renderer/lib/end-follow'

class FakeRegion {
  scrollHeight = 1000
  clientHeight = 100
  style = { overflowAnchor: '' }
  private top = 0
  private listeners = new Map<string, Array<() => void>>()
  get scrollTop(): number {
    return this.top
  }
  set scrollTop(v: number) {
    this.top = Math.max(0, Math.min(v, this.scrollHeight - this.clientHeight))
  }
  addEventListener(type: string, fn: () => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn])
  }
  removeEventListener(type: string): void {
    this.listeners.delete(type)
  }
  private fire(type: string): void {
    for (const fn of this.listeners.get(type) ?? []) fn()
  }
  /** The scroll event the browser dispatches with the next frame. */
  dispatchScroll(): void {
    this.fire('scroll')
  }
  /** The user scrolls with the wheel: input, then the scroll and its event. */
  wheelTo(top: number): void {
    this.fire('wheel')
    this.scrollTop = top
    this.fire('scroll')
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
let clock = 0
beforeEach(() => {
  observers = []
  clock = 10_000
})

function follow(): { region: FakeRegion; tail: EndFollow } {
  const region = new FakeRegion()
  const tail = new EndFollow()
  tail.watch(region, () => clock)
  tail.keep(region, [], FakeObserver)
  resized()
  return { region, tail }
}

describe('EndFollow', () => {
  it('starts at the end and stays there as the content grows', () => {
    const { region } = follow()
    expect(region.scrollTop).toBe(900)
    region.resize(1200)
    resized()
    expect(region.scrollTop).toBe(1100)
  })

  it('stays put once the user scrolled up, and follows again when they scroll back to the end', () => {
    const { region, tail } = follow()
    region.wheelTo(300)
    expect(tail.atEnd).toBe(false)
    region.resize(1200)
    resized()
    region.dispatchScroll()
    expect(region.scrollTop).toBe(300)
    clock += 5000
    region.wheelTo(1100)
    expect(tail.atEnd).toBe(true)
    region.resize(1300)
    resized()
    expect(region.scrollTop).toBe(1200)
  })

  it('is not thrown off when blocks dropped above move the position with no input from the user', () => {
    const { region, tail } = follow()
    // Dropped above, the content shrank (the position clamped) and grew back in one frame: same height,
    // no resize to see, and a scroll event away from the end.
    region.resize(600)
    region.resize(1000)
    expect(region.scrollTop).toBe(500)
    region.dispatchScroll()
    expect(tail.atEnd).toBe(true)
    expect(region.scrollTop).toBe(900)
  })

  it("keeps following when its own scroll to the end is reported after the content grew again", () => {
    const { region, tail } = follow()
    region.resize(1200)
    resized()
    expect(region.scrollTop).toBe(1100)
    region.resize(1500)
    region.dispatchScroll()
    expect(tail.atEnd).toBe(true)
    resized()
    expect(region.scrollTop).toBe(1400)
  })

  it('keeps following when the content shrinks, and when the region gets shorter', () => {
    const { region, tail } = follow()
    region.resize(600)
    resized()
    region.dispatchScroll()
    expect(tail.atEnd).toBe(true)
    region.resize(800)
    resized()
    expect(region.scrollTop).toBe(700)
    region.clientHeight = 50
    resized()
    expect(region.scrollTop).toBe(750)
  })

  it("turns the browser's scroll anchoring off while following at the end, on once scrolled up, back when it stops following", () => {
    const region = new FakeRegion()
    const tail = new EndFollow()
    tail.watch(region, () => clock)
    expect(region.style.overflowAnchor).toBe('')
    const stop = tail.keep(region, [], FakeObserver)
    resized()
    expect(region.style.overflowAnchor).toBe('none')
    region.wheelTo(100)
    expect(region.style.overflowAnchor).toBe('')
    region.wheelTo(900)
    expect(region.style.overflowAnchor).toBe('none')
    stop()
    expect(region.style.overflowAnchor).toBe('')
  })

  it('tells its listener when the user leaves the end and comes back, with anchoring already set for what it changes', () => {
    const region = new FakeRegion()
    const told: Array<[boolean, string]> = []
    const tail = new EndFollow((atEnd) => told.push([atEnd, region.style.overflowAnchor]))
    tail.watch(region, () => clock)
    tail.keep(region, [], FakeObserver)
    resized()
    // Content moving the position is not the user: nothing to tell.
    region.resize(600)
    region.resize(1000)
    region.dispatchScroll()
    expect(told).toEqual([])
    region.wheelTo(300)
    region.wheelTo(200)
    region.wheelTo(900)
    expect(told).toEqual([
      [false, ''],
      [true, 'none']
    ])
  })
})
