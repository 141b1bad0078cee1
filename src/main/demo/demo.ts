import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { EnsembleSimulator } from './ensemble-simulator'
import { PersptSimulator } from './perspt-simulator'

/** The built-in demo: a Perspt agent writing a store and an AgentEnsemble run with a review gate. */
export interface RunningDemo {
  storePath: string
  attachUrl: string
  stop(): Promise<void>
}

export interface DemoOptions {
  /** Milliseconds between the simulated Perspt agent's writes. */
  storeTickMs?: number
  /** Milliseconds between simulated AgentEnsemble events. */
  ensemblePaceMs?: number
}

export async function startDemo(dir: string, opts: DemoOptions = {}): Promise<RunningDemo> {
  mkdirSync(dir, { recursive: true })
  const storePath = join(dir, 'perspt.db')
  const perspt = new PersptSimulator({ path: storePath, tickMs: opts.storeTickMs ?? 1000, seed: 7 })
  await perspt.start()
  const ensemble = new EnsembleSimulator({ paceMs: opts.ensemblePaceMs ?? 700, loop: true })
  let attachUrl: string
  try {
    attachUrl = (await ensemble.start()).url
  } catch (err) {
    await perspt.stop()
    throw err
  }
  return {
    storePath,
    attachUrl,
    async stop() {
      await Promise.allSettled([ensemble.stop(), perspt.stop()])
    }
  }
}
