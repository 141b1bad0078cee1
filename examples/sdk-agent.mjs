#!/usr/bin/env node
// An example agent on Vigil's SDK (docs/sdk.md): three tasks, a tool call, an LLM call (a fake model:
// no network) and one review, published to a running Vigil's hub.
//
//   npm run build                   # builds the SDK into out/sdk
//   npx --no-install vigil serve &  # or the desktop app
//   node examples/sdk-agent.mjs     # VIGIL_URL=ws://host:port and VIGIL_TOKEN=… for another machine
//
// Then open Vigil: the run "release-notes-…" shows its tasks, the tool and LLM calls, and a review gate
// waiting in the inbox. Approve, edit or stop it there; the agent prints what you decided.
// Exit code: 0 published, 3 stopped at the review (exit early), 1 error.
import { connect } from 'vigil-agent-tower/sdk'

/** A stand-in for a real model: answers from the prompt, with made-up token counts. */
async function fakeModel(request) {
  await new Promise((r) => setTimeout(r, 20))
  const lines = (request.prompt ?? '').split('\n').filter((l) => l.startsWith('- '))
  return { text: `Release 2.4\n\n${lines.map((l) => `* ${l.slice(2)}`).join('\n')}`, inputTokens: 42 + lines.length * 7, outputTokens: 18 + lines.length * 5 }
}

const hub = await connect({ producerId: process.env.VIGIL_PRODUCER_ID ?? 'example-sdk-agent', serviceName: 'sdk-example' })
const run = hub.run({ name: 'release-notes', totalTasks: 3, agentRole: 'Release writer' })

const commits = await run.task('Collect the commits since v2.3', async (t) =>
  t.tool('git_log', { since: 'v2.3', format: 'oneline' }, async () => ['- fix login redirect', '- faster search', '- new export button'].join('\n'))
)

const draft = await run.task('Draft the release notes', async (t) =>
  t.llm({ model: 'fake-model-1', system: 'You write short release notes.', prompt: `Summarise these commits:\n${commits}` }, fakeModel)
)

const review = await run.review({
  description: 'Publish these release notes?',
  output: draft,
  timeout: process.env.REVIEW_TIMEOUT ?? '5m',
  onTimeout: 'EXIT_EARLY'
})
console.error(`review: ${review.decision}${review.timedOut ? ' (timed out)' : ''}`)

let published = null
if (review.decision !== 'EXIT_EARLY') {
  const text = review.decision === 'EDIT' ? review.revisedOutput : draft
  published = await run.task('Publish the release notes', async (t) => t.tool('publish', { channel: 'changelog', chars: text.length }, async () => ({ url: 'https://example.org/changelog#2.4', chars: text.length })))
}
await run.end(review.decision === 'EXIT_EARLY' ? 'USER_EXIT_EARLY' : 'COMPLETED')
await hub.close()

// One JSON line on stdout, for scripts (and Vigil's own tests).
console.log(JSON.stringify({ ensembleId: run.ensembleId, review, published, stats: hub.stats() }))
process.exitCode = review.decision === 'EXIT_EARLY' ? 3 : 0
