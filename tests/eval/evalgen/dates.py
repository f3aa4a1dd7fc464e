"""Dates written the many ways people and systems write them.

A date tied to a person (birth, admission, visit, incident) is a HIPAA identifier element and is
labelled DATE_TIME whatever its format; the formats are where detection tends to miss, so adding
one here widens the corpus everywhere dates are used.
"""

import datetime

from .context import TODAY

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


def ordinal(n):
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


# Each takes a date and returns its text. Names say the shape, so a per-format breakdown of misses
# can be read off the generator.
FORMATS = {
    "us_slash": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "us_slash_short": lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    "us_dash": lambda d: f"{d.month:02d}-{d.day:02d}-{d.year}",
    "eu_slash": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    "eu_dot": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "eu_dot_short": lambda d: f"{d.day}.{d.month}.{d.year % 100:02d}",
    "iso": lambda d: d.isoformat(),
    "iso_slash": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "compact": lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
    "month_day_year": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "mon_day_year": lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    "mon_dot_day_year": lambda d: f"{MONTHS[d.month - 1][:3]}. {d.day}, {d.year}",
    "day_month_year": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "day_mon_year": lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    "clinical": lambda d: f"{d.day:02d}-{MONTHS[d.month - 1][:3].upper()}-{d.year}",
    "ordinal": lambda d: f"{ordinal(d.day)} {MONTHS[d.month - 1]} {d.year}",
    "ordinal_of": lambda d: f"the {ordinal(d.day)} of {MONTHS[d.month - 1]}, {d.year}",
    "weekday": lambda d: f"{d.strftime('%A')}, {MONTHS[d.month - 1]} {d.day}, {d.year}",
    "month_day": lambda d: f"{MONTHS[d.month - 1]} {d.day}",
    "month_year": lambda d: f"{MONTHS[d.month - 1]} {d.year}",
}

NUMERIC = {"eu_slash", "eu_dot", "eu_dot_short", "iso", "iso_slash", "compact"}

# Numeric day-first dates in day-first locales, the rest anywhere.
DAY_FIRST = {"en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_AU"}


def pick_format(ctx):
    names = list(FORMATS)
    if ctx.language != "en":
        # A German or French sentence does not name the month in English.
        names = [n for n in names if n in NUMERIC]
    if ctx.locale in DAY_FIRST:
        names = [n for n in names if not n.startswith("us_")]
    elif ctx.locale == "en_US":
        names = [n for n in names if not n.startswith("eu_")]
    return ctx.pick(names)


def birth_date(ctx, min_age=18, max_age=88):
    age_days = ctx.rng.randint(min_age * 365 + 1, max_age * 365 + 300)
    return TODAY - datetime.timedelta(days=age_days)


def recent_date(ctx, within_days=400):
    return TODAY - datetime.timedelta(days=ctx.rng.randint(0, within_days))


def age_on(born, day=TODAY):
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def write(ctx, day, fmt=None):
    return FORMATS[fmt or pick_format(ctx)](day)


def with_time(ctx, text):
    """Appends a clock time in one of a few styles (part of the same DATE_TIME span)."""
    h, m = ctx.rng.randint(0, 23), ctx.rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
    style = ctx.pick(["24h", "ampm", "at"])
    if style == "24h":
        return f"{text} {h:02d}:{m:02d}"
    hour12 = (h % 12) or 12
    suffix = "am" if h < 12 else "pm"
    if style == "ampm":
        return f"{text} {hour12}:{m:02d} {suffix.upper()}"
    return f"{text} at {hour12}:{m:02d}{suffix}"
