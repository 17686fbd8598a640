// Image generation through the platform with the official openai Node SDK and Vercel's AI SDK. Run by
// tests/e2e/tests/gateway/images.rs:
//   node images.mjs <scenario> <base-url> <api-key> <model> <prompt>
// prints {"ok": true, ...facts} or {"ok": false, "error": "..."}. Scenarios: openai (url and b64_json),
// ai-sdk (generateImage, which asks for b64_json).
import OpenAI from "openai";
import { generateImage } from "ai";
import { createOpenAI } from "@ai-sdk/openai";

const [scenario, base, apiKey, model, prompt] = process.argv.slice(2);

async function openai() {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const byUrl = await client.images.generate({ model, prompt, n: 2, size: "1024x1024" });
  const inline = await client.images.generate({ model, prompt, response_format: "b64_json" });
  return { urls: byUrl.data.map((d) => d.url), b64: inline.data.map((d) => d.b64_json), created: byUrl.created };
}

async function aiSdk() {
  const provider = createOpenAI({ baseURL: `${base}/v1`, apiKey });
  const { images } = await generateImage({ model: provider.image(model), prompt, n: 1, size: "1024x1024" });
  return { b64: images.map((i) => i.base64), media: images.map((i) => i.mediaType) };
}

const scenarios = { openai, "ai-sdk": aiSdk };

try {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  console.log(JSON.stringify({ ok: true, ...(await run()) }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.stack ?? e) }));
}
