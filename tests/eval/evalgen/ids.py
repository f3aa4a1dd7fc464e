"""Identifiers with their real structure and check digits.

Values must pass the checks real systems apply (Luhn, ABA, NPI, DEA, VIN, IBAN mod-97), or the
corpus would measure how well detection rejects invalid numbers instead of how well it finds real
ones. Writing styles (grouping, separators, case) vary the way they do in real traffic.
"""

import string


def luhn_digit(body):
    """The Luhn check digit that makes body + digit valid."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


# (issuer, prefixes, lengths, usual grouping by length)
CARD_ISSUERS = [
    ("visa", ["4"], [16, 16, 16, 13, 19]),
    ("mastercard", ["51", "52", "53", "54", "55", "2221", "2720", "2300"], [16]),
    ("amex", ["34", "37"], [15]),
    ("discover", ["6011", "644", "65"], [16, 19]),
    ("diners", ["300", "305", "36", "38"], [14]),
    ("jcb", ["3528", "3589"], [16, 19]),
    ("unionpay", ["62"], [16, 17, 18, 19]),
    ("maestro", ["5018", "5020", "6304", "6759"], [12, 13, 15, 16, 19]),
]

CARD_GROUPS = {13: [4, 4, 5], 14: [4, 6, 4], 15: [4, 6, 5], 16: [4, 4, 4, 4], 17: [4, 4, 4, 5],
               18: [4, 4, 4, 6], 19: [4, 4, 4, 4, 3], 12: [4, 4, 4]}


def card_number(ctx):
    _, prefixes, lengths = ctx.pick(CARD_ISSUERS)
    prefix, length = ctx.pick(prefixes), ctx.pick(lengths)
    body = prefix + ctx.digits(length - len(prefix) - 1)
    number = body + luhn_digit(body)
    style = ctx.pick(["spaces", "spaces", "dashes", "plain", "plain"])
    if style == "plain":
        return number
    out, i = [], 0
    for g in CARD_GROUPS[length]:
        out.append(number[i : i + g])
        i += g
    return (" " if style == "spaces" else "-").join(out)


def ssn_digits(ctx):
    while True:
        area = ctx.rng.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}", f"{ctx.rng.randint(1, 99):02d}", f"{ctx.rng.randint(1, 9999):04d}"


def ssn(ctx):
    a, g, s = ssn_digits(ctx)
    sep = ctx.pick(["-", "-", "-", "-", " ", ".", ""])
    return f"{a}{sep}{g}{sep}{s}"


def itin(ctx):
    group = ctx.pick([*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)])
    return f"9{ctx.digits(2)}-{group:02d}-{ctx.digits(4)}"


def aba_routing(ctx):
    # Federal Reserve routing symbols 01-12 (and thrifts 21-32); weights 3,7,1 repeated.
    first = ctx.pick([f"{n:02d}" for n in [*range(1, 13), *range(21, 33)]])
    body = first + ctx.digits(6)
    weights = [3, 7, 1, 3, 7, 1, 3, 7]
    total = sum(int(c) * w for c, w in zip(body, weights))
    return body + str((10 - total % 10) % 10)


def npi(ctx):
    body = ctx.pick(["1", "2"]) + ctx.digits(8)
    # The NPI check digit is Luhn over "80840" + the first nine digits.
    return body + luhn_digit("80840" + body)


def dea(ctx, last_name):
    letters = ctx.pick("ABFGMPR") + (last_name[:1].upper() if last_name[:1].isalpha() else "X")
    d = [int(c) for c in ctx.digits(6)]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return letters + "".join(map(str, d)) + str(check)


VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_VALUES = dict(zip("ABCDEFGHJKLMNPRSTUVWXYZ", [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3,
                                                  4, 5, 6, 7, 8, 9]))
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


# World manufacturer identifiers of common makes (a VIN's first three characters).
VIN_WMIS = ["1HG", "1FT", "2T1", "3FA", "5YJ", "JHM", "JTD", "KMH", "WBA", "WVW", "VF1", "ZFA",
            "SAL", "YV1", "TMB", "VSS"]


def vin(ctx):
    chars = list(ctx.pick(VIN_WMIS)) + [ctx.pick(VIN_CHARS) for _ in range(14)]
    chars[9] = ctx.pick("ABCDEFGHJKLMNPRSTVWXY123456789")  # model year code
    total = sum((VIN_VALUES.get(c) or int(c)) * w for c, w in zip(chars, VIN_WEIGHTS))
    rem = total % 11
    chars[8] = "X" if rem == 10 else str(rem)
    return "".join(chars)


def iban(ctx):
    raw = ctx.fake.iban()
    style = ctx.pick(["grouped", "grouped", "compact", "compact", "lower"])
    if style == "compact":
        return raw
    grouped = " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    if style == "lower":
        return ctx.pick([raw, grouped]).lower()
    return grouped


def mbi(ctx):
    """Medicare Beneficiary Identifier: 11 characters, fixed letter/digit positions."""
    letters = "ACDEFGHJKMNPQRTUVWXY"
    alnum = letters + "0123456789"
    shape = "NAXNAXNAANN"
    out = []
    for i, c in enumerate(shape):
        if c == "N":
            out.append(ctx.pick("123456789" if i == 0 else "0123456789"))
        elif c == "A":
            out.append(ctx.pick(letters))
        else:
            out.append(ctx.pick(alnum))
    s = "".join(out)
    return f"{s[:4]}-{s[4:7]}-{s[7:]}" if ctx.chance(0.5) else s


def upper_alnum(ctx, n, alphabet=string.ascii_uppercase + string.digits):
    return "".join(ctx.pick(alphabet) for _ in range(n))


# Issuers and lengths from 12 to 19 digits, with the groupings printed on cards and in forms.
CARD_ISSUERS_ALL = [
    ("maestro12", ["5018", "5020", "5038", "6304", "6759", "6761"], 12, [[4, 4, 4], [6, 6]]),
    ("maestro13", ["6759", "5020"], 13, [[4, 4, 5]]),
    ("visa13", ["4"], 13, [[4, 4, 5], [4, 3, 3, 3]]),
    ("diners14", ["300", "305", "36", "38"], 14, [[4, 6, 4]]),
    ("amex15", ["34", "37"], 15, [[4, 6, 5]]),
    ("uatp15", ["1"], 15, [[4, 5, 6], [4, 4, 4, 3]]),
    ("visa16", ["4"], 16, [[4, 4, 4, 4]]),
    ("mc16", ["2221", "2720", "51", "55"], 16, [[4, 4, 4, 4]]),
    ("unionpay17", ["62"], 17, [[4, 4, 4, 5], [6, 11]]),
    ("unionpay18", ["62"], 18, [[4, 4, 4, 6], [6, 12]]),
    ("visa19", ["4"], 19, [[4, 4, 4, 4, 3], [4, 4, 4, 7]]),
    ("maestro19", ["6759", "5018", "6304"], 19, [[4, 4, 4, 4, 3], [8, 11]]),
    ("discover19", ["6011", "65"], 19, [[4, 4, 4, 4, 3]]),
    ("unionpay19", ["62"], 19, [[6, 13], [4, 4, 4, 4, 3]]),
    ("jcb19", ["3528", "3589"], 19, [[4, 4, 4, 4, 3]]),
]


def card_any(ctx):
    """A card number of any issuer length (12-19 digits) with a valid Luhn digit, grouped as printed."""
    _, prefixes, length, groupings = ctx.pick(CARD_ISSUERS_ALL)
    prefix = ctx.pick(prefixes)
    body = prefix + ctx.digits(length - len(prefix) - 1)
    number = body + luhn_digit(body)
    sep = ctx.pick([" ", " ", "-", "", "", ".", "  "])
    if sep == "":
        return number
    out, i = [], 0
    for g in ctx.pick(groupings):
        out.append(number[i : i + g])
        i += g
    return sep.join(out)


def ssn_spaced(ctx):
    """An SSN with dots or spaces (or none) between its groups."""
    a, g, s = ssn_digits(ctx)
    return ctx.pick([f"{a}.{g}.{s}", f"{a} {g} {s}", f"{a}  {g}  {s}", f"{a}{g}{s}", f"{a} - {g} - {s}",
                     f"{a}.{g}-{s}"])


def aba_any(ctx):
    return aba_routing(ctx)


def iban_lower(ctx):
    raw = ctx.fake.iban().lower()
    return ctx.pick([raw, " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))])


def iban_grouped(ctx):
    raw = ctx.fake.iban()
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


# Internationalised domains, written in their ASCII (punycode) form as mail systems log them.
IDN_LABELS = ["müller", "bäckerei-schön", "café-lumière", "señoría", "jürgen-maß",
              "crème-brûlée", "niño", "gästehaus", "öko-laden", "über",
              "ålesund", "köln-süd", "dvořák", "łódź"]
IDN_TLDS = ["de", "fr", "es", "com", "net", "at", "ch", "eu", "nl", "it"]


def idn_domain(ctx):
    label = ctx.pick(IDN_LABELS).encode("idna").decode("ascii")
    return f"{label}.{ctx.pick(IDN_TLDS)}"
