#!/usr/bin/env python3
"""Generates tests/eval/corpus.jsonl, the labelled development corpus of `sluice eval` (issue 12).

    python tests/eval/generate.py [--seed 12] [--out tests/eval/corpus.jsonl] [--check]

Deterministic: the same seed and Faker version write the same bytes (`--check` compares with the
committed file instead of writing). One JSON object per line:
{"id", "kind", "template", "locale", "text", "spans": [{"start", "end", "type"}], "cleared"};
offsets are Unicode code points, end exclusive. This is a development set: extend it with
templates of our own (see README.md here), never with text from a public benchmark.
"""

import argparse
import json
import os
import random
import sys
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evalgen.context import Context  # noqa: E402
from evalgen.render import render  # noqa: E402
from evalgen.templates import FAMILIES, LOCALES, locale_for  # noqa: E402

DEFAULT_SEED = 12
DEFAULT_OUT = Path(__file__).resolve().parent / "corpus.jsonl"


def records(seed):
    fakers = {loc: Faker(loc) for loc, _ in LOCALES}
    for kind, (templates, count, cleared) in FAMILIES.items():
        names = sorted(templates)
        for i in range(count):
            record_id = f"{kind}-{i:05d}"
            pick = random.Random(f"{seed}/{record_id}/template")
            # Round-robin over templates with a seeded offset, so every template is used evenly.
            name = names[(i + pick.randrange(len(names))) % len(names)] if i >= len(names) else names[i]
            locale, language = locale_for(name, pick)
            ctx = Context(seed, record_id, locale, fakers[locale], language)
            text, spans = render(templates[name], ctx)
            yield {"id": record_id, "kind": kind, "template": f"{kind}/{name}", "locale": locale,
                   "text": text, "spans": spans, "cleared": cleared}


def serialise(seed):
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in records(seed))


def main():
    # Some Faker providers iterate over sets of strings, whose order follows the per-process hash
    # seed: fix it, or the corpus would differ from one run to the next.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args()
    data = serialise(args.seed).encode("utf-8")
    if args.check:
        try:
            current = args.out.read_bytes()
        except FileNotFoundError:
            current = b""
        if current != data:
            print(f"{args.out}: differs from the generator's output; run `make eval-corpus` and commit it",
                  file=sys.stderr)
            return 1
        print(f"{args.out}: matches the generator (seed {args.seed})")
        return 0
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
