"""Addresses written the way each locale writes them.

Every part of an address below the country is a HIPAA geographic subdivision: the street line
(number, street, unit) is STREET_ADDRESS, a city, county, state, province or country named as
where a person lives is LOCATION, and a postal code (US ZIP or any other country's) is ZIP_CODE.
Real city names are mixed with Faker's (some of Faker's, e.g. en_US's, are invented), since
traffic names real places.
"""

CITIES = {
    "en_US": [("Denver", "CO"), ("Columbus", "OH"), ("Sacramento", "CA"), ("Tucson", "AZ"),
              ("Raleigh", "NC"), ("Madison", "WI"), ("Albany", "NY"), ("Spokane", "WA"),
              ("Savannah", "GA"), ("Omaha", "NE"), ("Boise", "ID"), ("Providence", "RI"),
              ("Little Rock", "AR"), ("Baton Rouge", "LA"), ("Fort Wayne", "IN"),
              ("St. Paul", "MN"), ("El Paso", "TX"), ("Springfield", "IL"), ("Burlington", "VT")],
    "en_CA": [("Halifax", "NS"), ("Winnipeg", "MB"), ("Kelowna", "BC"), ("Sherbrooke", "QC"),
              ("Saskatoon", "SK"), ("Hamilton", "ON"), ("Red Deer", "AB")],
    "en_AU": [("Geelong", "VIC"), ("Townsville", "QLD"), ("Wollongong", "NSW"), ("Hobart", "TAS"),
              ("Bunbury", "WA"), ("Darwin", "NT")],
    "en_GB": [("Leeds", None), ("Bristol", None), ("Norwich", None), ("Swansea", None),
              ("Aberdeen", None), ("Milton Keynes", None), ("Stoke-on-Trent", None)],
    "de_DE": [("Bielefeld", None), ("Freiburg im Breisgau", None), ("Rostock", None),
              ("Würzburg", None), ("Kassel", None), ("Görlitz", None)],
    "fr_FR": [("Rennes", None), ("Clermont-Ferrand", None), ("Aix-en-Provence", None),
              ("Saint-Étienne", None), ("Nancy", None), ("Brest", None)],
    "es_ES": [("Valladolid", None), ("Alcalá de Henares", None), ("Córdoba", None),
              ("San Sebastián", None), ("Gijón", None)],
    "it_IT": [("Bergamo", None), ("Reggio Emilia", None), ("Lecce", None), ("Trieste", None),
              ("La Spezia", None)],
    "nl_NL": [("Zwolle", None), ("Den Bosch", None), ("Apeldoorn", None), ("Leeuwarden", None),
              ("Amersfoort", None)],
}

COUNTRY = {"en_US": "USA", "en_CA": "Canada", "en_AU": "Australia", "en_GB": "United Kingdom",
           "de_DE": "Germany", "fr_FR": "France", "es_ES": "Spain", "it_IT": "Italy",
           "nl_NL": "Netherlands"}

STREET, LOC, ZIP = "STREET_ADDRESS", "LOCATION", "ZIP_CODE"


def city_region(ctx):
    if ctx.chance(0.6):
        return ctx.pick(CITIES[ctx.locale])
    region = None
    if ctx.locale in ("en_US",):
        region = ctx.fake.state_abbr()
    elif ctx.locale in ("en_CA",):
        region = ctx.fake.province_abbr()
    elif ctx.locale in ("en_AU",):
        region = ctx.fake.state_abbr()
    return ctx.fake.city(), region


def postcode(ctx):
    f = ctx.fake
    if ctx.locale == "en_US":
        return f.zipcode_plus4() if ctx.chance(0.2) else f.zipcode()
    if ctx.locale == "en_CA":
        pc = f.postcode().replace(" ", "")
        return f"{pc[:3]} {pc[3:]}" if ctx.chance(0.8) else pc
    if ctx.locale == "nl_NL":
        pc = f.postcode().replace(" ", "")
        return f"{pc[:4]} {pc[4:]}" if ctx.chance(0.7) else pc
    return f.postcode()


def street_line(ctx):
    f = ctx.fake
    if ctx.locale in ("en_US", "en_CA", "en_AU"):
        line = f"{f.building_number()} {f.street_name()}"
        if ctx.chance(0.3):
            line += ctx.pick([", ", " "]) + f.secondary_address().strip()
        return line
    if ctx.locale == "en_GB":
        line = f"{f.building_number()} {f.street_name()}"
        if ctx.chance(0.2):
            line = f"Flat {ctx.rng.randint(1, 40)}, {line}"
        return line
    if ctx.locale == "fr_FR":
        return f"{f.building_number()}{ctx.pick([', ', ' '])}{f.street_name()}"
    if ctx.locale in ("es_ES", "it_IT"):
        return f"{f.street_name()}{ctx.pick([', ', ' '])}{f.building_number()}"
    return f"{f.street_name()} {f.building_number()}"  # de_DE, nl_NL


def address(ctx, sep=", ", with_country=False):
    """A full postal address as pieces: street, city, region, postcode (in the locale's order)."""
    city, region = city_region(ctx)
    street, pc = street_line(ctx), postcode(ctx)
    if ctx.locale in ("en_US", "en_CA", "en_AU"):
        pieces = [(street, STREET), (sep, None), (city, LOC)]
        if region:
            pieces += [(", ", None), (region, LOC)]
        pieces += [(" ", None), (pc, ZIP)]
    elif ctx.locale == "en_GB":
        pieces = [(street, STREET), (sep, None), (city, LOC), (sep if sep != ", " else " ", None),
                  (pc, ZIP)]
    else:
        pieces = [(street, STREET), (sep, None), (pc, ZIP), (" ", None), (city, LOC)]
    if with_country:
        pieces += [(sep, None), (COUNTRY[ctx.locale], LOC)]
    return pieces


def military_address(ctx):
    unit = ctx.pick([f"PSC {ctx.digits(4)}", f"Unit {ctx.digits(4)}", f"CMR {ctx.digits(3)}"])
    box = f"Box {ctx.digits(4)}"
    code = ctx.pick(["APO AE", "FPO AP", "APO AA", "DPO AE"])
    return [(f"{unit}, {box}", STREET), ("\n", None), (code, LOC), (" ", None),
            (f"{ctx.pick(['09', '96', '34'])}{ctx.digits(3)}", ZIP)]


# ---- countries and first-level regions (where a person lives, moves to or comes from) ----------

def _english_countries():
    from faker.providers.address.en_US import Provider

    return [c for c in Provider.countries if "(" not in c and "," not in c and "Island" not in c
            and c not in ("Antarctica", "Bouvet Island", "United States Minor Outlying Islands")]


ENGLISH_COUNTRIES = _english_countries()


def any_country(ctx):
    """A country name in English, drawn from Faker's list (rendered in an English sentence)."""
    return ctx.pick(ENGLISH_COUNTRIES)


def region(ctx):
    """A first-level region of the record's locale (state, province, Land, región, county)."""
    f = ctx.fake
    how = {"en_US": "state", "en_GB": "county", "de_DE": "state", "fr_FR": "region",
           "es_ES": "autonomous_community", "it_IT": "administrative_unit", "nl_NL": "province",
           "en_CA": "province", "en_AU": "state"}[ctx.locale]
    return getattr(f, how)()


# ---- whole postal addresses on several lines ---------------------------------------------------

def unit_line(ctx):
    """An apartment, flat, suite or floor line, in the locale's words."""
    n = ctx.rng.randint(1, 40)
    letter = ctx.pick(["", "", "A", "B", "C", "D"])
    return {
        "en_US": lambda: ctx.pick([f"Apt {n}{letter}", f"Apt. {n}{letter}", f"Suite {ctx.rng.randint(100, 950)}",
                                   f"Unit {n}{letter}", f"#{n}{letter}"]),
        "en_CA": lambda: ctx.pick([f"Suite {ctx.rng.randint(100, 950)}", f"Apt {n}", f"Unit {n}{letter}"]),
        "en_AU": lambda: ctx.pick([f"Unit {n}", f"Level {ctx.rng.randint(1, 20)}", f"Apartment {n}{letter}"]),
        "en_GB": lambda: ctx.pick([f"Flat {n}{letter}", f"Flat {n}", f"Apartment {n}", f"Unit {n}"]),
        "de_DE": lambda: ctx.pick([f"Wohnung {n}", f"{ctx.rng.randint(1, 6)}. OG", f"Hinterhaus, {ctx.rng.randint(1, 5)}. Stock"]),
        "fr_FR": lambda: ctx.pick([f"Appartement {n}", f"Bât. {ctx.pick('ABCD')}, apt {n}", f"Résidence {ctx.fake.last_name()}, escalier {ctx.pick('ABC')}"]),
        "es_ES": lambda: ctx.pick([f"{ctx.rng.randint(1, 9)}º {ctx.pick('ABCD')}", f"Piso {ctx.rng.randint(1, 9)}, puerta {ctx.rng.randint(1, 6)}", f"Esc. {ctx.pick('12')}, {ctx.rng.randint(1, 9)}º"]),
        "it_IT": lambda: ctx.pick([f"Scala {ctx.pick('ABC')}, interno {n}", f"Interno {n}", f"Piano {ctx.rng.randint(1, 8)}"]),
        "nl_NL": lambda: ctx.pick([f"{ctx.rng.randint(1, 4)}e verdieping", f"Appartement {n}", f"Unit {n}"]),
    }[ctx.locale]()


def european_street(ctx):
    """Street name first, then the house number (most of continental Europe)."""
    f = ctx.fake
    number = f"{ctx.rng.randint(1, 180)}{ctx.pick(['', '', '', 'a', 'b', ' A'])}"
    if ctx.locale in ("en_US", "en_CA", "en_AU", "en_GB", "fr_FR"):
        return f"{f.building_number()} {f.street_name()}"
    return f"{f.street_name()}{ctx.pick([' ', ' ', ', '])}{number}"


def postal_block(ctx, with_country=None):
    """An address on several lines (street, unit, city and postcode, country) in the locale's order."""
    city, reg = city_region(ctx)
    street, pc, unit = european_street(ctx), postcode(ctx), unit_line(ctx)
    has_unit = ctx.chance(0.6)
    country = COUNTRY[ctx.locale] if (ctx.chance(0.6) if with_country is None else with_country) else None
    nl = "\n"
    pieces = []
    if ctx.locale == "en_GB" and has_unit:
        pieces += [(unit, STREET), (nl, None), (street, STREET), (nl, None), (city, LOC), (nl, None), (pc, ZIP)]
    elif ctx.locale in ("en_US", "en_CA", "en_AU"):
        pieces += [(street, STREET), (nl, None)]
        if has_unit:
            pieces += [(unit, STREET), (nl, None)]
        if ctx.locale == "en_AU":
            pieces += [(city.upper() if ctx.chance(0.5) else city, LOC)]
            if reg:
                pieces += [(" ", None), (reg, LOC)]
            pieces += [(" ", None), (pc, ZIP)]
        else:
            pieces += [(city, LOC)]
            if reg:
                pieces += [(", " if ctx.chance(0.6) else " ", None), (reg, LOC)]
            pieces += [(ctx.pick([" ", "  "]), None), (pc, ZIP)]
    elif ctx.locale == "en_GB":
        pieces += [(street, STREET), (nl, None), (city, LOC), (nl, None), (pc, ZIP)]
    else:
        pieces += [(street, STREET), (nl, None)]
        if has_unit:
            pieces += [(unit, STREET), (nl, None)]
        pieces += [(pc, ZIP), (" ", None), (city, LOC)]
    if country:
        local = {"de_DE": "Deutschland", "fr_FR": "France", "es_ES": "España", "it_IT": "Italia",
                 "nl_NL": "Nederland", "en_US": ctx.pick(["USA", "United States", "U.S.A."])}
        pieces += [(nl, None), (ctx.pick([country, local.get(ctx.locale, country), country.upper()]), LOC)]
    return pieces


MILITARY_ZIP = {"AE": "09", "AA": "340", "AP": "96"}


def military_block(ctx):
    """A US military address (PSC/Unit/CMR ... Box ..., APO/FPO/DPO and state code AA/AE/AP + ZIP)."""
    state = ctx.pick(["AE", "AE", "AP", "AA"])
    post = ctx.pick(["APO", "APO", "FPO", "DPO"])
    start = MILITARY_ZIP[state]
    zipc = start + ctx.digits(5 - len(start))
    if ctx.chance(0.2):
        zipc += "-" + ctx.digits(4)
    unit = ctx.pick([f"PSC {ctx.digits(4)}, Box {ctx.digits(ctx.rng.randint(3, 4))}",
                     f"Unit {ctx.digits(4)} Box {ctx.digits(ctx.rng.randint(3, 4))}",
                     f"CMR {ctx.digits(3)}, Box {ctx.digits(ctx.rng.randint(3, 4))}",
                     f"Unit {ctx.digits(5)}, Box {ctx.digits(3)}"])
    sep = ctx.pick(["\n", ", ", "\n"])
    return [(unit, STREET), (sep, None), (f"{post} {state}", LOC), (" ", None), (zipc, ZIP)]
