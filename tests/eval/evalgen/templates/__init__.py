"""Template families. Each module holds `TEMPLATES = {name: template}` (syntax in evalgen.render).

To add a template, add an entry to a family; to add a family, add a module and a line to
FAMILIES. Record counts are fixed per family, so a new template takes a share of its family's
records rather than growing the corpus.
"""

from . import chat, cleared, clinical, code, support

# kind -> (templates, number of records, cleared)
FAMILIES = {
    "chat": (chat.TEMPLATES, 880, False),
    "clinical": (clinical.TEMPLATES, 560, False),
    "support_email": (support.TEMPLATES, 600, False),
    "code_config": (code.TEMPLATES, 560, False),
    "cleared": (cleared.TEMPLATES, 2400, True),
}

# Locales and their weights: US traffic dominates, the rest is spread.
LOCALES = [("en_US", 30), ("en_GB", 10), ("de_DE", 10), ("fr_FR", 9), ("es_ES", 8), ("it_IT", 8),
           ("nl_NL", 8), ("en_CA", 9), ("en_AU", 8)]

# Templates written in one language, or about one country, only get that locale (and language).
ONLY_IN = {
    "german_": ("de_DE", "de"), "french_": ("fr_FR", "fr"), "spanish_": ("es_ES", "es"),
    "italian_": ("it_IT", "it"), "dutch_": ("nl_NL", "nl"), "military": ("en_US", "en"),
}


def locale_for(template_name, rng):
    """(locale, language) of a record rendered from `template_name`."""
    for prefix, pinned in ONLY_IN.items():
        if template_name.startswith(prefix):
            return pinned
    names, weights = zip(*LOCALES)
    return rng.choices(names, weights)[0], "en"
