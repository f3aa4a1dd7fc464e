"""evalgen: the labelled corpus behind `sluice eval` (issue 12).

Records are rendered from our own templates (evalgen.templates) whose slots draw values from
Faker and from the value kinds in evalgen.kinds; every slot knows its entity type, so the gold
spans come from the rendering itself, never from a detector. See tests/eval/README.md.
"""
