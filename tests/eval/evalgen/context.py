"""Per-record drawing state: one seeded `random.Random`, the locale's Faker, the record's people.

Each record gets its own seed derived from (corpus seed, record id), so adding a template or a
record in one family leaves every other record byte-identical, and a diff of the corpus shows
only what a change really touched.
"""

import datetime
import random

# Dates are drawn relative to this fixed day, never to the clock: the corpus must not depend on
# the day it is generated.
TODAY = datetime.date(2026, 1, 15)


class Context:
    def __init__(self, seed, record_id, locale, fake, language="en"):
        # A string seed is hashed with SHA-512 by `random.seed`: stable across runs and machines,
        # unlike hash() of a string.
        self.rng = random.Random(f"{seed}/{record_id}")
        self.locale = locale
        self.language = language
        self.fake = fake
        self.fake.seed_instance(self.rng.getrandbits(64))
        self._people = {}

    def person(self, role):
        from .people import Person

        if role not in self._people:
            self._people[role] = Person(self)
        return self._people[role]

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, items):
        return self.rng.choice(items)

    def digits(self, n):
        return "".join(self.rng.choice("0123456789") for _ in range(n))
