// The official Node SDKs (openai, @anthropic-ai/sdk; pinned in package-lock.json) against a
// running sluice whose cloud backend is the recording mock of tests/sdk_clients.py, which
// starts both and runs this script: node sdk_clients.js (SLUICE_BASE, SLUICE_KEY, PHI_PROMPT,
// CLEARED_PROMPT, MOCK_ANSWER in the environment). Prints one ok/FAIL line per check.
"use strict";

const OpenAI = require("openai");
const Anthropic = require("@anthropic-ai/sdk");

const base = process.env.SLUICE_BASE;
const key = process.env.SLUICE_KEY;
const PHI = process.env.PHI_PROMPT;
const CLEARED = process.env.CLEARED_PROMPT;
const ANSWER = process.env.MOCK_ANSWER;
const PERSONAL = process.env.PERSONAL_PROMPT;

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0, timeout: 120000 });
const claude = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 120000 });

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function expectError(promise, type) {
  try {
    await promise;
  } catch (e) {
    assert(e instanceof type, `expected ${type.name}, got ${e && e.constructor && e.constructor.name}`);
    return e;
  }
  throw new Error(`expected ${type.name}, got an answer`);
}

const weather = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };

const checks = [
  ["node openai chat: PHI streamed locally in pieces", async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({ model: "gpt-4o-mini", max_tokens: 24, stream: true, messages: [{ role: "user", content: PHI }] })
      .withResponse();
    assert(response.headers.get("x-sluice-backend") === "local", "not served locally");
    const pieces = [];
    for await (const chunk of stream) {
      const text = chunk.choices[0] && chunk.choices[0].delta.content;
      if (text) pieces.push(text);
    }
    assert(pieces.length > 1, `${pieces.length} pieces`);
  }],
  ["node openai responses: cleared text from the cloud, streamed", async () => {
    const stream = openai.responses.stream({ model: "gpt-4o-mini", input: CLEARED });
    const deltas = [];
    stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert(final.output_text === ANSWER, "final text differs");
    assert(deltas.join("") === ANSWER && deltas.length > 1, "deltas differ");
  }],
  ["node openai responses: PHI served locally", async () => {
    const { data, response } = await openai.responses
      .create({ model: "gpt-4o-mini", max_output_tokens: 16, input: PHI })
      .withResponse();
    assert(response.headers.get("x-sluice-action") === "local", "not local");
    assert(data.output_text.length > 0 && data.model === "gpt-4o-mini", "empty or misnamed answer");
  }],
  ["node openai embeddings: PHI embedded locally", async () => {
    const { data, response } = await openai.embeddings
      .create({ model: "gpt-4o-mini", input: [CLEARED, PHI] })
      .withResponse();
    assert(response.headers.get("x-sluice-backend") === "local", "not local");
    assert(data.data.length === 2 && data.data[1].embedding.length >= 64, "no vectors");
  }],
  ["node openai: PermissionDeniedError for a secret", async () => {
    await expectError(openai.chat.completions.create({ model: "gpt-4o-mini", max_tokens: 8,
      messages: [{ role: "user", content: "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" }] }),
    OpenAI.PermissionDeniedError);
  }],
  ["node anthropic messages: PHI served locally", async () => {
    const { data, response } = await claude.messages
      .create({ model: "gpt-4o-mini", max_tokens: 24, messages: [{ role: "user", content: PHI }] })
      .withResponse();
    assert(response.headers.get("x-sluice-action") === "local", "not local");
    assert(data.content[0].type === "text" && data.content[0].text.length > 0, "no text");
    assert(data.model === "gpt-4o-mini", "misnamed answer");
  }],
  ["node anthropic messages.stream: cleared text from the cloud", async () => {
    const stream = claude.messages.stream({ model: "gpt-4o-mini", max_tokens: 50, messages: [{ role: "user", content: CLEARED }] });
    const pieces = [];
    stream.on("text", (t) => pieces.push(t));
    const final = await stream.finalMessage();
    assert(final.content[0].text === ANSWER && pieces.join("") === ANSWER, "text differs");
    assert(final.usage.output_tokens === 6, "usage missing");
  }],
  ["node anthropic messages: tool_use round-trip, streamed", async () => {
    const tools = [{ name: "get_weather", description: "Weather for a city", input_schema: weather }];
    const question = { role: "user", content: CLEARED };
    const first = await claude.messages.stream({ model: "gpt-4o-mini", max_tokens: 50, tools, messages: [question] }).finalMessage();
    const use = first.content.find((b) => b.type === "tool_use");
    assert(first.stop_reason === "tool_use" && use && use.input.city === "Paris", "no tool_use");
    const second = await claude.messages.create({ model: "gpt-4o-mini", max_tokens: 50, tools, messages: [
      question, { role: "assistant", content: first.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny" }] }] });
    assert(second.content[0].text === ANSWER, "no answer after the tool result");
  }],
  ["node anthropic messages.stream: redacted for the cloud, restored across deltas", async () => {
    const gdpr = new Anthropic({ baseURL: base, apiKey: process.env.SLUICE_GDPR_KEY, maxRetries: 0, timeout: 120000 });
    const stream = gdpr.messages.stream({ model: "echo", max_tokens: 100, messages: [{ role: "user", content: PERSONAL }] });
    const pieces = [];
    stream.on("text", (t) => pieces.push(t));
    const final = await stream.finalMessage();
    assert(final.content[0].text === PERSONAL && pieces.join("") === PERSONAL, "not restored");
  }],
  ["node anthropic: AuthenticationError and PermissionDeniedError", async () => {
    const bad = new Anthropic({ baseURL: base, apiKey: "nope", maxRetries: 0 });
    await expectError(bad.messages.create({ model: "gpt-4o-mini", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
      Anthropic.AuthenticationError);
    const e = await expectError(claude.messages.create({ model: "gpt-4o-mini", max_tokens: 8,
      messages: [{ role: "user", content: "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" }] }),
    Anthropic.PermissionDeniedError);
    assert(!String(e.message).includes("AKIAIOSFODNN7EXAMPLE"), "the error quotes the secret");
  }],
];

(async () => {
  let failed = 0;
  for (const [name, run] of checks) {
    try {
      await run();
      console.log(`ok   ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL ${name}: ${e && e.stack ? e.stack.split("\n")[0] : e}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
