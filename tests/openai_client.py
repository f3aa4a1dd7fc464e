"""The official `openai` Python package talks to sluice (non-streaming and streaming), and the
gateway's own stdout/stderr of the whole run never contain the canary PHI it was sent.

Run by `make test` after the Rust tests: python3 tests/openai_client.py path/to/sluice
"""

import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

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


def write_config(tmp: pathlib.Path, port: int) -> pathlib.Path:
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

[backends.local]
kind = "llama"
model = "{REPO}/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
slots = 1
ctx = 1024

[routing]
local = "local"

[routing.models."gpt-4o-mini"]
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
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = pathlib.Path(tmp_name)
        subprocess.run(
            [sluice, "audit", "keygen", "--signing-key", f"{tmp}/keys/signing.pem",
             "--public-key", f"{tmp}/keys/signing.pub.pem", "--fingerprint-key", f"{tmp}/keys/fingerprint.key"],
            check=True, capture_output=True,
        )
        port = free_port()
        env = dict(os.environ, SLUICE_API_KEY="sk-python-test", RUST_LOG="debug,llama-cpp-2=info")
        log_path = tmp / "gateway.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sluice, "serve", "--config", str(write_config(tmp, port))],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
            try:
                wait_ready(port, proc)
                client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-python-test",
                                       max_retries=0, timeout=120)

                def check(name, fn):
                    nonlocal passed, failed
                    try:
                        fn()
                        passed += 1
                        print(f"ok   {name}")
                    except Exception as e:  # report and go on: every check is counted
                        failed += 1
                        print(f"FAIL {name}: {e!r}")

                def non_streaming():
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

                def streaming():
                    stream = client.chat.completions.create(
                        model="gpt-4o-mini", max_tokens=24, stream=True,
                        stream_options={"include_usage": True},
                        messages=[{"role": "user", "content": PHI_PROMPT}])
                    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
                    assert len(pieces) > 1, pieces

                def blocked_secret():
                    try:
                        client.chat.completions.create(
                            model="gpt-4o-mini", max_tokens=8,
                            messages=[{"role": "user", "content": "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}])
                    except openai.PermissionDeniedError as e:
                        assert "blocked" in str(e)
                        return
                    raise AssertionError("a secret was not blocked")

                def wrong_key():
                    bad = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="nope", max_retries=0)
                    try:
                        bad.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
                    except openai.AuthenticationError:
                        return
                    raise AssertionError("a wrong key was accepted")

                def retrieve_model():
                    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
                    try:
                        client.models.retrieve("no-such-model")
                    except openai.NotFoundError:
                        return
                    raise AssertionError("an unknown model was found")

                check("openai models.retrieve finds a served model, NotFoundError otherwise", retrieve_model)
                check("openai non-streaming call served locally", non_streaming)
                check("openai streaming call arrives in pieces", streaming)
                check("openai client sees 403 PermissionDeniedError for a secret", blocked_secret)
                check("openai client sees 401 AuthenticationError for a wrong key", wrong_key)
            finally:
                proc.terminate()
                proc.wait(timeout=60)
        logs = log_path.read_text(errors="replace")
        leaked = [c for c in CANARIES if c in logs]
        if leaked:
            failed += 1
            print(f"FAIL gateway logs contain canary values: {leaked}")
        else:
            passed += 1
            print(f"ok   gateway logs ({len(logs)} bytes at debug level) contain no canary value")
    print(f"openai-client: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
