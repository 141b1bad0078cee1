import { windowRange, type WindowRange } from './table'

/**
 * Fixed-height row virtualisation: only the rows in view (plus overscan) are in the DOM, so a list of
 * every session stays smooth. Index maths only; the container scrolls natively.
 */
export class VirtualWindow {
  scrollTop = $state(0)
  viewportHeight = $state(600)

  constructor(
    readonly rowHeight: number,
    private readonly overscan = 8
  ) {}

  /** The rows in view; `rowHeight` when the owner's row height changed since (a table that became virtual). */
  range(count: number, rowHeight = this.rowHeight): WindowRange {
    return windowRange(count, this.scrollTop, this.viewportHeight, rowHeight, this.overscan)
  }

  /** A Svelte attachment for the scrolling element. */
  attach = (el: HTMLElement) => {
    const onScroll = () => (this.scrollTop = el.scrollTop)
    const observer = new ResizeObserver(() => (this.viewportHeight = el.clientHeight))
    el.addEventListener('scroll', onScroll, { passive: true })
    observer.observe(el)
    this.viewportHeight = el.clientHeight
    // Attached to an element already scrolled (a list that became virtual as it grew): start from there.
    this.scrollTop = el.scrollTop
    return () => {
      el.removeEventListener('scroll', onScroll)
      observer.disconnect()
    }
  }
}
