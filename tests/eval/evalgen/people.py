"""A person in a record and every way a template can mention them.

Attributes are drawn on first use and kept, so `<<patient.full>>` and later `<<patient.title_last>>`
name the same person, and their e-mail address is built from their own name. Labelling:
a name (first, last, both, with a middle initial, surname first, lower case) is PERSON; a title
(Dr., Mrs.) is not part of the span.
"""

import unicodedata

from . import dates, ids, places

PERSON, EMAIL, PHONE = "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"

# Punycode domains (IDNs as they travel in e-mail headers and logs).
PUNYCODE_DOMAINS = ["xn--mnchen-3ya.de", "xn--bcher-kva.ch", "xn--caf-dma.fr",
                    "xn--fiqs8s.cn", "xn--80ak6aa92e.com", "xn--sterreich-z7a.at"]

NATIONAL_ID = {
    # locale: (how it is drawn, entity type); en_US uses the SSN generator.
    "en_GB": ("ssn", "GOVERNMENT_ID"),  # National Insurance number
    "en_CA": ("ssn", "GOVERNMENT_ID"),  # Social Insurance Number
    "fr_FR": ("ssn", "GOVERNMENT_ID"),  # NIR
    "nl_NL": ("ssn", "GOVERNMENT_ID"),  # BSN
    "es_ES": ("dni", "GOVERNMENT_ID"),  # DNI (Faker's nif() ignores the seed)
    "it_IT": ("ssn", "TAX_ID"),         # codice fiscale
    "de_DE": ("steuer_id", "TAX_ID"),
    "en_AU": ("tfn", "TAX_ID"),
}


def ascii_fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


class Person:
    def __init__(self, ctx):
        self.ctx = ctx
        self.female = ctx.chance(0.5)
        f = ctx.fake
        self.first_name = f.first_name_female() if self.female else f.first_name_male()
        self.last_name = f.last_name()
        self.middle_name = f.first_name()
        self.middle = self.middle_name[0]
        self._cache = {}

    def get(self, attr):
        if attr not in self._cache:
            self._cache[attr] = ATTRS[attr](self)
        return self._cache[attr]


def attr_title(p):
    if p.ctx.chance(0.4):
        return ("Dr. ", None)
    return ("Ms. " if p.female else "Mr. ", None) if p.ctx.chance(0.8) else ("Mrs. " if p.female else "Mr ", None)


def email_address(p):
    ctx = p.ctx
    first, last = ascii_fold(p.first_name).replace(" ", ""), ascii_fold(p.last_name).replace(" ", "")
    local = ctx.pick([f"{first}.{last}", f"{first[0]}{last}", f"{first}{ctx.digits(2)}",
                      f"{last}.{first[0]}", f"{first}_{last}{ctx.digits(1)}"])
    if ctx.chance(0.05):
        domain = ctx.pick(PUNYCODE_DOMAINS)
    elif ctx.chance(0.6):
        domain = ctx.fake.free_email_domain()
    else:
        domain = ctx.fake.domain_name()
    return local + "@" + domain


PERSONAL_TLDS = ["dev", "blog", "me", "io", "art", "studio", "photography", "xyz", "site", "page", "name",
                 "de", "fr", "it", "es", "nl", "ca", "com.au", "co.uk", "eu", "com", "net", "org"]


def personal_domain(p):
    """A person's own site, blog or portfolio as a bare domain built from their name."""
    ctx = p.ctx
    first, last = ascii_fold(p.first_name).replace(" ", ""), ascii_fold(p.last_name).replace(" ", "")
    name = ctx.pick([f"{first}{last}", f"{first}-{last}", f"{first[0]}{last}", f"{last}{ctx.pick(['photo', 'design', 'writes', 'art'])}",
                     f"{first}{ctx.pick(['codes', 'bakes', 'travels', 'makes'])}"])
    return f"{ctx.pick(['', '', '', 'www.'])}{name}.{ctx.pick(PERSONAL_TLDS)}"


def phone_number(ctx):
    while True:
        raw = ctx.fake.phone_number()
        if "x" not in raw and "ext" not in raw:
            return raw


def national_id(p):
    ctx = p.ctx
    if ctx.locale == "en_US":
        return [(ids.ssn(ctx), "US_SSN")]
    how, etype = NATIONAL_ID[ctx.locale]
    if how == "steuer_id":
        value = ctx.pick("123456789") + ctx.digits(10)
        value = ctx.pick([value, f"{value[:2]} {value[2:5]} {value[5:8]} {value[8:]}"])
    elif how == "dni":
        number = ctx.rng.randint(10_000_000, 99_999_999)
        value = f"{number}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"
    elif how == "tfn":
        value = f"{ctx.digits(3)} {ctx.digits(3)} {ctx.digits(3)}"
    else:
        value = getattr(ctx.fake, how)()
    return [(value, etype)]


def birth_date(p):
    if "_dob" not in p._cache:
        p._cache["_dob"] = dates.birth_date(p.ctx)
    return p._cache["_dob"]


ATTRS = {
    "first": lambda p: [(p.first_name, PERSON)],
    "last": lambda p: [(p.last_name, PERSON)],
    "full": lambda p: [(f"{p.first_name} {p.last_name}", PERSON)],
    "full_mi": lambda p: [(f"{p.first_name} {p.middle}. {p.last_name}", PERSON)],
    "last_first": lambda p: [(f"{p.last_name}, {p.first_name}", PERSON)],
    "caps_last_first": lambda p: [(f"{p.last_name.upper()}, {p.first_name.upper()}", PERSON)],
    "lower": lambda p: [(f"{p.first_name} {p.last_name}".lower(), PERSON)],
    "title_last": lambda p: [attr_title(p), (p.last_name, PERSON)],
    "title_full": lambda p: [attr_title(p), (f"{p.first_name} {p.last_name}", PERSON)],
    "he": lambda p: [("she" if p.female else "he", None)],
    "He": lambda p: [("She" if p.female else "He", None)],
    "his": lambda p: [("her" if p.female else "his", None)],
    "him": lambda p: [("her" if p.female else "him", None)],
    "sex": lambda p: [("female" if p.female else "male", None)],
    "mf": lambda p: [("F" if p.female else "M", None)],
    "email": lambda p: [(email_address(p), EMAIL)],
    "phone": lambda p: [(phone_number(p.ctx), PHONE)],
    "dob": lambda p: [(dates.write(p.ctx, birth_date(p)), "DATE_TIME")],
    "age": lambda p: [(str(dates.age_on(birth_date(p))), None)],
    "address": lambda p: places.address(p.ctx),
    "address_lines": lambda p: places.address(p.ctx, sep="\n"),
    "address_country": lambda p: places.address(p.ctx, with_country=True),
    "street": lambda p: [(places.street_line(p.ctx), places.STREET)],
    "city": lambda p: [(places.city_region(p.ctx)[0], places.LOC)],
    "country": lambda p: [(places.COUNTRY[p.ctx.locale], places.LOC)],
    "zip": lambda p: [(places.postcode(p.ctx), places.ZIP)],
    "national_id": national_id,
    # middle initials in several positions, and surname-first forms
    "mi_nodot": lambda p: [(f"{p.first_name} {p.middle} {p.last_name}", PERSON)],
    "initials_last": lambda p: [(f"{p.first_name[0]}. {p.middle}. {p.last_name}", PERSON)],
    "initial_middle_last": lambda p: [(f"{p.first_name[0]}. {p.middle_name} {p.last_name}", PERSON)],
    "first_middle_last": lambda p: [(f"{p.first_name} {p.middle_name} {p.last_name}", PERSON)],
    "last_first_mi": lambda p: [(f"{p.last_name}, {p.first_name} {p.middle}.", PERSON)],
    "caps_last_first_mi": lambda p: [(f"{p.last_name.upper()}, {p.first_name} {p.middle}.", PERSON)],
    "last_initials": lambda p: [(f"{p.last_name}, {p.first_name[0]}.{p.middle}.", PERSON)],
    "caps_last": lambda p: [(p.last_name.upper(), PERSON)],
    "lower_first": lambda p: [(p.first_name.lower(), PERSON)],
    "domain": lambda p: [(personal_domain(p), "URL")],
    "idn_email": lambda p: [(f"{ascii_fold(p.first_name).replace(' ', '')}@{ids.idn_domain(p.ctx)}", EMAIL)],
    "region": lambda p: [(places.region(p.ctx), places.LOC)],
    "home_country": lambda p: [(places.any_country(p.ctx), places.LOC)],
    "plate": lambda p: [(p.ctx.fake.license_plate(), "LICENSE_PLATE")],
    "dea": lambda p: [(ids.dea(p.ctx, p.last_name), "DEA_NUMBER")],
}
