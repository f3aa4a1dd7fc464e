#!/usr/bin/env python3
"""Measures the gazetteers against the labelled evaluation corpus.

Matching follows the dictionary detector with `# case: capitalised`: whole words (letters,
digits and `_` of any script are word characters), ASCII case ignored, `'` and `’` alike, one
space in a term matches one space, the longest term wins within one list; and every word that
starts with a capital in the term must start with a capital in the text ("Jordan", not
"jordan"; the lower-case "and" of "Bosnia and Herzegovina" matches as written).

Reports (a) for prompts with `cleared: true` (no entity at all) every hit of every list, and
(b) for labelled prompts the share of gold LOCATION and PERSON characters the lists cover
and the hits that overlap no gold span of the list's type (spurious).

Usage: python3 tools/check_gazetteers.py [corpus.jsonl] [list directory]
"""

import collections
import json
import re
import sys
from pathlib import Path

LISTS = ("countries", "regions", "cities", "first_names", "surnames")
WORD = re.compile(r"[^\W]+")  # letters, digits and _ of any script
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def key(s: str) -> str:
    return s.replace("\u2019", "'").translate(ASCII_LOWER)


def load(path: Path):
    entity, terms = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = re.match(r"#\s*entity_type:\s*(\S+)", line)
            entity = m.group(1) if m else entity
            continue
        terms.append(line)
    by_key = {key(t): t for t in terms}
    max_words = max(len(WORD.findall(t)) for t in terms)
    return entity, by_key, max_words


def capitals_ok(term: str, text: str) -> bool:
    tw, xw = WORD.findall(term), WORD.findall(text)
    return len(tw) == len(xw) and all(not a[0].isupper() or b[0].isupper() for a, b in zip(tw, xw))


def find(text: str, by_key: dict, max_words: int):
    """Leftmost-longest whole-word matches: [(start, end, term)]."""
    words = [(m.start(), m.end()) for m in WORD.finditer(text)]
    hits, i = [], 0
    while i < len(words):
        best = None
        for j in range(min(len(words), i + max_words) - 1, i - 1, -1):
            s, e = words[i][0], words[j][1]
            t = by_key.get(key(text[s:e]))
            if t is not None and capitals_ok(t, text[s:e]):
                best = (s, e, t, j)
                break
        if best:
            hits.append(best[:3])
            i = best[3] + 1
        else:
            i += 1
    return hits


def main():
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/eval/corpus.jsonl")
    lists_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "rules/dictionaries")
    records = [json.loads(l) for l in corpus.read_text(encoding="utf-8").splitlines() if l.strip()]
    lists = {n: load(lists_dir / f"{n}.txt") for n in LISTS}
    cleared = [r for r in records if r["cleared"]]
    labelled = [r for r in records if not r["cleared"]]

    print(f"(a) cleared prompts: {len(cleared)}")
    for name, (entity, by_key, mw) in lists.items():
        c = collections.Counter(t for r in cleared for _, _, t in find(r["text"], by_key, mw))
        prompts = sum(1 for r in cleared if find(r["text"], by_key, mw))
        top = ", ".join(f"{t} {n}" for t, n in c.most_common(40))
        print(f"  {name} ({entity}): {sum(c.values())} hits in {prompts} prompts; {top}")

    print(f"(b) labelled prompts: {len(labelled)}")
    for etype in ("LOCATION", "PERSON"):
        gold_chars = covered = 0
        spurious, total = collections.Counter(), 0
        spurious_by = collections.Counter()
        for r in labelled:
            text = r["text"]
            gold = [(s["start"], s["end"]) for s in r["spans"] if s["type"] == etype]
            other = [(s["start"], s["end"], s["type"]) for s in r["spans"] if s["type"] != etype]
            hit_chars = set()
            for name, (entity, by_key, mw) in lists.items():
                if entity != etype:
                    continue
                for s, e, t in find(text, by_key, mw):
                    total += 1
                    hit_chars.update(range(s, e))
                    if not any(s < ge and gs < e for gs, ge in gold):
                        inside = next((ty for gs, ge, ty in other if s < ge and gs < e), "none")
                        spurious[(name, t)] += 1
                        spurious_by[inside] += 1
            for gs, ge in gold:
                gold_chars += ge - gs
                covered += sum(1 for k in range(gs, ge) if k in hit_chars)
        share = covered / gold_chars if gold_chars else 0
        n_sp = sum(spurious.values())
        print(f"  {etype}: gold chars covered {covered}/{gold_chars} = {share:.1%}; hits {total}, "
              f"spurious (outside gold {etype}) {n_sp}; spurious inside other gold types: "
              + ", ".join(f"{k} {v}" for k, v in spurious_by.most_common()))
        print("    top spurious: " + ", ".join(f"{t} ({n}) {c}" for (n, t), c in spurious.most_common(30)))


if __name__ == "__main__":
    main()
