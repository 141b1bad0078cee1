// Soak: the built `vigil serve` with recording on (its own --data-dir) takes 1,000 events/s on its hub's
// /ingress for VIGIL_SOAK_SECONDS (default 600) while Chromium has Vigil open (the app's /api/events
// socket, following the newest run) and also reads the hub's /ws from the same page. The server's RSS
// (/proc/<pid>/status VmRSS) is sampled every 10 s.
//
// Runs are VIGIL_SOAK_RUN_EVENTS long (default 1000, i.e. one new run per second), so the RunTracker's
// cap of 200 retained runs is reached after about 200 s: memory should grow until then and stay flat
// after it. Output: one `live.soak.sample` line per sample, then `live.soak.rss` with the summary
// (first-minute vs last-minute median, slope over the whole soak and over its second half, max).
// VIGIL_SOAK_HEAP=1 runs the server with --inspect and adds V8 heap figures to every sample (through
// the inspector: process.memoryUsage()), and the heap left after a forced GC at the end.
// VIGIL_SOAK_RECORDING=0 is for comparison only: it puts a folder where the recording file goes, so
// Vigil runs without recording (as it does when the file is unusable).
import { mkdirSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { Publisher, cpuSeconds, launchChromium, rpc, rssMiB, startServe, waitFor, type RunSummaryLite } from './live-latency.mjs'
import { quantile, report } from './stats.mjs'

const log = (m: string) => process.stderr.write(`live-soak: ${m}\n`)
const SAMPLE_MS = 10_000

/** In-page client of the hub's /ws (same origin as the page, so the Origin rule lets it in). */
const HUB_CLIENT = `(() => {
  const s = (window.__hub = { frames: 0, bytes: 0, opens: 0, closes: [], hello: 0 })
  const open = () => {
    const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws')
    ws.onopen = () => s.opens++
    ws.onmessage = (ev) => {
      s.frames++
      s.bytes += ev.data.length
      if (ev.data.startsWith('{"type":"hub_hello"')) s.hello++
    }
    ws.onclose = (ev) => {
      s.closes.push(ev.code + ' ' + ev.reason)
      setTimeout(open, 1000)
    }
  }
  open()
})()`

type Memory = { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }

/** process.memoryUsage() of the server through its inspector (only with --inspect). */
async function inspector(output: () => string): Promise<{ memory(gc?: boolean): Promise<Memory>; close(): void }> {
  const url = await waitFor(() => /Debugger listening on (ws:\/\/\S+)/.exec(output())?.[1], 'the inspector URL')
  const ws = new WebSocket(url)
  await new Promise((r, j) => ws.once('open', r).once('error', j))
  let id = 0
  const pending = new Map<number, (v: unknown) => void>()
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { id?: number; result?: { result?: { value?: unknown } } }
    if (m.id !== undefined) pending.get(m.id)?.(m.result?.result?.value)
  })
  const evaluate = (expression: string) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve)
      ws.send(JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression, returnByValue: true, includeCommandLineAPI: true } }))
    })
  const mib = (v: number) => r2(v / 2 ** 20)
  return {
    async memory(gc = false) {
      const text = (await evaluate(`${gc ? 'gc(); ' : ''}JSON.stringify(process.memoryUsage())`)) as string
      const m = JSON.parse(text) as Memory
      return { rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers) }
    },
    close: () => ws.close()
  }
}

/** Least-squares slope of (minutes, MiB). */
function slope(points: Array<[number, number]>): number {
  const n = points.length
  if (n < 2) return NaN
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return num / den
}

const median = (values: number[]) => quantile([...values].sort((a, b) => a - b), 0.5)
const r2 = (v: number) => Math.round(v * 100) / 100

export async function run(): Promise<void> {
  if (process.platform !== 'linux') {
    log('needs /proc (Linux); skipped')
    return
  }
  const seconds = Number(process.env.VIGIL_SOAK_SECONDS ?? 600)
  const rate = Number(process.env.VIGIL_SOAK_RATE ?? 1000)
  const runEvents = Number(process.env.VIGIL_SOAK_RUN_EVENTS ?? 1000)
  const markerEvery = 100
  const heap = process.env.VIGIL_SOAK_HEAP === '1'
  const recording = process.env.VIGIL_SOAK_RECORDING !== '0'
  const serve = await startServe({
    nodeArgs: heap ? ['--inspect=127.0.0.1:0', '--expose-gc'] : [],
    prepareDataDir: recording ? undefined : (dir) => mkdirSync(join(dir, 'recordings.duckdb'))
  })
  const pid = serve.proc.pid!
  const v8 = heap ? await inspector(serve.output) : null
  const browser = await launchChromium()
  try {
    await sleep(2000)
    const idleRss = rssMiB(pid)
    log(`${serve.url} (pid ${pid}): ${rate} events/s for ${seconds} s, runs of ${runEvents} events; idle RSS ${r2(idleRss)} MiB`)
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    page.on('pageerror', (e) => log(`page error: ${e.message}`))
    await page.goto(serve.url)
    await page.evaluate(HUB_CLIENT)
    await waitFor(async () => (await page.evaluate('window.__hub.opens')) === 1, 'the page on the hub /ws')

    const publisher = new Publisher({ url: serve.url, producerId: 'bench-soak', rate, markerEvery, runEvents, totalTasks: Math.ceil(runEvents / markerEvery) })
    await publisher.ready
    const t0 = performance.now()
    let cpuPrev = cpuSeconds(pid)
    let tPrev = t0
    const points: Array<[number, number]> = []
    for (let i = 1; i * SAMPLE_MS <= seconds * 1000; i++) {
      await sleep(Math.max(0, t0 + i * SAMPLE_MS - performance.now()))
      const t = performance.now()
      const rss = rssMiB(pid)
      const cpu = cpuSeconds(pid)
      const minutes = (t - t0) / 60_000
      points.push([minutes, rss])
      const runs = await rpc<RunSummaryLite[]>(serve.url, 'listRuns')
      const newest = runs.find((r) => r.producerId === 'bench-soak')
      // The page follows the newest run, as a user watching the stream would.
      if (newest) await page.evaluate(`location.hash = '#/run/${newest.runId}'`)
      const hub = (await page.evaluate('({ frames: window.__hub.frames, closes: window.__hub.closes.length })')) as { frames: number; closes: number }
      const line = {
        name: 'live.soak.sample',
        unit: 'MiB',
        seconds: Math.round((t - t0) / 1000),
        rss: r2(rss),
        cpuPercent: Math.round(((cpu - cpuPrev) / ((t - tPrev) / 1000)) * 1000) / 10,
        runsTracked: runs.length,
        hubFramesInPage: hub.frames,
        hubSocketCloses: hub.closes,
        loadAvg1m: r2(loadavg()[0]!),
        ...(v8 ? { v8: await v8.memory() } : {})
      }
      process.stdout.write(JSON.stringify(line) + '\n')
      cpuPrev = cpu
      tPrev = t
    }
    const pub = await publisher.stop()
    const afterGc = v8 ? await v8.memory(true) : null
    v8?.close()
    const hub = (await page.evaluate('window.__hub')) as { frames: number; bytes: number; opens: number; closes: string[]; hello: number }
    const appConnected = await page.getByRole('status').filter({ hasText: /^Connected$/ }).count()
    await page.close()

    const rss = points.map(([, v]) => v)
    const firstMinute = points.filter(([m]) => m <= 1).map(([, v]) => v)
    const lastMinute = points.filter(([m]) => m >= seconds / 60 - 1).map(([, v]) => v)
    const secondHalf = points.filter(([m]) => m >= seconds / 120)
    const capReachedAfterS = (200 * runEvents) / rate
    const afterCap = points.filter(([m]) => m * 60 >= capReachedAfterS + 30)
    report('live.soak.rss', 'MiB', rss, {
      idleBeforeLoad: r2(idleRss),
      firstMinuteMedian: r2(median(firstMinute)),
      lastMinuteMedian: r2(median(lastMinute)),
      slopeMiBPerMin: r2(slope(points)),
      slopeSecondHalfMiBPerMin: r2(slope(secondHalf)),
      slopeAfterRunCapMiBPerMin: afterCap.length >= 3 ? r2(slope(afterCap)) : null,
      seconds,
      samples: points.length,
      rateTarget: rate,
      rateSent: Math.round(pub.sent / pub.seconds),
      rateSentMinPerSecond: Math.round(Math.min(...pub.perSecond.slice(1, -1))),
      eventsSent: pub.sent,
      runEvents,
      hubFramesInPage: hub.frames,
      hubMiBInPage: r2(hub.bytes / 2 ** 20),
      hubSocketOpens: hub.opens,
      hubSocketCloses: hub.closes,
      appShowsConnected: appConnected === 1,
      recording: (await rpc<{ recording: { active: boolean } }>(serve.url, 'getAppInfo')).recording.active,
      ...(afterGc ? { v8AfterForcedGc: afterGc, rssAfterForcedGc: r2(rssMiB(pid)) } : {}),
      cores: cpus().length
    })
  } finally {
    await browser.close()
    await serve.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
