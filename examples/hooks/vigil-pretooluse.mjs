#!/usr/bin/env node
// A Claude Code PreToolUse hook that asks a human in Vigil before risky shell commands (docs/gate-cli.md).
//
// It reads the hook's JSON on stdin ({"tool_name":"Bash","tool_input":{"command":…},"cwd":…}). For a
// command matching RISKY (git push, rm -rf, …) it runs `vigil gate` and waits; then it prints Claude Code's
// decision JSON on stdout and exits 0: "allow" when the reviewer approved, "deny" (with the reason Claude
// reads) for anything else. Any other command passes untouched (no output). It fails closed: if the hook
// itself breaks, it exits 2, which blocks the call.
//
// .claude/settings.json:
//   {"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","timeout":600,
//     "command":"node \"$CLAUDE_PROJECT_DIR\"/examples/hooks/vigil-pretooluse.mjs"}]}]}}
//
// Environment: VIGIL_BIN (path to bin/vigil.js, else `vigil` on PATH), VIGIL_URL and VIGIL_TOKEN (passed on
// to `vigil gate`), VIGIL_GATE_TIMEOUT (default 9m: under the hook's own 600 s timeout).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Commands worth a human's look. */
const RISKY = [
  [/\bgit\s+push\b/, 'git push'],
  [/\brm\s+(-[a-zA-Z]*r[a-zA-Z]*f|-[a-zA-Z]*f[a-zA-Z]*r|-r\s+-f|-f\s+-r|--recursive\s+--force|--force\s+--recursive)\b/, 'rm -rf'],
  [/\bgit\s+reset\s+--hard\b/, 'git reset --hard'],
  [/\bdrop\s+(table|database)\b/i, 'DROP TABLE/DATABASE']
]

/** What each `vigil gate` exit code means here (docs/gate-cli.md "Exit codes"). */
const MEANING = {
  0: ['allow', 'A reviewer approved this command in Vigil.'],
  10: ['deny', 'A reviewer in Vigil edited this command instead of approving it. Run the edited command instead: '],
  11: ['deny', 'A reviewer in Vigil said no (exit early). Do not retry this command; ask the user what to do.'],
  12: ['deny', 'Nobody approved this command in Vigil in time.'],
  13: ['allow', 'Nobody decided in Vigil in time; the gate continued.'],
  14: ['deny', 'Nobody approved this command in Vigil in time.'],
  4: ['deny', 'The review gate was closed in Vigil without a decision.'],
  3: ['deny', 'Vigil could not be reached to approve this command (is it running? check VIGIL_URL / VIGIL_TOKEN).'],
  130: ['deny', 'The review was interrupted.']
}

function decide(permissionDecision, reason) {
  process.stdout.write(JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision, permissionDecisionReason: reason } }) + '\n')
  process.exit(0)
}

try {
  const input = JSON.parse(readFileSync(0, 'utf8'))
  const command = input?.tool_input?.command
  if (input?.tool_name !== 'Bash' || typeof command !== 'string') process.exit(0)
  const hit = RISKY.find(([re]) => re.test(command))
  if (!hit) process.exit(0)

  const bin = process.env.VIGIL_BIN
  const [file, pre] = bin ? (bin.endsWith('.js') ? [process.execPath, [bin]] : [bin, []]) : ['vigil', []]
  const where = typeof input.cwd === 'string' ? ` in ${input.cwd}` : ''
  const args = [...pre, 'gate', `Let the coding agent run ${hit[1]}${where}?`, '--output', command, '--timeout', process.env.VIGIL_GATE_TIMEOUT ?? '9m', '--on-timeout', 'exit-early', '--source', 'Claude Code hook', '--json']
  const res = spawnSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (res.error) decide('deny', `Could not run vigil gate (${res.error.message}); set VIGIL_BIN to Vigil's bin/vigil.js.`)
  const [verdict, reason] = MEANING[res.status] ?? ['deny', `vigil gate failed (exit ${res.status}): ${res.stderr.trim().split('\n').pop()}`]
  let detail = ''
  if (res.status === 10) {
    try {
      detail = JSON.parse(res.stdout).revisedOutput ?? ''
    } catch {
      detail = ''
    }
  }
  decide(verdict, reason + detail)
} catch (err) {
  // Fail closed: exit 2 blocks the tool call and shows this to Claude.
  process.stderr.write(`Vigil hook failed (${err instanceof Error ? err.message : String(err)}); blocking to be safe.\n`)
  process.exit(2)
}
