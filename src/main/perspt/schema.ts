// The Perspt session-store DDL (shared/spec/perspt-store.md §1), per schema generation.
// Used to build realistic stores (simulator, fixtures) and to know which tables a generation has.
// Vigil itself never runs these against a user's store.

/** Number of tables present: v0.5.2–0.5.4 → 4, v0.5.5 → 17, v0.5.6–0.5.8 → 21, v0.5.9+ → 23. */
export type SchemaGeneration = 4 | 17 | 21 | 23

export const SCHEMA_GENERATIONS: readonly SchemaGeneration[] = [4, 17, 21, 23]

const GEN4_TABLES = ['sessions', 'node_states', 'energy_history', 'llm_requests'] as const
const GEN17_ADDED = [
  'structural_digests',
  'context_provenance',
  'escalation_reports',
  'rewrite_records',
  'sheaf_validations',
  'provisional_branches',
  'branch_lineage',
  'interface_seals',
  'branch_flushes',
  'task_graph_edges',
  'review_outcomes',
  'verification_results',
  'artifact_bundles'
] as const
const GEN21_ADDED = ['feature_charters', 'plan_revisions', 'repair_footprints', 'budget_envelopes'] as const
const GEN23_ADDED = ['srbn_step_records', 'correction_attempts'] as const

export type PersptTable =
  | (typeof GEN4_TABLES)[number]
  | (typeof GEN17_ADDED)[number]
  | (typeof GEN21_ADDED)[number]
  | (typeof GEN23_ADDED)[number]

/** Tables present after `init_schema` of each generation, in creation order. */
export const TABLES_BY_GENERATION: Readonly<Record<SchemaGeneration, readonly PersptTable[]>> = {
  4: [...GEN4_TABLES],
  17: [...GEN4_TABLES, ...GEN17_ADDED],
  21: [...GEN4_TABLES, ...GEN17_ADDED, ...GEN21_ADDED],
  23: [...GEN4_TABLES, ...GEN17_ADDED, ...GEN21_ADDED, ...GEN23_ADDED]
}

/** Every table Perspt has ever created. */
export const ALL_PERSPT_TABLES: readonly PersptTable[] = TABLES_BY_GENERATION[23]

/** The seven nullable columns v0.5.5 appended to `node_states` by ALTER (errors ignored by Perspt). */
export const NODE_STATES_EXTENDED_COLUMNS = [
  ['node_class', 'VARCHAR'],
  ['owner_plugin', 'VARCHAR'],
  ['goal', 'TEXT'],
  ['parent_id', 'VARCHAR'],
  ['children', 'TEXT'],
  ['last_error_type', 'VARCHAR'],
  ['committed_at', 'VARCHAR']
] as const

const FK = 'FOREIGN KEY (session_id) REFERENCES sessions(session_id)'
const NOW = 'DEFAULT CURRENT_TIMESTAMP'
const id = (table: string): string => `id INTEGER PRIMARY KEY DEFAULT nextval('seq_${table}_id')`

/** Column lists (without the CREATE wrapper), exactly as §1.2 defines them. */
const TABLE_BODIES: Record<PersptTable, string[]> = {
  sessions: [
    'session_id VARCHAR PRIMARY KEY',
    'task TEXT NOT NULL',
    'working_dir TEXT NOT NULL',
    'merkle_root BLOB',
    'detected_toolchain VARCHAR',
    `created_at TIMESTAMP ${NOW}`,
    `updated_at TIMESTAMP ${NOW}`,
    "status VARCHAR DEFAULT 'active'"
  ],
  node_states: [
    id('node_states'),
    'node_id VARCHAR NOT NULL',
    'session_id VARCHAR NOT NULL',
    'state VARCHAR NOT NULL',
    'v_total REAL DEFAULT 0.0',
    'merkle_hash BLOB',
    'attempt_count INTEGER DEFAULT 0',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  energy_history: [
    id('energy_history'),
    'node_id VARCHAR NOT NULL',
    'session_id VARCHAR NOT NULL',
    `timestamp TIMESTAMP ${NOW}`,
    'v_syn REAL DEFAULT 0.0',
    'v_str REAL DEFAULT 0.0',
    'v_log REAL DEFAULT 0.0',
    'v_boot REAL DEFAULT 0.0',
    'v_sheaf REAL DEFAULT 0.0',
    'v_total REAL DEFAULT 0.0',
    FK
  ],
  llm_requests: [
    id('llm_requests'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR',
    'model VARCHAR NOT NULL',
    'prompt TEXT NOT NULL',
    'response TEXT NOT NULL',
    'tokens_in INTEGER DEFAULT 0',
    'tokens_out INTEGER DEFAULT 0',
    'latency_ms INTEGER DEFAULT 0',
    `timestamp TIMESTAMP ${NOW}`,
    FK
  ],
  structural_digests: [
    id('structural_digests'),
    'digest_id VARCHAR NOT NULL',
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'source_path VARCHAR NOT NULL',
    'artifact_kind VARCHAR NOT NULL',
    'hash BLOB NOT NULL',
    'version INTEGER DEFAULT 1',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  context_provenance: [
    id('context_provenance'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'context_package_id VARCHAR NOT NULL',
    'structural_hashes TEXT',
    'summary_hashes TEXT',
    'dependency_hashes TEXT',
    'included_file_count INTEGER DEFAULT 0',
    'total_bytes INTEGER DEFAULT 0',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  escalation_reports: [
    id('escalation_reports'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'category VARCHAR NOT NULL',
    'action VARCHAR NOT NULL',
    'energy_snapshot TEXT',
    'stage_outcomes TEXT',
    'evidence TEXT',
    'affected_node_ids TEXT',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  rewrite_records: [
    id('rewrite_records'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'action VARCHAR NOT NULL',
    'category VARCHAR NOT NULL',
    'requeued_nodes TEXT',
    'inserted_nodes TEXT',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  sheaf_validations: [
    id('sheaf_validations'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'validator_class VARCHAR NOT NULL',
    'plugin_source VARCHAR',
    'passed BOOLEAN NOT NULL',
    'evidence_summary TEXT',
    'affected_files TEXT',
    'v_sheaf_contribution REAL DEFAULT 0.0',
    'requeue_targets TEXT',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  provisional_branches: [
    id('provisional_branches'),
    'branch_id VARCHAR NOT NULL',
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'parent_node_id VARCHAR NOT NULL',
    "state VARCHAR NOT NULL DEFAULT 'active'",
    'parent_seal_hash BLOB',
    'sandbox_dir VARCHAR',
    `created_at TIMESTAMP ${NOW}`,
    `updated_at TIMESTAMP ${NOW}`,
    FK
  ],
  // No session_id and no foreign key: scope it through provisional_branches.branch_id.
  branch_lineage: [
    id('branch_lineage'),
    'lineage_id VARCHAR NOT NULL',
    'parent_branch_id VARCHAR NOT NULL',
    'child_branch_id VARCHAR NOT NULL',
    'depends_on_seal BOOLEAN NOT NULL DEFAULT true',
    `created_at TIMESTAMP ${NOW}`
  ],
  interface_seals: [
    id('interface_seals'),
    'seal_id VARCHAR NOT NULL',
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'sealed_path VARCHAR NOT NULL',
    'artifact_kind VARCHAR NOT NULL',
    'seal_hash BLOB NOT NULL',
    'version INTEGER DEFAULT 1',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  branch_flushes: [
    id('branch_flushes'),
    'flush_id VARCHAR NOT NULL',
    'session_id VARCHAR NOT NULL',
    'parent_node_id VARCHAR NOT NULL',
    'flushed_branch_ids TEXT NOT NULL',
    'requeue_node_ids TEXT NOT NULL',
    'reason TEXT NOT NULL',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  task_graph_edges: [
    id('task_graph_edges'),
    'session_id VARCHAR NOT NULL',
    'parent_node_id VARCHAR NOT NULL',
    'child_node_id VARCHAR NOT NULL',
    "edge_type VARCHAR NOT NULL DEFAULT 'dependency'",
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  review_outcomes: [
    id('review_outcomes'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'outcome VARCHAR NOT NULL',
    'reviewer_note TEXT',
    'energy_at_review DOUBLE',
    'degraded BOOLEAN',
    'escalation_category VARCHAR',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  verification_results: [
    id('verification_results'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'result_json TEXT NOT NULL',
    'syntax_ok BOOLEAN NOT NULL DEFAULT false',
    'build_ok BOOLEAN NOT NULL DEFAULT false',
    'tests_ok BOOLEAN NOT NULL DEFAULT false',
    'lint_ok BOOLEAN NOT NULL DEFAULT false',
    'diagnostics_count INTEGER DEFAULT 0',
    'tests_passed INTEGER DEFAULT 0',
    'tests_failed INTEGER DEFAULT 0',
    'degraded BOOLEAN NOT NULL DEFAULT false',
    'degraded_reason VARCHAR',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  artifact_bundles: [
    id('artifact_bundles'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'bundle_json TEXT NOT NULL',
    'artifact_count INTEGER DEFAULT 0',
    'command_count INTEGER DEFAULT 0',
    'touched_files TEXT',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  feature_charters: [
    'charter_id VARCHAR PRIMARY KEY',
    'session_id VARCHAR NOT NULL',
    'scope_description TEXT NOT NULL',
    'max_modules INTEGER',
    'max_files INTEGER',
    'max_revisions INTEGER',
    'language_constraint VARCHAR',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  plan_revisions: [
    'revision_id VARCHAR PRIMARY KEY',
    'session_id VARCHAR NOT NULL',
    'sequence INTEGER NOT NULL',
    'plan_json TEXT NOT NULL',
    'reason VARCHAR NOT NULL',
    'supersedes VARCHAR',
    "status VARCHAR NOT NULL DEFAULT 'active'",
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  repair_footprints: [
    id('repair_footprints'),
    'footprint_id VARCHAR NOT NULL UNIQUE',
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'revision_id VARCHAR NOT NULL',
    'attempt INTEGER NOT NULL',
    'affected_files TEXT NOT NULL',
    'bundle_json TEXT NOT NULL',
    'diagnosis TEXT NOT NULL',
    'resolved BOOLEAN NOT NULL DEFAULT false',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  budget_envelopes: [
    'session_id VARCHAR PRIMARY KEY',
    'max_steps INTEGER',
    'steps_used INTEGER NOT NULL DEFAULT 0',
    'max_revisions INTEGER',
    'revisions_used INTEGER NOT NULL DEFAULT 0',
    'max_cost_usd DOUBLE',
    'cost_used_usd DOUBLE NOT NULL DEFAULT 0.0',
    `updated_at TIMESTAMP ${NOW}`,
    FK
  ],
  srbn_step_records: [
    id('srbn_step_records'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'step VARCHAR NOT NULL',
    'outcome VARCHAR NOT NULL',
    'energy_json TEXT',
    'parse_state VARCHAR',
    'retry_classification VARCHAR',
    'attempt_count INTEGER DEFAULT 0',
    'duration_ms INTEGER DEFAULT 0',
    `created_at TIMESTAMP ${NOW}`,
    FK
  ],
  correction_attempts: [
    id('correction_attempts'),
    'session_id VARCHAR NOT NULL',
    'node_id VARCHAR NOT NULL',
    'attempt INTEGER NOT NULL',
    'parse_state VARCHAR NOT NULL',
    'retry_classification VARCHAR',
    'response_fingerprint VARCHAR NOT NULL',
    'response_length INTEGER NOT NULL',
    'energy_json TEXT',
    'accepted BOOLEAN NOT NULL',
    'rejection_reason TEXT',
    // Epoch seconds, no default: the only integer timestamp in the schema.
    'created_at BIGINT NOT NULL',
    FK
  ]
}

/** Tables without an `id` column (and so without a sequence). */
const NO_ID_TABLES: ReadonlySet<PersptTable> = new Set<PersptTable>([
  'sessions',
  'feature_charters',
  'plan_revisions',
  'budget_envelopes'
])

/** The 31 explicit indexes of §1.3, as [name, table, columns]. */
const INDEXES: readonly (readonly [string, PersptTable, string])[] = [
  ['idx_node_states_session', 'node_states', 'session_id'],
  ['idx_energy_history_session', 'energy_history', 'session_id'],
  ['idx_llm_requests_session', 'llm_requests', 'session_id'],
  ['idx_structural_digests_session', 'structural_digests', 'session_id'],
  ['idx_context_provenance_session', 'context_provenance', 'session_id'],
  ['idx_escalation_reports_session', 'escalation_reports', 'session_id'],
  ['idx_rewrite_records_session', 'rewrite_records', 'session_id'],
  ['idx_sheaf_validations_session', 'sheaf_validations', 'session_id'],
  ['idx_provisional_branches_session', 'provisional_branches', 'session_id'],
  ['idx_provisional_branches_parent', 'provisional_branches', 'parent_node_id'],
  ['idx_branch_lineage_parent', 'branch_lineage', 'parent_branch_id'],
  ['idx_interface_seals_session', 'interface_seals', 'session_id'],
  ['idx_interface_seals_node', 'interface_seals', 'node_id'],
  ['idx_branch_flushes_session', 'branch_flushes', 'session_id'],
  ['idx_task_graph_edges_session', 'task_graph_edges', 'session_id'],
  ['idx_task_graph_edges_parent', 'task_graph_edges', 'parent_node_id'],
  ['idx_review_outcomes_session', 'review_outcomes', 'session_id'],
  ['idx_review_outcomes_node', 'review_outcomes', 'node_id'],
  ['idx_verification_results_session', 'verification_results', 'session_id'],
  ['idx_verification_results_node', 'verification_results', 'node_id'],
  ['idx_artifact_bundles_session', 'artifact_bundles', 'session_id'],
  ['idx_artifact_bundles_node', 'artifact_bundles', 'node_id'],
  ['idx_feature_charters_session', 'feature_charters', 'session_id'],
  ['idx_plan_revisions_session', 'plan_revisions', 'session_id'],
  ['idx_plan_revisions_status', 'plan_revisions', 'status'],
  ['idx_repair_footprints_session', 'repair_footprints', 'session_id'],
  ['idx_repair_footprints_node', 'repair_footprints', 'node_id'],
  ['idx_srbn_step_records_session', 'srbn_step_records', 'session_id'],
  ['idx_srbn_step_records_node', 'srbn_step_records', 'session_id, node_id'],
  ['idx_correction_attempts_session', 'correction_attempts', 'session_id'],
  ['idx_correction_attempts_node', 'correction_attempts', 'session_id, node_id']
]

/** Sequence names (`seq_<table>_id`) a generation creates. */
export function sequenceNames(gen: SchemaGeneration): string[] {
  return TABLES_BY_GENERATION[gen].filter((t) => !NO_ID_TABLES.has(t)).map((t) => `seq_${t}_id`)
}

/** Index names a generation creates. */
export function indexNames(gen: SchemaGeneration): string[] {
  const tables = new Set<PersptTable>(TABLES_BY_GENERATION[gen])
  return INDEXES.filter(([, table]) => tables.has(table)).map(([name]) => name)
}

/**
 * The statements `init_schema` of a generation runs, in order: sequences, tables, indexes, then the
 * node_states ALTERs (v0.5.5+ by default). All idempotent, like Perspt's own migration.
 */
export function schemaStatements(gen: SchemaGeneration, opts: { nodeStatesExtended?: boolean } = {}): string[] {
  const tables = TABLES_BY_GENERATION[gen]
  const extended = opts.nodeStatesExtended ?? gen >= 17
  const out: string[] = []
  for (const seq of sequenceNames(gen)) out.push(`CREATE SEQUENCE IF NOT EXISTS ${seq} START 1`)
  for (const table of tables) {
    out.push(`CREATE TABLE IF NOT EXISTS ${table} (\n  ${TABLE_BODIES[table].join(',\n  ')}\n)`)
  }
  const tableSet = new Set<PersptTable>(tables)
  for (const [name, table, columns] of INDEXES) {
    if (tableSet.has(table)) out.push(`CREATE INDEX IF NOT EXISTS ${name} ON ${table}(${columns})`)
  }
  if (extended) {
    for (const [column, type] of NODE_STATES_EXTENDED_COLUMNS) {
      out.push(`ALTER TABLE node_states ADD COLUMN IF NOT EXISTS ${column} ${type}`)
    }
  }
  return out
}
