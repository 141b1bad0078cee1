// A value a view shows at most every `ms` (RateGate: the first change after a quiet spell at once,
// the last never lost), for parts of a live page that would otherwise change on every animation frame
// faster than anyone reads them: the tools table's rows, the conversation's iterations, the counts
// around the run's tabs. Created while a component sets up (it owns the component's effects).
import { untrack } from 'svelte'
import { RateGate } from './rate-gate'

export interface PacedOptions<T> {
  /** What to follow: each change of what it reads offers a new value. */
  watch: () => unknown
  /**
   * Whether a value taken earlier still belongs to what is shown (e.g. the same run); when not, the live
   * value is shown until the next one is taken, so another run's page never shows this one's.
   */
  fresh: (taken: T) => boolean
  /** False while there is nothing to take yet (nothing is offered, so the first real value shows at once). */
  ready?: () => boolean
}

export function paced<T>(ms: number, take: () => T, opts: PacedOptions<T>): { readonly current: T } {
  let taken = $state.raw(untrack(take))
  const gate = new RateGate(ms)
  $effect(() => {
    opts.watch()
    if (opts.ready && !untrack(opts.ready)) return
    gate.offer(() => (taken = untrack(take)))
  })
  $effect(() => () => gate.dispose())
  const current = $derived(opts.fresh(taken) ? taken : take())
  return {
    get current() {
      return current
    }
  }
}
