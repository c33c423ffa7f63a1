// Streams one chat completion with the official `openai` npm package and prints the result
// as one JSON line: {"text": "...", "chunks": N}. Used by tests/test_server_node.py.
// Usage: node stream_chat.mjs BASE_URL MODEL PROMPT
import OpenAI from "openai";

const [baseURL, model, prompt] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "sk-node-test", maxRetries: 0 });
const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: prompt }],
  max_tokens: 12,
  temperature: 0,
  stream: true,
});
let text = "";
let chunks = 0;
for await (const chunk of stream) {
  chunks += 1;
  text += chunk.choices[0]?.delta?.content ?? "";
}
console.log(JSON.stringify({ text, chunks }));
