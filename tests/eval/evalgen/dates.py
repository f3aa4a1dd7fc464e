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


# Further shapes, drawn only by the kinds that ask for them (`date_more`, `event_date_more`), so
# adding them leaves the formats of every older template untouched.
MORE_FORMATS = {
    "eu_slash_yy": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",
    "eu_dot_nopad_yy": lambda d: f"{d.day}.{d.month}.{d.year % 100:02d}",
    "day_mon_dash_year": lambda d: f"{d.day}-{MONTHS[d.month - 1][:3]}-{d.year}",
    "day_mon_dash_yy": lambda d: f"{d.day:02d}-{MONTHS[d.month - 1][:3]}-{d.year % 100:02d}",
    "mon_dash_year": lambda d: f"{MONTHS[d.month - 1][:3]}-{d.year}",
    "month_dash_year": lambda d: f"{MONTHS[d.month - 1]}-{d.year}",
    "weekday_day_month": lambda d: f"{d.strftime('%A')} {d.day} {MONTHS[d.month - 1]} {d.year}",
    "wkd_eu_dot": lambda d: f"{d.strftime('%a')}, {d.day:02d}.{d.month:02d}.{d.year}",
    "wkd_us_slash": lambda d: f"{d.strftime('%a')} {d.month}/{d.day}/{d.year}",
    "weekday_month_day": lambda d: f"{d.strftime('%A')}, {MONTHS[d.month - 1]} {ordinal(d.day)}",
    "the_ordinal_of": lambda d: f"the {ordinal(d.day)} of {MONTHS[d.month - 1]}",
    "ordinal_month": lambda d: f"{ordinal(d.day)} {MONTHS[d.month - 1]}",
    "month_ordinal": lambda d: f"{MONTHS[d.month - 1]} {ordinal(d.day)}",
    "iso_time": lambda d: f"{d.isoformat()}T{d.day % 24:02d}:{(d.month * 7) % 60:02d}",
}

MORE_NUMERIC = {"eu_slash_yy", "eu_dot_nopad_yy", "wkd_eu_dot", "iso_time"}


def pick_more_format(ctx):
    names = list(MORE_FORMATS)
    if ctx.language != "en":
        names = [n for n in names if n in MORE_NUMERIC and not n.startswith("wkd_")]
    if ctx.locale == "en_US":
        names = [n for n in names if n not in ("eu_slash_yy", "eu_dot_nopad_yy", "wkd_eu_dot")]
    else:
        names = [n for n in names if n != "wkd_us_slash"]
    return ctx.pick(names)


def write_more(ctx, day):
    return MORE_FORMATS[pick_more_format(ctx)](day)


def with_clock(ctx, text):
    """A date followed by a clock time in the styles not covered by `with_time`."""
    h, m = ctx.rng.randint(0, 23), ctx.rng.choice([0, 5, 12, 15, 27, 30, 45, 58])
    hour12 = (h % 12) or 12
    return ctx.pick([f"{text}, {h:02d}:{m:02d}", f"{text} {h:02d}:{m:02d}:{ctx.rng.randint(0, 59):02d}",
                     f"{text} {hour12}.{m:02d}{'am' if h < 12 else 'pm'}", f"{text} um {h}:{m:02d} Uhr"
                     if ctx.language == "de" else f"{text} at {h:02d}{m:02d}h",
                     f"{text} {h}h{m:02d}", f"{text}, {hour12}:{m:02d} {'a.m.' if h < 12 else 'p.m.'}"])


NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TENS_WORDS = {9: "ninety"}


def age_in_words(n):
    """90..109 in English words, as a note would write them."""
    if n < 100:
        return "ninety" + ("" if n == 90 else "-" + NUMBER_WORDS[n - 90])
    rest = n - 100
    return "one hundred" + ("" if rest == 0 else " and " + NUMBER_WORDS[rest])
