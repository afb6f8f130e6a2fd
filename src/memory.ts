/**
 * `agents-sdk/memory`: the whole of agent memory. What agents keep between runs (skills, cached
 * analyses, remembered outputs) as JSON values under string keys, with TTLs and ranked search;
 * conversation history and its summaries; the patterns built on them. The root export holds
 * `AgentMemory`, `InMemoryBackend`, `JsonMemoryBackend` and `openMemoryBackend` too; the SQLite
 * store is `agents-sdk/sqlite`'s `SqliteMemoryBackend`.
 *
 * @packageDocumentation
 */
export {
  AgentMemory,
  AGENT_MEMORY_SCHEMA_VERSION,
  DEFAULT_MAX_HISTORY_TURNS,
  type AgentMemoryOptions,
  type AgentMemoryState,
  type AgentMemoryStore,
  type ConversationContextOptions,
  type MemoryStoreOptions,
  type ShortTermEntry,
} from './memory/agent-memory.js';
export {
  formatConversation,
  formatMessage,
  transcriptPrompt,
  type ConversationMessage,
  type MessageRole,
} from './memory/conversation.js';
export {
  summarizeHistory,
  summarizationPrompt,
  SUMMARY_CACHE_PREFIX,
  type HistorySummary,
  type SummarizeHistoryOptions,
} from './memory/summarize-history.js';
export type {
  MemoryBackend,
  JsonValue,
  StoreOptions,
  MemoryEntry,
  ListOptions,
  SearchOptions,
  SearchResult,
} from './memory/memory-backend.js';
export { InMemoryBackend, type InMemoryBackendOptions } from './memory/in-memory-backend.js';
export { JsonMemoryBackend, MEMORY_SCHEMA_VERSION, type JsonMemoryBackendOptions } from './memory/json-memory-backend.js';
export {
  openMemoryBackend,
  MEMORY_SQLITE_FILE,
  type MemoryBackendKind,
  type OpenMemoryBackendOptions,
} from './memory/open-memory-backend.js';
export { MAX_MEMORY_KEY_LENGTH } from './memory/memory-input.js';
export { MemoryPatterns, SKILL_PREFIX, ANALYSIS_CACHE_PREFIX, DEFAULT_ANALYSIS_TTL_SECONDS } from './memory/memory-patterns.js';
export type { EmbedFunction, VectorSearchOptions } from './memory/vector-rank.js';
export { hashFiles } from './memory/file-hash.js';
export { DEFAULT_MAX_HISTORY_CHARS } from './agent-session.js';
