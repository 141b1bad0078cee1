// How the store page says the way Vigil follows a Perspt store's writes (StoreSourceInfo.reading).
import type { StoreReading } from '../../shared/model/sources'

export function readingWords(r: StoreReading): { text: string; title: string } {
  const fallbacks = r.fallbacks === 0 ? '' : ` · fell back to copies ${r.fallbacks === 1 ? 'once' : `${r.fallbacks} times`}`
  const text = `${r.mode === 'live' ? 'follows each write' : 'reads copies'}${fallbacks}`
  const how =
    r.mode === 'live'
      ? "Vigil applies the agent's new writes to its own copy of the store as they come."
      : "Vigil reads fresh copies of the store (and of what the agent wrote since); it follows each write again once a copy of its own is ready."
  const why = r.liveOff ? ` It stays on copies for this store until Vigil restarts: ${r.liveOff}.` : ''
  const back = r.fallbacks > 0 ? ' A fallback happens at a change Vigil cannot apply (a new table, the agent\'s checkpoint, a replaced file, a full disk); the numbers stay right, they follow a little later.' : ''
  return { text, title: `${how}${why}${back}` }
}
