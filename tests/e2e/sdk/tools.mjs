// Tool calling through the platform with the official SDKs, as an app would use them: the model is asked
// for the weather, calls the tool, gets its result back, and answers. Run by the e2e gateway suite
// (tests/e2e/tests/gateway/tools.rs), which reads the JSON this prints:
//   node tools.mjs <scenario> <base-url> <api-key> <model> <prompt>
// and prints {"ok": true, ...facts} or {"ok": false, "error": "..."}. Scenarios: openai, openai-stream,
// anthropic, anthropic-stream, ai-sdk-openai-chat, ai-sdk-anthropic.
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { generateText, streamText, jsonSchema, tool } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";

const [scenario, base, apiKey, model, prompt] = process.argv.slice(2);

const schema = {
  type: "object",
  properties: { city: { type: "string", description: "City name" } },
  required: ["city"],
};

async function openaiChat(stream) {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const tools = [{ type: "function", function: { name: "get_weather", description: "Current weather", parameters: schema } }];
  const messages = [{ role: "user", content: prompt }];
  let first;
  if (stream) {
    // The SDK's own accumulation of tool_calls deltas (index/id/arguments fragments).
    const runner = client.chat.completions.stream({ model, messages, tools, tool_choice: "auto" });
    first = await runner.finalChatCompletion();
  } else {
    first = await client.chat.completions.create({ model, messages, tools, tool_choice: "auto" });
  }
  const choice = first.choices[0];
  const call = choice.message.tool_calls?.[0];
  if (!call) throw new Error(`no tool call: ${JSON.stringify(first)}`);
  const args = JSON.parse(call.function.arguments);
  messages.push(choice.message);
  messages.push({ role: "tool", tool_call_id: call.id, content: "18 degrees and sunny" });
  const second = await client.chat.completions.create({ model, messages, tools });
  return {
    finish_reason: choice.finish_reason,
    tool: call.function.name,
    call_id: call.id,
    args,
    usage: first.usage,
    answer_finish: second.choices[0].finish_reason,
    answer: second.choices[0].message.content,
  };
}

async function anthropicMessages(stream) {
  const client = new Anthropic({ baseURL: base, apiKey, maxRetries: 0 });
  const tools = [{ name: "get_weather", description: "Current weather", input_schema: schema }];
  const messages = [{ role: "user", content: prompt }];
  const params = { model, max_tokens: 256, messages, tools, tool_choice: { type: "auto" } };
  const first = stream
    ? await client.messages.stream(params).finalMessage()
    : await client.messages.create(params);
  const use = first.content.find((b) => b.type === "tool_use");
  if (!use) throw new Error(`no tool_use block: ${JSON.stringify(first)}`);
  messages.push({ role: "assistant", content: first.content });
  messages.push({
    role: "user",
    content: [{ type: "tool_result", tool_use_id: use.id, content: "18 degrees and sunny" }],
  });
  const second = await client.messages.create({ model, max_tokens: 256, messages, tools });
  return {
    stop_reason: first.stop_reason,
    tool: use.name,
    call_id: use.id,
    args: use.input,
    usage: first.usage,
    answer_stop: second.stop_reason,
    answer: second.content.filter((b) => b.type === "text").map((b) => b.text).join(""),
  };
}

async function aiSdk(provider, stream) {
  const tools = { get_weather: tool({ description: "Current weather", inputSchema: jsonSchema(schema) }) };
  const result = stream
    ? streamText({ model: provider, prompt, tools })
    : await generateText({ model: provider, prompt, tools });
  const toolCalls = await result.toolCalls;
  const call = toolCalls[0];
  if (!call) throw new Error(`no tool call (finish: ${await result.finishReason})`);
  const usage = await result.usage;
  return { tool: call.toolName, args: call.input, finish_reason: await result.finishReason, usage };
}

const scenarios = {
  openai: () => openaiChat(false),
  "openai-stream": () => openaiChat(true),
  anthropic: () => anthropicMessages(false),
  "anthropic-stream": () => anthropicMessages(true),
  "ai-sdk-openai-chat": () => aiSdk(createOpenAI({ baseURL: `${base}/v1`, apiKey }).chat(model), false),
  "ai-sdk-openai-chat-stream": () => aiSdk(createOpenAI({ baseURL: `${base}/v1`, apiKey }).chat(model), true),
  "ai-sdk-anthropic": () => aiSdk(createAnthropic({ baseURL: `${base}/v1`, apiKey })(model), false),
  "ai-sdk-anthropic-stream": () => aiSdk(createAnthropic({ baseURL: `${base}/v1`, apiKey })(model), true),
};

try {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  console.log(JSON.stringify({ ok: true, ...(await run()) }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.stack ?? e) }));
}
