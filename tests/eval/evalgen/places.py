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
