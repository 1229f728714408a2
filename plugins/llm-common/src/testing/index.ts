// Test support for provider plugins: a scripted HTTP server that speaks whatever protocol a test
// writes, stream helpers, and Chat Completions payloads for the OpenAI-compatible providers.
export { completionChunk, completionJson, DONE, textStream, toolCallStream, usageChunk } from './chat-completions.js';
export { scriptedProviderSuite, ssePartText, startScriptedServer } from './server.js';
export { collectChunks, FAST_TEST_TIMINGS, placeOrderTool, rejectionOf, streamToEnd } from './streams.js';

export type { ScriptedToolCall, ScriptedUsage } from './chat-completions.js';
export type {
  HangReply,
  JsonReply,
  RecordedRequest,
  ScriptedProviderSuite,
  ScriptedReply,
  ScriptedServer,
  SsePart,
  SseReply,
  TextReply,
} from './server.js';
export type { CollectedStream, FailureSeen } from './streams.js';
