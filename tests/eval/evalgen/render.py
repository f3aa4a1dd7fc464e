"""Turns one template string into text plus gold spans.

Template syntax (kept out of the way of the prose, code and config the templates contain):

* ``<<kind>>`` draws a fresh value of a value kind (evalgen.kinds.KINDS), e.g. ``<<ssn>>``;
* ``<<role.attr>>`` is an attribute of a person in the record (evalgen.people), e.g.
  ``<<patient.full>>``; the same role and attribute render the same value everywhere in a record,
  so a note can say a patient's full name once and the surname later;
* ``⟨a|b|c⟩`` picks one alternative of plain text (no slots inside), which multiplies the
  phrasings of one template cheaply.

A value is a list of pieces ``(text, entity_type_or_None)``: a full address is one value made of a
street, a city, a state and a ZIP code, each with its own span, joined by unlabelled commas.
Offsets are Python string indices, i.e. Unicode code points, end exclusive.
"""

import re

SLOT = re.compile(r"<<([a-z0-9_]+)(?:\.([A-Za-z0-9_]+))?>>")
CHOICE = re.compile(r"⟨([^⟩]*)⟩")


class TemplateError(Exception):
    pass


def choose_alternatives(template, rng):
    return CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)


def render(template, ctx):
    """Returns (text, spans) for `template` with values drawn through `ctx` (evalgen.context)."""
    from .kinds import KINDS
    from .people import ATTRS

    template = choose_alternatives(template, ctx.rng)
    out, spans, pos, last = [], [], 0, 0
    for m in SLOT.finditer(template):
        literal = template[last : m.start()]
        out.append(literal)
        pos += len(literal)
        last = m.end()
        name, attr = m.group(1), m.group(2)
        if attr is None:
            if name not in KINDS:
                raise TemplateError(f"unknown value kind <<{name}>> in {template[:60]!r}")
            pieces = KINDS[name](ctx)
        else:
            if attr not in ATTRS:
                raise TemplateError(f"unknown person attribute <<{name}.{attr}>>")
            pieces = ctx.person(name).get(attr)
        for text, etype in pieces:
            if etype is not None and text:
                if text != text.strip():
                    raise TemplateError(f"<<{m.group(0)}>>: span with outer whitespace")
                spans.append({"start": pos, "end": pos + len(text), "type": etype})
            out.append(text)
            pos += len(text)
    out.append(template[last:])
    text = "".join(out)
    check_spans(text, spans)
    return text, spans


def check_spans(text, spans):
    prev_end = 0
    for s in spans:
        if s["start"] < prev_end or s["end"] <= s["start"] or s["end"] > len(text):
            raise TemplateError(f"overlapping or empty span {s}")
        prev_end = s["end"]
