// Embeddings through the platform with the official SDKs. Run by tests/e2e/tests/gateway/embeddings.rs:
//   node embeddings.mjs <scenario> <base-url> <api-key> <model> <text>
// prints {"ok": true, ...facts} or {"ok": false, "error": "..."}. Scenarios: openai (the SDK asks for
// base64 by default and decodes it), openai-float, ai-sdk.
import OpenAI from "openai";
import { embed, embedMany } from "ai";
import { createOpenAI } from "@ai-sdk/openai";

const [scenario, base, apiKey, model, text] = process.argv.slice(2);

async function openai(format) {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const params = { model, input: [text, `${text} again`] };
  if (format) params.encoding_format = format;
  const many = await client.embeddings.create(params);
  const one = await client.embeddings.create({ model, input: text, dimensions: 16 });
  return {
    model: many.model,
    lengths: many.data.map((d) => d.embedding.length),
    indexes: many.data.map((d) => d.index),
    first: many.data[0].embedding,
    norm: Math.sqrt(many.data[0].embedding.reduce((s, x) => s + x * x, 0)),
    usage: many.usage,
    single_length: one.data[0].embedding.length,
    single_usage: one.usage,
  };
}

async function aiSdk() {
  const provider = createOpenAI({ baseURL: `${base}/v1`, apiKey });
  const embeddingModel = provider.embedding(model);
  const one = await embed({ model: embeddingModel, value: text });
  const many = await embedMany({ model: embeddingModel, values: [text, `${text} again`] });
  return {
    single_length: one.embedding.length,
    lengths: many.embeddings.map((e) => e.length),
    first: many.embeddings[0],
    tokens: many.usage?.tokens,
  };
}

const scenarios = { openai: () => openai(undefined), "openai-float": () => openai("float"), "ai-sdk": aiSdk };

try {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  console.log(JSON.stringify({ ok: true, ...(await run()) }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.stack ?? e) }));
}
