// Test support for provider plugins: a scripted HTTP server that speaks whatever protocol a test
// writes, and helpers that drain a model's stream.
export { scriptedProviderSuite, ssePartText, startScriptedServer } from './server.js';
export { collectChunks, FAST_TEST_TIMINGS, placeOrderTool, rejectionOf, streamToEnd } from './streams.js';

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
