// Frames copied verbatim from shared/spec/agentensemble-protocol.md (generated; byte-exact Jackson output).

/** Every server→client example of §1.2, §1.3 (dashboard part) and §7. */
export const SPEC_SERVER_FRAMES: string[] = [
  "{\"type\":\"hello\"}",
  "{\"type\":\"hello\",\"ensembleId\":\"e1\",\"startedAt\":\"2026-03-05T14:00:00Z\",\"snapshotTrace\":[{\"type\":\"ensemble_started\",\"ensembleId\":\"e1\",\"startedAt\":\"2026-03-05T14:00:00Z\",\"totalTasks\":2,\"workflow\":\"SEQUENTIAL\"},{\"type\":\"task_started\",\"taskIndex\":1,\"totalTasks\":2,\"taskDescription\":\"Research AI trends\",\"agentRole\":\"Researcher\",\"startedAt\":\"2026-03-05T14:00:00.004518Z\"}],\"recentIterations\":[{\"started\":{\"type\":\"llm_iteration_started\",\"agentRole\":\"Researcher\",\"taskDescription\":\"Research AI trends\",\"iterationIndex\":0,\"messages\":[{\"role\":\"system\",\"content\":\"You are a Researcher.\",\"toolCalls\":null,\"toolName\":null},{\"role\":\"user\",\"content\":\"## Task\\nResearch AI trends\",\"toolCalls\":null,\"toolName\":null}],\"totalMessageCount\":2},\"completed\":{\"type\":\"llm_iteration_completed\",\"agentRole\":\"Researcher\",\"taskDescription\":\"Research AI trends\",\"iterationIndex\":0,\"responseType\":\"FINAL_ANSWER\",\"responseText\":\"AI adoption grew 42%.\",\"inputTokens\":0,\"outputTokens\":0,\"latencyMs\":12}}]}",
  "{\"type\":\"hello\",\"ensembleId\":\"e1\",\"startedAt\":\"2026-03-05T14:00:00Z\",\"sharedCapabilities\":[{\"name\":\"prepare-meal\",\"description\":\"Cook\",\"type\":\"TASK\",\"tags\":[]}]}",
  "{\"type\":\"heartbeat\",\"serverTimeMs\":1741212300000}",
  "{\"type\":\"pong\"}",
  "{\"type\":\"ensemble_started\",\"ensembleId\":\"e1\",\"startedAt\":\"2026-03-05T14:00:00Z\",\"totalTasks\":4,\"workflow\":\"SEQUENTIAL\"}",
  "{\"type\":\"task_started\",\"taskIndex\":1,\"totalTasks\":4,\"taskDescription\":\"Research AI trends\",\"agentRole\":\"Senior Research Analyst\",\"startedAt\":\"2026-03-05T14:00:01.123456Z\"}",
  "{\"type\":\"task_input\",\"taskIndex\":1,\"taskDescription\":\"Research AI trends\",\"expectedOutput\":null,\"agentRole\":\"Senior Research Analyst\",\"agentGoal\":null,\"agentBackground\":null,\"toolNames\":[\"web_search\"],\"assembledContext\":\"## Task\\n...\",\"sentAt\":\"2026-03-05T14:00:01.123456Z\"}",
  "{\"type\":\"task_completed\",\"taskIndex\":1,\"totalTasks\":4,\"taskDescription\":\"Research AI trends\",\"agentRole\":\"Senior Research Analyst\",\"completedAt\":\"2026-03-05T14:00:45.120Z\",\"durationMs\":44000,\"tokenCount\":-1,\"toolCallCount\":3}",
  "{\"type\":\"task_failed\",\"taskIndex\":2,\"taskDescription\":\"Write report\",\"agentRole\":\"Content Writer\",\"failedAt\":\"2026-03-05T14:00:45.120Z\",\"reason\":\"limit reached\"}",
  "{\"type\":\"tool_called\",\"agentRole\":\"Analyst\",\"taskIndex\":0,\"toolName\":\"calculator\",\"durationMs\":500,\"outcome\":null,\"toolArguments\":null,\"toolResult\":null,\"structuredResult\":null}",
  "{\"type\":\"tool_called\",\"agentRole\":\"Analyst\",\"taskIndex\":1,\"toolName\":\"calculator\",\"durationMs\":500,\"outcome\":\"SUCCESS\",\"toolArguments\":\"{\\\"expr\\\":\\\"6*7\\\"}\",\"toolResult\":\"42\",\"structuredResult\":{\"value\":42}}",
  "{\"type\":\"delegation_started\",\"delegationId\":\"d1\",\"delegatingAgentRole\":\"Manager\",\"workerRole\":\"Writer\",\"taskDescription\":\"Write a blog post\"}",
  "{\"type\":\"delegation_completed\",\"delegationId\":\"d1\",\"delegatingAgentRole\":\"Manager\",\"workerRole\":\"Writer\",\"durationMs\":32000}",
  "{\"type\":\"delegation_failed\",\"delegationId\":\"d1\",\"delegatingAgentRole\":\"Manager\",\"workerRole\":\"Writer\",\"reason\":\"Guard rejected\"}",
  "{\"type\":\"review_requested\",\"reviewId\":\"r1\",\"taskDescription\":\"Draft\",\"taskOutput\":\"Output\",\"timing\":\"AFTER_EXECUTION\",\"timeoutMs\":300000,\"onTimeout\":\"EXIT_EARLY\"}",
  "{\"type\":\"review_requested\",\"reviewId\":\"r1\",\"taskDescription\":\"Draft\",\"taskOutput\":\"\",\"timing\":\"BEFORE_EXECUTION\",\"prompt\":\"Check tone\",\"timeoutMs\":0,\"onTimeout\":\"CONTINUE\",\"requiredRole\":\"editor\"}",
  "{\"type\":\"review_timed_out\",\"reviewId\":\"r1\",\"action\":\"CONTINUE\"}",
  "{\"type\":\"ensemble_completed\",\"ensembleId\":\"e1\",\"completedAt\":\"2026-03-05T14:00:45.120Z\",\"durationMs\":300000,\"exitReason\":\"COMPLETED\",\"totalTokens\":0,\"totalToolCalls\":15}",
  "{\"type\":\"token\",\"token\":\"Hello \",\"agentRole\":\"Writer\",\"taskDescription\":\"Write\",\"sentAt\":\"2026-03-05T14:00:01.123456Z\"}",
  "{\"type\":\"llm_iteration_started\",\"agentRole\":\"Researcher\",\"taskDescription\":\"Find papers\",\"iterationIndex\":0,\"messages\":[{\"role\":\"system\",\"content\":\"You are...\",\"toolCalls\":null,\"toolName\":null},{\"role\":\"user\",\"content\":\"Find papers\",\"toolCalls\":null,\"toolName\":null}],\"totalMessageCount\":2}",
  "{\"type\":\"llm_iteration_started\",\"agentRole\":\"R\",\"taskDescription\":\"T\",\"iterationIndex\":1,\"messages\":[{\"role\":\"assistant\",\"content\":null,\"toolCalls\":[{\"name\":\"web_search\",\"arguments\":\"{}\"}],\"toolName\":null},{\"role\":\"tool\",\"content\":\"results\",\"toolCalls\":null,\"toolName\":\"web_search\"}]}",
  "{\"type\":\"llm_iteration_completed\",\"agentRole\":\"Researcher\",\"taskDescription\":\"Find papers\",\"iterationIndex\":0,\"responseType\":\"TOOL_CALLS\",\"toolRequests\":[{\"name\":\"web_search\",\"arguments\":\"{\\\"q\\\":\\\"x\\\"}\"}],\"inputTokens\":500,\"outputTokens\":200,\"latencyMs\":1200}",
  "{\"type\":\"file_changed\",\"agentRole\":\"Coder\",\"filePath\":\"src/Main.java\",\"changeType\":\"MODIFIED\",\"linesAdded\":10,\"linesRemoved\":3,\"timestamp\":\"2026-03-05T14:00:45.120Z\"}",
  "{\"type\":\"metrics_snapshot\",\"agentRole\":\"Researcher\",\"taskIndex\":1,\"inputTokens\":5000,\"outputTokens\":2000,\"llmLatencyMs\":3500,\"toolExecutionTimeMs\":1200,\"iterationCount\":4}",
  "{\"type\":\"directive_active\",\"directiveId\":\"dir-1\",\"from\":\"alice\",\"content\":\"Prefer sources from 2025\",\"expiresAt\":\"2026-03-05T14:10:00Z\"}",
  "{\"type\":\"event\",\"producer\":{\"producerId\":\"svc-a-1\",\"serviceName\":\"svc-a\",\"instanceId\":\"pod-1\",\"host\":\"node-12\",\"tags\":{\"env\":\"prod\"}},\"sequence\":7,\"receivedAt\":\"2026-03-05T14:00:01.123456Z\",\"message\":{\"type\":\"task_started\",\"taskIndex\":1,\"totalTasks\":1,\"taskDescription\":\"T\",\"agentRole\":\"A\",\"startedAt\":\"2026-03-05T14:00:00Z\"}}",
  "{\"type\":\"hub_hello\"}",
  "{\"type\":\"hub_hello\",\"producers\":[{\"producerId\":\"svc-a-pod-1\",\"serviceName\":\"svc-a\",\"instanceId\":\"pod-1\",\"host\":\"node-12\"}],\"snapshotTrace\":[{\"type\":\"event\",\"producer\":{\"producerId\":\"svc-a-pod-1\",\"serviceName\":\"svc-a\",\"instanceId\":\"pod-1\",\"host\":\"node-12\"},\"sequence\":1,\"receivedAt\":\"2026-03-05T14:00:00.010Z\",\"message\":{\"type\":\"ensemble_started\",\"ensembleId\":\"e1\",\"startedAt\":\"2026-03-05T14:00:00Z\",\"totalTasks\":1,\"workflow\":\"SEQUENTIAL\"}},{\"type\":\"event\",\"producer\":{\"producerId\":\"svc-a-pod-1\",\"serviceName\":\"svc-a\",\"instanceId\":\"pod-1\",\"host\":\"node-12\"},\"sequence\":5,\"receivedAt\":\"2026-03-05T14:00:03.500Z\",\"message\":{\"type\":\"review_requested\",\"reviewId\":\"r1\",\"taskDescription\":\"Draft\",\"taskOutput\":\"Output\",\"timing\":\"AFTER_EXECUTION\",\"timeoutMs\":300000,\"onTimeout\":\"EXIT_EARLY\"}}],\"iterationsByProducer\":{\"svc-a-pod-1\":[{\"started\":{\"type\":\"llm_iteration_started\",\"agentRole\":\"Writer\",\"taskDescription\":\"Draft\",\"iterationIndex\":0,\"messages\":[{\"role\":\"user\",\"content\":\"Draft\",\"toolCalls\":null,\"toolName\":null}],\"totalMessageCount\":1}}]}}",
  "{\"type\":\"producer_joined\",\"producer\":{\"producerId\":\"svc-a-1\",\"serviceName\":\"svc-a\"},\"joinedAt\":\"2026-03-05T14:00:00Z\"}",
  "{\"type\":\"producer_left\",\"producerId\":\"svc-a-1\",\"leftAt\":\"2026-03-05T14:00:00Z\",\"reason\":\"disconnected\"}",
]

/** The client→server examples Vigil sends (§1.4). */
export const SPEC_CLIENT_FRAMES: string[] = [
  "{\"type\":\"ping\"}",
  "{\"type\":\"review_decision\",\"reviewId\":\"r1\",\"decision\":\"EDIT\",\"revisedOutput\":\"Better\"}",
]

/** Control-API, network and other client frames: valid for the server, unknown to Vigil's live parser. */
export const SPEC_UNSUPPORTED_FRAMES: string[] = [
  "{\"type\":\"run_ack\",\"requestId\":\"req-1\",\"runId\":\"run-7f3a2b\",\"status\":\"ACCEPTED\",\"tasks\":2,\"workflow\":\"SEQUENTIAL\"}",
  "{\"type\":\"run_ack\",\"requestId\":\"req-1\",\"status\":\"REJECTED\",\"tasks\":0}",
  "{\"type\":\"run_result\",\"runId\":\"run-7f3a2b\",\"status\":\"COMPLETED\",\"outputs\":[{\"taskName\":\"Research\",\"output\":\"text\",\"durationMs\":1200}],\"durationMs\":5000,\"metrics\":{\"totalTokens\":-1,\"totalToolCalls\":2}}",
  "{\"type\":\"run_control_ack\",\"runId\":\"run-7f3a2b\",\"action\":\"switch_model\",\"status\":\"APPLIED\",\"model\":\"fast\"}",
  "{\"type\":\"subscribe_ack\",\"events\":[\"task_started\",\"run_result\"]}",
  "{\"type\":\"directive_ack\",\"directiveId\":null,\"status\":\"REJECTED\"}",
  "{\"type\":\"task_accepted\",\"requestId\":\"req-001\",\"queuePosition\":0}",
  "{\"type\":\"task_progress\",\"requestId\":\"req-001\",\"status\":\"RUNNING\",\"message\":\"Gathering\",\"percentComplete\":25}",
  "{\"type\":\"task_response\",\"requestId\":\"req-001\",\"status\":\"COMPLETED\",\"result\":\"Pasta is ready\",\"durationMs\":45000}",
  "{\"type\":\"tool_response\",\"requestId\":\"req-002\",\"status\":\"FAILED\",\"error\":\"boom\"}",
  "{\"type\":\"capability_response\",\"requestId\":\"q1\",\"ensemble\":\"kitchen\",\"capabilities\":[{\"name\":\"prepare-meal\",\"description\":\"Cook\",\"type\":\"TASK\",\"tags\":[\"food\"]}]}",
  "{\"type\":\"capacity_update\",\"ensemble\":\"kitchen\",\"realm\":\"default\",\"status\":\"available\",\"currentLoad\":0.25,\"maxConcurrent\":10,\"shareable\":true}",
  "{\"type\":\"profile_applied\",\"profileName\":\"peak\",\"capacities\":{\"kitchen\":{\"replicas\":3,\"maxConcurrent\":10,\"dormant\":false}},\"appliedAt\":\"2026-03-05T14:00:00Z\"}",
  "{\"type\":\"subscribe\",\"events\":[\"task_started\"],\"runId\":\"run-7f3a2b\"}",
  "{\"type\":\"run_request\",\"requestId\":\"req-1\",\"inputs\":{\"topic\":\"AI\"},\"options\":{\"maxToolOutputLength\":2000},\"tags\":{\"env\":\"dev\"}}",
  "{\"type\":\"run_control\",\"runId\":\"run-7f3a2b\",\"action\":\"cancel\"}",
  "{\"type\":\"directive\",\"from\":\"alice\",\"content\":\"Prefer sources from 2025\",\"ttl\":\"PT10M\"}",
  "{\"type\":\"task_request\",\"requestId\":\"req-001\",\"from\":\"alpha\",\"task\":\"prepare-meal\",\"context\":\"pasta\",\"priority\":\"HIGH\",\"deadline\":\"PT5M\",\"delivery\":{\"method\":\"WEBSOCKET\"},\"traceContext\":{\"traceparent\":\"00-abc-01\"},\"cachePolicy\":\"USE_CACHED\",\"cacheKey\":\"k\",\"maxAge\":300.000000000}",
  "{\"type\":\"tool_request\",\"requestId\":\"req-002\",\"from\":\"beta\",\"tool\":\"check-inventory\",\"input\":\"tomatoes\"}",
  "{\"type\":\"capability_query\",\"requestId\":\"q1\",\"from\":\"alpha\",\"tag\":\"food\",\"capabilityType\":\"TASK\"}",
]
