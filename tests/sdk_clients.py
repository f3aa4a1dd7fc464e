"""The official Python SDKs talk to sluice as their apps would: `openai` (chat completions, the
Responses API, legacy completions, models) and `anthropic` (Messages), plain and streamed, with
tools. PHI is served by the local model and never reaches the mock cloud upstream (a loopback
server here that records every body); cleared text is served by the mock; errors arrive as
each SDK's typed exceptions; the gateway's own stdout/stderr never contain a canary value.

The official Node SDKs (tests/node) run against the same gateway and mock when
SLUICE_NODE_MODULES names their installed node_modules.

Run by `make test` after the Rust tests: python3 tests/sdk_clients.py path/to/sluice
"""

import http.server
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import anthropic
import openai

REPO = pathlib.Path(__file__).resolve().parent.parent
CANARIES = ["Margaret Thistlewood", "512-48-7391", "00482913", "type 2 diabetes"]
PHI_PROMPT = (
    "Patient Margaret Thistlewood, SSN 512-48-7391, MRN 00482913, "
    "was diagnosed with type 2 diabetes. Draft a follow-up letter."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MOCK_ANSWER = "Unit tests catch regressions early."
CLEARED_PROMPT = "Explain why unit tests are useful in three sentences."
# Personal data without health data: redacted under gdpr (placeholders to the cloud, restored).
PERSONAL_PROMPT = "Please write to Zoë Ångström at zoe.angstrom@example.com about the offsite on Friday."
PERSONAL_VALUES = ["Zoë", "Ångström", "zoe.angstrom@example.com"]


class MockCloud(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible upstream on 127.0.0.1 that records every body. It calls the first
    declared tool when the conversation does not end with a tool result; else it answers text."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), MockHandler)
        self.bodies = []
        threading.Thread(target=self.serve_forever, daemon=True).start()


class MockHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def json(self, answer):
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.bodies.append(body.decode())
        request = json.loads(body)
        if self.path.endswith("/embeddings"):
            vectors = [{"object": "embedding", "index": i, "embedding": [0.6, 0.8, 0.0]} for i in range(len(request["input"]))]
            return self.json({"object": "list", "data": vectors, "model": request["model"],
                              "usage": {"prompt_tokens": 4, "total_tokens": 4}})
        if request["model"] == "echo":
            # Echo the last user message, placeholders included: sluice must restore them.
            last = request["messages"][-1]["content"]
            text = last if isinstance(last, str) else "".join(p.get("text", "") for p in last)
            return self.answer_text(request, text)
        call = None
        if request.get("tools") and request["messages"][-1]["role"] != "tool":
            call = {"id": "call_mock1", "type": "function",
                    "function": {"name": request["tools"][0]["function"]["name"], "arguments": '{"city": "Paris"}'}}
        finish = "tool_calls" if call else "stop"
        usage = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
        if not request.get("stream"):
            message = {"role": "assistant", "content": None if call else MOCK_ANSWER}
            if call:
                message["tool_calls"] = [call]
            return self.json({"id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": request["model"],
                              "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage})
        self.stream_deltas(request, call, finish, usage)

    def answer_text(self, request, text):
        usage = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
        if not request.get("stream"):
            return self.json({"id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": request["model"],
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                              "usage": usage})
        # Cut every 3 characters, so placeholders arrive split across deltas.
        self.stream_deltas(request, None, "stop", usage, [text[i:i + 3] for i in range(0, len(text), 3)])

    def stream_deltas(self, request, call, finish, usage, pieces=None):
        deltas = []
        if pieces is not None:
            deltas += [{"content": piece} for piece in pieces]
        elif call:
            deltas.append({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                           "function": {"name": call["function"]["name"], "arguments": ""}}]})
            deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                       for piece in ('{"city": ', '"Paris"}')]
        else:
            deltas += [{"content": word + " "} for word in MOCK_ANSWER.split(" ")]
            deltas[-1]["content"] = deltas[-1]["content"].rstrip()
        chunks = [{"index": 0, "delta": d, "finish_reason": None} for d in deltas]
        chunks.append({"index": 0, "delta": {}, "finish_reason": finish})
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": request["model"]}
        for choice in chunks:
            self.wfile.write(f"data: {json.dumps(dict(base, choices=[choice]))}\n\n".encode())
            self.wfile.flush()
        if (request.get("stream_options") or {}).get("include_usage"):
            self.wfile.write(f"data: {json.dumps(dict(base, choices=[], usage=usage))}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


def write_config(tmp: pathlib.Path, port: int, cloud_port: int) -> pathlib.Path:
    config = tmp / "sluice.toml"
    config.write_text(f"""
[server]
listen = "127.0.0.1:{port}"

[detect]
rules = "{REPO}/rules"
ner_model_dir = "{REPO}/models/rampart"
onnxruntime = "{REPO}/models/onnxruntime/libonnxruntime.so.1.31.1"

[policies]
dir = "{REPO}/policies"
watch = false

[audit]
dir = "{tmp}/audit"
signing_key = "{tmp}/keys/signing.pem"
fingerprint_key = "{tmp}/keys/fingerprint.key"

[[clients]]
name = "python"
key_env = "SLUICE_API_KEY"

[[clients]]
name = "python-gdpr"
key_env = "SLUICE_GDPR_KEY"
policies = ["gdpr"]

[backends.cloud]
kind = "openai"
base_url = "http://127.0.0.1:{cloud_port}/v1"
api_key_env = "SLUICE_TEST_CLOUD_KEY"
max_retries = 0

[backends.local]
kind = "llama"
model = "{REPO}/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
slots = 1
ctx = 1024

[routing]
local = "local"
cloud = "cloud"

[routing.models."gpt-4o-mini"]

[routing.models."echo"]
""")
    return config


def wait_ready(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"sluice exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("sluice did not become ready within 60 s")


def main() -> int:
    sluice = sys.argv[1]
    passed = failed = 0
    cloud = MockCloud()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = pathlib.Path(tmp_name)
        subprocess.run(
            [sluice, "audit", "keygen", "--signing-key", f"{tmp}/keys/signing.pem",
             "--public-key", f"{tmp}/keys/signing.pub.pem", "--fingerprint-key", f"{tmp}/keys/fingerprint.key"],
            check=True, capture_output=True,
        )
        port = free_port()
        env = dict(os.environ, SLUICE_API_KEY="sk-python-test", SLUICE_GDPR_KEY="sk-python-gdpr",
                   SLUICE_TEST_CLOUD_KEY="sk-upstream",
                   RUST_LOG="debug,llama-cpp-2=info")
        log_path = tmp / "gateway.log"
        with open(log_path, "wb") as log:
            config = write_config(tmp, port, cloud.server_address[1])
            proc = subprocess.Popen([sluice, "serve", "--config", str(config)],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
            try:
                wait_ready(port, proc)
                base = f"http://127.0.0.1:{port}"
                client = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-python-test",
                                       max_retries=0, timeout=120)
                claude = anthropic.Anthropic(base_url=base, api_key="sk-python-test",
                                             max_retries=0, timeout=120)

                def check(name, fn):
                    nonlocal passed, failed
                    sent_before = len(cloud.bodies)
                    try:
                        fn(sent_before)
                        passed += 1
                        print(f"ok   {name}")
                    except Exception as e:  # report and go on: every check is counted
                        failed += 1
                        print(f"FAIL {name}: {e!r}")

                def served_by_cloud(sent_before, count=1):
                    sent = cloud.bodies[sent_before:]
                    assert len(sent) == count, f"the mock cloud received {len(sent)} requests"
                    return [json.loads(b) for b in sent]

                def served_locally(sent_before):
                    assert len(cloud.bodies) == sent_before, "the mock cloud received a request"

                # --- openai: chat completions -------------------------------------------------
                def non_streaming(sent):
                    raw = client.chat.completions.with_raw_response.create(
                        model="gpt-4o-mini", max_tokens=24,
                        messages=[{"role": "user", "content": PHI_PROMPT}])
                    assert raw.headers["x-sluice-action"] == "local", raw.headers
                    completion = raw.parse()
                    assert completion.choices[0].message.content, completion
                    # The name asked for, not the GGUF file's; the backend is in a header.
                    assert completion.model == "gpt-4o-mini", completion.model
                    assert raw.headers["x-sluice-backend"] == "local", raw.headers
                    assert completion.usage.completion_tokens > 0
                    served_locally(sent)

                def streaming(sent):
                    stream = client.chat.completions.create(
                        model="gpt-4o-mini", max_tokens=24, stream=True,
                        stream_options={"include_usage": True},
                        messages=[{"role": "user", "content": PHI_PROMPT}])
                    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
                    assert len(pieces) > 1, pieces
                    served_locally(sent)

                def cleared_chat(sent):
                    completion = client.chat.completions.create(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": CLEARED_PROMPT}])
                    assert completion.choices[0].message.content == MOCK_ANSWER
                    served_by_cloud(sent)

                def blocked_secret(sent):
                    try:
                        client.chat.completions.create(
                            model="gpt-4o-mini", max_tokens=8,
                            messages=[{"role": "user", "content": "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}])
                    except openai.PermissionDeniedError as e:
                        assert "blocked" in str(e)
                        served_locally(sent)
                        return
                    raise AssertionError("a secret was not blocked")

                def wrong_key(sent):
                    bad = openai.OpenAI(base_url=f"{base}/v1", api_key="nope", max_retries=0)
                    try:
                        bad.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
                    except openai.AuthenticationError:
                        return
                    raise AssertionError("a wrong key was accepted")

                def retrieve_model(sent):
                    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
                    try:
                        client.models.retrieve("no-such-model")
                    except openai.NotFoundError:
                        return
                    raise AssertionError("an unknown model was found")

                # --- openai: the Responses API and legacy completions ---------------------------
                def responses_local(sent):
                    raw = client.responses.with_raw_response.create(
                        model="gpt-4o-mini", max_output_tokens=24, instructions="You write letters.",
                        input=[{"role": "user", "content": [{"type": "input_text", "text": PHI_PROMPT}]}])
                    assert raw.headers["x-sluice-action"] == "local", raw.headers
                    response = raw.parse()
                    assert response.output_text, response
                    assert response.model == "gpt-4o-mini"
                    assert response.usage.output_tokens > 0
                    served_locally(sent)

                def responses_stream_cleared(sent):
                    with client.responses.stream(model="gpt-4o-mini", input=CLEARED_PROMPT) as stream:
                        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
                        final = stream.get_final_response()
                    assert "".join(deltas) == MOCK_ANSWER and len(deltas) > 1, deltas
                    assert final.output_text == MOCK_ANSWER
                    assert final.usage.total_tokens == 15
                    served_by_cloud(sent)

                def responses_tools(sent):
                    tools = [{"type": "function", "name": "get_weather", "description": "Weather for a city",
                              "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                             "required": ["city"]}}]
                    first = client.responses.create(model="gpt-4o-mini", input=CLEARED_PROMPT, tools=tools)
                    call = next(item for item in first.output if item.type == "function_call")
                    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
                    second = client.responses.create(
                        model="gpt-4o-mini", tools=tools,
                        input=[{"role": "user", "content": CLEARED_PROMPT},
                               {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
                               {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
                    assert second.output_text == MOCK_ANSWER
                    sent_second = served_by_cloud(sent, 2)[1]
                    assert sent_second["messages"][-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny"}

                def responses_stateless(sent):
                    try:
                        client.responses.create(model="gpt-4o-mini", input="hi", previous_response_id="resp_1")
                    except openai.BadRequestError as e:
                        assert "conversation state" in str(e), e
                        return
                    raise AssertionError("previous_response_id was accepted")

                def legacy_completions(sent):
                    completion = client.completions.create(model="gpt-4o-mini", prompt=CLEARED_PROMPT, max_tokens=30)
                    assert completion.choices[0].text == MOCK_ANSWER
                    stream = client.completions.create(model="gpt-4o-mini", prompt=PHI_PROMPT, max_tokens=16, stream=True)
                    assert "".join(c.choices[0].text for c in stream if c.choices)
                    served_by_cloud(sent)

                def embeddings(sent):
                    cleared = client.embeddings.create(model="gpt-4o-mini", input=[CLEARED_PROMPT, "The roadmap review is on Friday."])
                    assert [d.embedding for d in cleared.data] == [[0.6, 0.8, 0.0]] * 2
                    served_by_cloud(sent)
                    raw = client.embeddings.with_raw_response.create(model="gpt-4o-mini", input=[CLEARED_PROMPT, PHI_PROMPT])
                    assert raw.headers["x-sluice-backend"] == "local", raw.headers
                    local = raw.parse()
                    assert len(local.data) == 2 and len(local.data[1].embedding) >= 64
                    norm = sum(x * x for x in local.data[1].embedding)
                    assert abs(norm - 1.0) < 1e-3, norm
                    served_by_cloud(sent)

                # --- anthropic: Messages --------------------------------------------------------
                def messages_local(sent):
                    raw = claude.messages.with_raw_response.create(
                        model="gpt-4o-mini", max_tokens=24, system="You write letters.",
                        messages=[{"role": "user", "content": PHI_PROMPT}])
                    assert raw.headers["x-sluice-action"] == "local", raw.headers
                    message = raw.parse()
                    assert message.content[0].type == "text" and message.content[0].text
                    assert message.model == "gpt-4o-mini"
                    assert message.stop_reason in ("end_turn", "max_tokens")
                    assert message.usage.output_tokens > 0
                    served_locally(sent)

                def messages_stream_local(sent):
                    with claude.messages.stream(model="gpt-4o-mini", max_tokens=24,
                                                messages=[{"role": "user", "content": PHI_PROMPT}]) as stream:
                        pieces = list(stream.text_stream)
                        final = stream.get_final_message()
                    assert len(pieces) > 1, pieces
                    assert final.content[0].text == "".join(pieces)
                    served_locally(sent)

                def messages_stream_cleared(sent):
                    with claude.messages.stream(model="gpt-4o-mini", max_tokens=50,
                                                messages=[{"role": "user", "content": CLEARED_PROMPT}]) as stream:
                        final = stream.get_final_message()
                    assert final.content[0].text == MOCK_ANSWER
                    assert final.usage.output_tokens == 6
                    served_by_cloud(sent)

                def messages_tools(sent):
                    tools = [{"name": "get_weather", "description": "Weather for a city",
                              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
                    question = {"role": "user", "content": CLEARED_PROMPT}
                    first = claude.messages.create(model="gpt-4o-mini", max_tokens=50, tools=tools, messages=[question])
                    assert first.stop_reason == "tool_use", first
                    use = next(b for b in first.content if b.type == "tool_use")
                    assert use.name == "get_weather" and use.input == {"city": "Paris"}
                    with claude.messages.stream(model="gpt-4o-mini", max_tokens=50, tools=tools,
                                                messages=[question]) as stream:
                        streamed = stream.get_final_message()
                    assert next(b for b in streamed.content if b.type == "tool_use").input == {"city": "Paris"}
                    second = claude.messages.create(
                        model="gpt-4o-mini", max_tokens=50, tools=tools,
                        messages=[question, {"role": "assistant", "content": first.content},
                                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}])
                    assert second.content[0].text == MOCK_ANSWER
                    assert served_by_cloud(sent, 3)[2]["messages"][-1]["role"] == "tool"

                def redaction_restored(sent):
                    gdpr_openai = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-python-gdpr", max_retries=0, timeout=120)
                    gdpr_claude = anthropic.Anthropic(base_url=base, api_key="sk-python-gdpr", max_retries=0, timeout=120)
                    question = [{"role": "user", "content": PERSONAL_PROMPT}]
                    with gdpr_claude.messages.stream(model="echo", max_tokens=100, messages=question) as stream:
                        assert stream.response.headers["x-sluice-action"] == "redact", stream.response.headers
                        pieces = list(stream.text_stream)
                    assert "".join(pieces) == PERSONAL_PROMPT, pieces
                    with gdpr_openai.responses.stream(model="echo", input=PERSONAL_PROMPT) as stream:
                        final = stream.get_final_response()
                    assert final.output_text == PERSONAL_PROMPT, final.output_text
                    chunks = gdpr_openai.chat.completions.create(model="echo", messages=question, stream=True)
                    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
                    assert text == PERSONAL_PROMPT, text
                    for raw in cloud.bodies[sent:]:
                        leaked = [v for v in PERSONAL_VALUES if v in raw or v in json.dumps(json.loads(raw))]
                        assert not leaked, f"the cloud received {leaked}"
                        assert "<PERSON_" in raw and "<EMAIL_ADDRESS_" in raw, raw
                    served_by_cloud(sent, 3)

                def local_tool_calls(sent):
                    tools = [{"name": "file_letter", "description": "File a letter for a patient",
                              "input_schema": {"type": "object", "properties": {"patient": {"type": "string"},
                                               "urgent": {"type": "boolean"}}, "required": ["patient", "urgent"]}}]
                    message = claude.messages.create(model="gpt-4o-mini", max_tokens=100, tools=tools,
                                                     tool_choice={"type": "any"},
                                                     messages=[{"role": "user", "content": PHI_PROMPT}])
                    use = next(b for b in message.content if b.type == "tool_use")
                    assert message.stop_reason == "tool_use", message
                    assert use.name == "file_letter" and isinstance(use.input["urgent"], bool), use
                    completion = client.chat.completions.create(
                        model="gpt-4o-mini", max_tokens=100, tool_choice="required",
                        tools=[{"type": "function", "function": {"name": t["name"], "parameters": t["input_schema"]}} for t in tools],
                        messages=[{"role": "user", "content": PHI_PROMPT}])
                    call = completion.choices[0].message.tool_calls[0]
                    assert completion.choices[0].finish_reason == "tool_calls"
                    assert set(json.loads(call.function.arguments)) == {"patient", "urgent"}
                    served_locally(sent)

                def messages_errors(sent):
                    bad = anthropic.Anthropic(base_url=base, api_key="nope", max_retries=0)
                    try:
                        bad.messages.create(model="gpt-4o-mini", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
                        raise AssertionError("a wrong key was accepted")
                    except anthropic.AuthenticationError:
                        pass
                    try:
                        claude.messages.create(model="gpt-4o-mini", max_tokens=8, messages=[{"role": "user",
                            "content": "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}])
                        raise AssertionError("a secret was not blocked")
                    except anthropic.PermissionDeniedError as e:
                        assert "AKIAIOSFODNN7EXAMPLE" not in str(e)
                    try:
                        claude.messages.create(model="gpt-4o-mini", max_tokens=8, messages=[{"role": "user", "content": "hi"}],
                                               thinking={"type": "enabled", "budget_tokens": 1024})
                        raise AssertionError("extended thinking was silently accepted")
                    except anthropic.BadRequestError:
                        pass
                    served_locally(sent)

                check("openai models.retrieve finds a served model, NotFoundError otherwise", retrieve_model)
                check("openai chat: PHI served locally", non_streaming)
                check("openai chat: PHI streamed locally in pieces", streaming)
                check("openai chat: cleared text served by the cloud", cleared_chat)
                check("openai chat: 403 PermissionDeniedError for a secret", blocked_secret)
                check("openai chat: 401 AuthenticationError for a wrong key", wrong_key)
                check("openai responses: PHI served locally in the Responses shape", responses_local)
                check("openai responses.stream: cleared text streamed from the cloud", responses_stream_cleared)
                check("openai responses: a function call and its output round-trip", responses_tools)
                check("openai responses: previous_response_id is a BadRequestError", responses_stateless)
                check("openai completions (legacy): cleared from the cloud, PHI streamed locally", legacy_completions)
                check("openai embeddings: a cleared batch from the cloud, a batch with PHI embedded locally", embeddings)
                check("anthropic messages: PHI served locally in the Messages shape", messages_local)
                check("anthropic messages.stream: PHI streamed locally in pieces", messages_stream_local)
                check("anthropic messages.stream: cleared text streamed from the cloud", messages_stream_cleared)
                check("anthropic messages: tool_use and tool_result round-trip, plain and streamed", messages_tools)
                check("redaction: placeholders to the cloud, values restored in anthropic, responses and chat streams", redaction_restored)
                check("local model: tool_choice any/required answers a call matching the schema", local_tool_calls)
                check("anthropic messages: typed exceptions for a wrong key, a secret, extended thinking", messages_errors)
                node_modules = os.environ.get("SLUICE_NODE_MODULES")
                if node_modules:
                    node = subprocess.run(
                        ["node", str(REPO / "tests/node/sdk_clients.js")], capture_output=True, text=True, timeout=600,
                        env=dict(os.environ, NODE_PATH=node_modules, SLUICE_BASE=base, SLUICE_KEY="sk-python-test",
                                 SLUICE_GDPR_KEY="sk-python-gdpr", PERSONAL_PROMPT=PERSONAL_PROMPT,
                                 PHI_PROMPT=PHI_PROMPT, CLEARED_PROMPT=CLEARED_PROMPT, MOCK_ANSWER=MOCK_ANSWER))
                    print(node.stdout, end="")
                    node_passed = node.stdout.count("ok   ")
                    node_failed = node.stdout.count("FAIL ")
                    if node.returncode != 0 and not node_failed:
                        node_failed = 1
                        print(f"FAIL node exited with {node.returncode}: {node.stderr[-2000:]}")
                    passed += node_passed
                    failed += node_failed
            finally:
                proc.terminate()
                proc.wait(timeout=60)
        leaked = [c for c in CANARIES + PERSONAL_VALUES if any(c in b for b in cloud.bodies)]
        if leaked:
            failed += 1
            print(f"FAIL the mock cloud received canary values: {leaked}")
        else:
            passed += 1
            print(f"ok   the mock cloud's {len(cloud.bodies)} requests contain no canary value")
        logs = log_path.read_text(errors="replace")
        leaked = [c for c in CANARIES + PERSONAL_VALUES if c in logs]
        if leaked:
            failed += 1
            print(f"FAIL gateway logs contain canary values: {leaked}")
        else:
            passed += 1
            print(f"ok   gateway logs ({len(logs)} bytes at debug level) contain no canary value")
    cloud.shutdown()
    print(f"sdk-clients: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
