// A simulated AgentEnsemble dashboard that has started a run and its first task (and stays there), with
// the real `vigil serve` attached to it: the setting for gates raised inside a live run.
import { EnsembleSimulator } from '../../../src/main/demo/ensemble-simulator'
import type { ServerMessage } from '../../../src/shared/protocol/agentensemble'
import { startVigil, type VigilProcess } from './vigil-process'

export interface AttachedRun {
  sim: EnsembleSimulator
  vigil: VigilProcess
  /** Stops Vigil (resolving its exit code) and then the dashboard. */
  stop(): Promise<number | null>
}

export async function startAttachedRun(run: { ensembleId: string; totalTasks: number; taskDescription: string; agentRole: string }): Promise<AttachedRun> {
  const now = new Date().toISOString()
  const started: ServerMessage[] = [
    { type: 'ensemble_started', ensembleId: run.ensembleId, startedAt: now, totalTasks: run.totalTasks, workflow: 'SEQUENTIAL' },
    { type: 'task_started', taskIndex: 1, totalTasks: run.totalTasks, taskDescription: run.taskDescription, agentRole: run.agentRole, startedAt: now }
  ]
  const sim = new EnsembleSimulator({ script: started, heartbeatMs: 60_000 })
  await sim.start()
  const vigil = await startVigil(['--attach', sim.url])
  return {
    sim,
    vigil,
    async stop() {
      const code = await vigil.stop()
      await sim.stop()
      return code
    }
  }
}
