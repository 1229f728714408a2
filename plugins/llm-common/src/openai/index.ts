// `@kokex/llm-common/openai`: the OpenAI-compatible chat model that `openai` and `dashscope` (and
// any provider on the Chat Completions protocol) build on. A subpath of its own so that providers
// on other protocols (`anthropic`) never load @langchain/openai. Values first, then types.
export { createOpenAiCompatibleModel, KokexChatOpenAI, NO_KEY } from './model.js';
export { openAiStreamProtocol } from './protocol.js';

export type { OpenAiCompatibleOptions } from './model.js';
