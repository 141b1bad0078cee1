// Calls `onChange` when the page's colours may have changed: the system's light/dark setting, or a theme
// attribute on the document. For what draws with colours read from CSS (charts, canvases). Returns the stop.
export function watchColorScheme(onChange: () => void): () => void {
  const mq = window.matchMedia('(prefers-color-scheme: dark)')
  mq.addEventListener('change', onChange)
  const mo = new MutationObserver(onChange)
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'data-theme', 'style'] })
  return () => {
    mq.removeEventListener('change', onChange)
    mo.disconnect()
  }
}
