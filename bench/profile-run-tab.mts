// Where a run tab's main-thread time goes at a given event rate: a Chromium trace (devtools.timeline)
// of the run page on one tab while the mixed publisher streams, summed per trace event name. A tool
// for finding a render cost, not a figure of record (bench/live-latency is that).
// Env: VIGIL_PROFILE_TAB (default timeline), VIGIL_PROFILE_RATE (1000), VIGIL_PROFILE_SECONDS (5),
// VIGIL_PROFILE_CSS (a style sheet added to the page: hide a part to see what it costs),
// VIGIL_PROFILE_REDUCED_MOTION (any value: the page asked for reduced motion), VIGIL_PROFILE_SCREENSHOT (a PNG
// path: the page as it looked when the trace started, to see what was in view), VIGIL_PROFILE_PROBE (any value:
// with bench/live-latency's MutationObserver probe in the page, to see what measuring costs), VIGIL_PROFILE_INVALIDATIONS
// (any value: what asked for layout, per node and reason), VIGIL_PROFILE_CPU_OUT (a path: the raw JS profile).
import { writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { launchChromium, MixedPublisher, PAGE_PROBE, rpc, startServe, waitFor, type RunSummaryLite } from './live-latency.mjs'

const tab = process.env.VIGIL_PROFILE_TAB ?? 'timeline'
const rate = Number(process.env.VIGIL_PROFILE_RATE ?? 1000)
const seconds = Number(process.env.VIGIL_PROFILE_SECONDS ?? 5)
const serve = await startServe()
const browser = await launchChromium()
let publisher: MixedPublisher | null = null
try {
  const producerId = `profile-${tab}`
  publisher = new MixedPublisher({ url: serve.url, producerId, rate, markerEvery: Math.max(10, Math.round(rate / 10)), totalTasks: 100_000 })
  await publisher.ready
  const live = await waitFor(async () => (await rpc<RunSummaryLite[]>(serve.url, 'listRuns')).find((r) => r.producerId === producerId), 'the run')
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  if (process.env.VIGIL_PROFILE_PROBE) await page.addInitScript({ content: PAGE_PROBE })
  if (process.env.VIGIL_PROFILE_REDUCED_MOTION) await page.emulateMedia({ reducedMotion: 'reduce' })
  await page.goto(`${serve.url}/#/run/${encodeURIComponent(live.runId)}`)
  await page.getByTestId('run-progress').waitFor({ timeout: 60_000 })
  await page.getByTestId(`run-tab-${tab}`).click()
  // An experiment: CSS that hides or changes a part (e.g. "svg { display: none }") shows what that part costs.
  if (process.env.VIGIL_PROFILE_CSS) await page.addStyleTag({ content: process.env.VIGIL_PROFILE_CSS })
  await sleep(4000)
  if (process.env.VIGIL_PROFILE_SCREENSHOT) await page.screenshot({ path: process.env.VIGIL_PROFILE_SCREENSHOT })
  const cdp = await page.context().newCDPSession(page)
  const events: Array<{ name: string; ph: string; dur?: number; tid: number; ts: number; args?: { data?: { layerId?: number; nodeId?: number; clip?: number[] }; beginData?: { dirtyObjects?: number; totalObjects?: number }; endData?: { layoutRoots?: Array<{ nodeId?: number }> } } }> = []
  cdp.on('Tracing.dataCollected', (m) => events.push(...(m.value as unknown as typeof events)))
  const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()))
  // VIGIL_PROFILE_INVALIDATIONS: also which nodes asked for layout, and why (what dirties the page each frame).
  const categories = ['devtools.timeline', 'disabled-by-default-devtools.timeline', ...(process.env.VIGIL_PROFILE_INVALIDATIONS ? ['disabled-by-default-devtools.timeline.invalidationTracking'] : [])]
  await cdp.send('Tracing.start', { categories: categories.join(','), transferMode: 'ReportEvents' })
  await sleep(seconds * 1000)
  await cdp.send('Tracing.end')
  await done
  // Then a JS CPU profile of as long: self time per function (where the script time goes).
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 250 })
  await cdp.send('Profiler.start')
  await sleep(seconds * 1000)
  const { profile } = (await cdp.send('Profiler.stop')) as { profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[]; timeDeltas: number[] } }
  // VIGIL_PROFILE_CPU_OUT: the raw profile too (a .cpuprofile DevTools opens), for a closer look.
  if (process.env.VIGIL_PROFILE_CPU_OUT) writeFileSync(process.env.VIGIL_PROFILE_CPU_OUT, JSON.stringify(profile))
  const selfMs = new Map<number, number>()
  profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000))
  const fnSelf = new Map<string, number>()
  for (const n of profile.nodes) {
    const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + (selfMs.get(n.id) ?? 0))
  }
  // Inclusive time per function (a function's own samples and its callees'; recursion counted once per stack).
  const parent = new Map<number, number>()
  for (const n of profile.nodes as Array<{ id: number; children?: number[] }>) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const fnTotal = new Map<string, number>()
  for (const [id, ms] of selfMs) {
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!
      const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`
      if (seen.has(key)) continue
      seen.add(key)
      fnTotal.set(key, (fnTotal.get(key) ?? 0) + ms)
    }
  }
  // Time per entry point: the outermost named JS function of each sample's stack (what the task ran).
  const entry = new Map<string, number>()
  for (const [id, ms] of selfMs) {
    let outer = '(none)'
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!
      if (n.callFrame.functionName && !n.callFrame.functionName.startsWith('(')) outer = `${n.callFrame.functionName} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`
      else if (n.callFrame.functionName.startsWith('(') && at === id) outer = n.callFrame.functionName
    }
    entry.set(outer, (entry.get(outer) ?? 0) + ms)
  }
  const topEntries = [...entry.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => [k, +(v / seconds).toFixed(1)])
  const topTotal = [...fnTotal.entries()].filter(([k]) => !k.startsWith('(')).sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, v]) => [k, +(v / seconds).toFixed(1)])
  const topFns = [...fnSelf.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, v]) => [k, +(v / seconds).toFixed(1)])
  await publisher.stop()
  publisher = null
  // The renderer main thread: the thread with the most RunTask time among those with Paint events.
  const paintTids = new Set(events.filter((e) => e.name === 'Paint').map((e) => e.tid))
  const byTid = new Map<number, number>()
  for (const e of events) if (e.name === 'RunTask' && paintTids.has(e.tid)) byTid.set(e.tid, (byTid.get(e.tid) ?? 0) + (e.dur ?? 0))
  const main = [...byTid.entries()].sort((a, b) => b[1] - a[1])[0]?.[0]
  const sums = new Map<string, { ms: number; n: number; max: number }>()
  for (const e of events) {
    if (e.tid !== main || e.ph !== 'X' || e.dur === undefined) continue
    const s = sums.get(e.name) ?? { ms: 0, n: 0, max: 0 }
    s.ms += e.dur / 1000
    s.n++
    s.max = Math.max(s.max, e.dur / 1000)
    sums.set(e.name, s)
  }
  // Paint per layer and painted node (what is painted again every frame).
  const paints = new Map<string, { ms: number; n: number; area: number }>()
  for (const e of events) {
    if (e.tid !== main || e.name !== 'Paint' || e.dur === undefined) continue
    const d = e.args?.data ?? {}
    const c = d.clip ?? []
    const area = c.length === 8 ? Math.round(Math.abs((c[2]! - c[0]!) * (c[5]! - c[1]!))) : 0
    const key = `layer ${d.layerId} node ${d.nodeId}`
    const p = paints.get(key) ?? { ms: 0, n: 0, area: 0 }
    p.ms += e.dur / 1000
    p.n++
    p.area = Math.max(p.area, area)
    paints.set(key, p)
  }
  const paintRows = [...paints.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8).map(([k, v]) => [k, { ms: +(v.ms / seconds).toFixed(1), n: +(v.n / seconds).toFixed(1), area: v.area }])
  // Layouts: how many objects each one had to lay out, of how many, and from which roots.
  const layouts = events.filter((e) => e.tid === main && e.name === 'Layout' && e.ph === 'X')
  const layoutStats = {
    n: layouts.length,
    dirtyObjects: quantiles(layouts.map((e) => e.args?.beginData?.dirtyObjects ?? 0)),
    totalObjects: quantiles(layouts.map((e) => e.args?.beginData?.totalObjects ?? 0)),
    rootNodes: [...new Set(layouts.flatMap((e) => (e.args?.endData?.layoutRoots ?? []).map((r) => r.nodeId ?? 0)))].slice(0, 8)
  }
  // Layout invalidations (VIGIL_PROFILE_INVALIDATIONS): per node name and reason, a second.
  const invalidations = new Map<string, number>()
  for (const e of events as Array<{ name: string; args?: { data?: { nodeName?: string; reason?: string } } }>) {
    if (e.name !== 'LayoutInvalidationTracking') continue
    const key = `${e.args?.data?.reason ?? '?'}: ${e.args?.data?.nodeName ?? '?'}`
    invalidations.set(key, (invalidations.get(key) ?? 0) + 1)
  }
  const layoutInvalidations = Object.fromEntries([...invalidations.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => [k, +(v / seconds).toFixed(1)]))
  // Per layout root: how many layouts started there a second, and their dirty objects (p50).
  const byRoot = new Map<number, number[]>()
  for (const e of layouts) for (const r of e.args?.endData?.layoutRoots ?? []) byRoot.set(r.nodeId ?? 0, [...(byRoot.get(r.nodeId ?? 0) ?? []), e.args?.beginData?.dirtyObjects ?? 0])
  // What each painted node is (its tag, class and first characters).
  await cdp.send('DOM.getDocument', { depth: 0 })
  const backendIds = [...[...paints.keys()].map((k) => Number(k.split(' ')[3])), ...layoutStats.rootNodes].filter((n) => n > 0).slice(0, 16)
  const named = new Map<number, string>()
  for (const id of backendIds) {
    try {
      const { nodeIds } = (await cdp.send('DOM.pushNodesByBackendIdsToFrontend', { backendNodeIds: [id] })) as { nodeIds: number[] }
      const { outerHTML } = (await cdp.send('DOM.getOuterHTML', { nodeId: nodeIds[0]! })) as { outerHTML: string }
      named.set(id, outerHTML.slice(0, 90))
    } catch {
      named.set(id, '?')
    }
  }
  for (const row of paintRows) (row[1] as Record<string, unknown>).node = named.get(Number(String(row[0]).split(' ')[3]))
  const layoutRoots = layoutStats.rootNodes.map((id) => ({ node: named.get(id) ?? String(id), perSecond: +((byRoot.get(id)?.length ?? 0) / seconds).toFixed(1), dirtyObjects: quantiles(byRoot.get(id) ?? []).p50 }))
  // The main thread's long tasks (over 12 ms: a marker arriving then waits that long) and what they ran:
  // the task's own events, largest first, with the JS function a FunctionCall entered.
  const mainEvents = events.filter((e) => e.tid === main && e.ph === 'X' && e.dur !== undefined).sort((a, b) => a.ts - b.ts)
  const longTasks: Array<{ ms: number; parts: string }> = []
  for (const t of mainEvents) {
    if (t.name !== 'RunTask' || t.dur! < 12_000) continue
    const inner = mainEvents.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur! <= t.ts + t.dur! && e.name !== 'RunTask')
    const label = (e: (typeof inner)[number]) => {
      const fn = (e.args?.data as { functionName?: string; type?: string } | undefined) ?? {}
      return `${e.name}${fn.functionName ? `:${fn.functionName}` : fn.type ? `:${fn.type}` : ''}`
    }
    const parts = inner.sort((a, b) => b.dur! - a.dur!).slice(0, 6).map((e) => `${label(e)} ${(e.dur! / 1000).toFixed(1)}`)
    longTasks.push({ ms: +(t.dur! / 1000).toFixed(1), parts: parts.join(', ') })
  }
  // Per-frame cost distributions (ms): a p95 frame is what a marker arriving then waits behind.
  const durations = (name: string) => quantiles(mainEvents.filter((e) => e.name === name).map((e) => +(e.dur! / 1000).toFixed(2)))
  const frameCosts = Object.fromEntries(['RunTask', 'FireAnimationFrame', 'Layout', 'UpdateLayoutTree', 'PrePaint', 'Layerize'].map((n) => [n, durations(n)]))
  const rows = [...sums.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)
  const elements = await page.evaluate('document.querySelectorAll("*").length')
  process.stdout.write(JSON.stringify({ name: 'profile.run_tab', tab, rate, seconds, elements, perSecondMs: Object.fromEntries(rows.map(([k, v]) => [k, { ms: +(v.ms / seconds).toFixed(1), n: +(v.n / seconds).toFixed(1), maxMs: +v.max.toFixed(1) }])), paintsPerSecond: Object.fromEntries(paintRows), layouts: { ...layoutStats, rootNodes: layoutRoots, invalidations: layoutInvalidations }, jsSelfMsPerSecond: Object.fromEntries(topFns), jsTotalMsPerSecond: Object.fromEntries(topTotal), jsEntryMsPerSecond: Object.fromEntries(topEntries), frameCosts, longTasks: { perSecond: +(longTasks.length / seconds).toFixed(1), slowest: longTasks.sort((a, b) => b.ms - a.ms).slice(0, 12) } }) + '\n')
} finally {
  // A failed step must not leave the publisher's worker streaming (it keeps the process alive).
  await publisher?.stop().catch(() => undefined)
  await browser.close()
  await serve.stop()
}

function quantiles(v: number[]): { p50: number; p95: number; max: number } {
  const s = [...v].sort((a, b) => a - b)
  const q = (p: number) => s[Math.floor(p * (s.length - 1))] ?? 0
  return { p50: q(0.5), p95: q(0.95), max: s.at(-1) ?? 0 }
}
