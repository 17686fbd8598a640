// The Responses API through the platform with the official SDKs. Run by
// tests/e2e/tests/gateway/responses.rs:
//   node responses.mjs <scenario> <base-url> <api-key> <model> <prompt>
// prints {"ok": true, ...facts} or {"ok": false, "error": "..."}. Scenarios: text, text-stream, tools,
// tools-stream (openai SDK), ai-sdk, ai-sdk-stream, ai-sdk-tools (Vercel AI SDK's default OpenAI model,
// which speaks the Responses API).
import OpenAI from "openai";
import { generateText, streamText, jsonSchema, tool } from "ai";
import { createOpenAI } from "@ai-sdk/openai";

const [scenario, base, apiKey, model, prompt] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
const schema = {
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
  additionalProperties: false,
};

async function text(stream) {
  const params = { model, input: prompt, instructions: "Answer briefly.", max_output_tokens: 64 };
  if (!stream) {
    const r = await client.responses.create(params);
    return { id: r.id, status: r.status, text: r.output_text, usage: r.usage, output_types: r.output.map((o) => o.type) };
  }
  const events = [];
  const runner = client.responses.stream(params);
  runner.on("event", (e) => events.push(e.type));
  const r = await runner.finalResponse();
  return { id: r.id, status: r.status, text: r.output_text, usage: r.usage, events };
}

async function tools(stream) {
  const fns = [{ type: "function", name: "get_weather", description: "Current weather", parameters: schema, strict: true }];
  const input = [{ role: "user", content: [{ type: "input_text", text: prompt }] }];
  const first = stream
    ? await client.responses.stream({ model, input, tools: fns }).finalResponse()
    : await client.responses.create({ model, input, tools: fns });
  const call = first.output.find((o) => o.type === "function_call");
  if (!call) throw new Error(`no function_call: ${JSON.stringify(first)}`);
  const next = [...input, call, { type: "function_call_output", call_id: call.call_id, output: "18 degrees" }];
  const second = await client.responses.create({ model, input: next, tools: fns });
  return {
    tool: call.name,
    call_id: call.call_id,
    args: JSON.parse(call.arguments),
    answer: second.output_text,
    answer_status: second.status,
  };
}

async function aiSdk(mode) {
  const provider = createOpenAI({ baseURL: `${base}/v1`, apiKey });
  const languageModel = provider(model); // the Responses API model
  if (mode === "tools") {
    const tools = { get_weather: tool({ description: "Current weather", inputSchema: jsonSchema(schema) }) };
    const r = await generateText({ model: languageModel, prompt, tools });
    const call = r.toolCalls[0];
    if (!call) throw new Error(`no tool call (finish: ${r.finishReason})`);
    return { tool: call.toolName, args: call.input, finish_reason: r.finishReason };
  }
  if (mode === "stream") {
    const r = streamText({ model: languageModel, prompt });
    let text = "";
    for await (const part of r.textStream) text += part;
    return { text, usage: await r.usage, finish_reason: await r.finishReason };
  }
  const r = await generateText({ model: languageModel, prompt });
  return { text: r.text, usage: r.usage, finish_reason: r.finishReason };
}

const scenarios = {
  text: () => text(false),
  "text-stream": () => text(true),
  tools: () => tools(false),
  "tools-stream": () => tools(true),
  "ai-sdk": () => aiSdk("text"),
  "ai-sdk-stream": () => aiSdk("stream"),
  "ai-sdk-tools": () => aiSdk("tools"),
};

try {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  console.log(JSON.stringify({ ok: true, ...(await run()) }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.stack ?? e) }));
}
