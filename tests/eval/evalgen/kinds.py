"""Value kinds: what a `<<kind>>` slot draws, and the entity type of what it draws.

Adding a kind is one decorated function returning pieces ``[(text, type_or_None), ...]``. Kinds
with type None are the harmless material of cleared prompts (versions, prices, product names):
unlabelled on purpose, because a detector that flags them is wrong.
"""

import ipaddress

from . import dates, ids, places, secrets, words
from .people import phone_number

KINDS = {}


def kind(name, etype=None):
    """Registers a kind. With `etype`, the function returns a string labelled `etype`."""

    def register(fn):
        if name in KINDS:
            raise ValueError(f"value kind {name} defined twice")
        if etype is None:
            KINDS[name] = fn
        else:
            KINDS[name] = lambda ctx: [(fn(ctx), etype)]
        return fn

    return register


# ---- identifiers of people ---------------------------------------------------------------------

kind("ssn", "US_SSN")(ids.ssn)
kind("itin", "US_ITIN")(ids.itin)
kind("card", "CREDIT_CARD")(ids.card_number)
kind("iban", "IBAN_CODE")(ids.iban)
kind("aba", "ABA_ROUTING_NUMBER")(ids.aba_routing)
kind("npi", "US_NPI")(ids.npi)
kind("vin", "VIN")(ids.vin)
kind("mbi", "HEALTH_PLAN_ID")(ids.mbi)
kind("phone", "PHONE_NUMBER")(phone_number)
kind("fax", "FAX_NUMBER")(phone_number)


@kind("passport", "US_PASSPORT")
def passport(ctx):
    return ctx.pick([ctx.digits(9), ctx.pick("ACEFGHJKLMNPRSTUVWXYZ") + ctx.digits(8)])


@kind("driver_license", "US_DRIVER_LICENSE")
def driver_license(ctx):
    return ctx.pick([
        lambda: ctx.pick("ABCDEFGHJKLMNPRSTVWXYZ") + ctx.digits(7),            # CA, NY-like
        lambda: ctx.pick("ABCDEFGHJKLMNPRSTVWXYZ") + ctx.digits(12),           # FL-like, plain
        lambda: f"{ctx.pick('ABCDEFGHJKLMNPRSTWZ')}{ctx.digits(3)}-{ctx.digits(3)}-{ctx.digits(2)}-{ctx.digits(3)}-{ctx.digits(1)}",
        lambda: ctx.digits(ctx.pick([8, 9])),                                   # TX, NC-like
        lambda: f"{ctx.digits(3)} {ctx.digits(3)} {ctx.digits(3)}",            # NY spaced
    ])()


@kind("us_bank", "US_BANK_NUMBER")
def us_bank(ctx):
    return ctx.digits(ctx.rng.randint(8, 14))


@kind("account_no", "ACCOUNT_NUMBER")
def account_no(ctx):
    return ctx.pick([
        lambda: ctx.digits(ctx.rng.randint(8, 12)),
        lambda: f"{ctx.pick(['AC', 'ACCT', 'CUST', 'A'])}-{ctx.digits(ctx.rng.randint(6, 9))}",
        lambda: f"{ctx.digits(4)} {ctx.digits(4)} {ctx.digits(2)}",
    ])()


@kind("mrn", "MEDICAL_RECORD_NUMBER")
def mrn(ctx):
    return ctx.pick([
        lambda: ctx.digits(ctx.rng.randint(7, 10)),
        lambda: "0" + ctx.digits(7),
        lambda: f"{ctx.pick(['MRN', 'MR', 'H', 'E', 'PT'])}{ctx.pick(['', '-'])}{ctx.digits(ctx.rng.randint(6, 9))}",
        lambda: f"{ctx.digits(3)}-{ctx.digits(2)}-{ctx.digits(2)}",
    ])()


@kind("member_id", "HEALTH_PLAN_ID")
def member_id(ctx):
    return ctx.pick([
        lambda: ids.upper_alnum(ctx, 3, "ABCDEFGHJKLMNPQRSTUVWXYZ") + ctx.digits(9),
        lambda: "W" + ctx.digits(9),
        lambda: ctx.digits(11) + ctx.pick(["01", "02", ""]),
        lambda: f"{ids.upper_alnum(ctx, 2, 'ABCDEFGHJKLMNPRSTUVWXYZ')}{ctx.digits(7)}-{ctx.digits(2)}",
    ])()


@kind("med_license", "MEDICAL_LICENSE")
def med_license(ctx):
    return ctx.pick([
        lambda: ctx.pick(["A", "G", "C"]) + ctx.digits(5),
        lambda: "MD" + ctx.digits(6),
        lambda: f"{ctx.digits(2)}.{ctx.digits(6)}",
        lambda: ctx.pick(["ME", "RN", "DO"]) + ctx.digits(ctx.rng.randint(5, 7)),
    ])()


@kind("device_serial", "DEVICE_ID")
def device_serial(ctx):
    return ctx.pick([
        lambda: ids.upper_alnum(ctx, ctx.rng.randint(10, 12)),
        lambda: f"{ids.upper_alnum(ctx, 3, 'ABCDEFGHJKLMNPRSTUVWXYZ')}-{ctx.digits(6)}-{ids.upper_alnum(ctx, 2)}",
        lambda: ctx.digits(15),  # IMEI-length
    ])()


@kind("mac", "MAC_ADDRESS")
def mac(ctx):
    raw = ctx.fake.mac_address()
    return ctx.pick([raw, raw.upper(), raw.replace(":", "-").upper()])


@kind("plate", "LICENSE_PLATE")
def plate(ctx):
    return ctx.fake.license_plate()


kind("military")(places.military_address)


@kind("age_over_89", "AGE_OVER_89")
def age_over_89(ctx):
    return str(ctx.rng.randint(90, 104))


@kind("date", "DATE_TIME")
def date(ctx):
    return dates.write(ctx, dates.recent_date(ctx))


@kind("datetime", "DATE_TIME")
def datetime_(ctx):
    return dates.with_time(ctx, dates.write(ctx, dates.recent_date(ctx)))


@kind("email", "EMAIL_ADDRESS")
def email(ctx):
    return ctx.fake.user_name() + "@" + ctx.fake.free_email_domain()


# ---- network ---------------------------------------------------------------------------------

@kind("ipv4", "IP_ADDRESS")
def ipv4(ctx):
    return ctx.fake.ipv4_public() if ctx.chance(0.6) else ctx.fake.ipv4_private()


@kind("ipv6", "IP_ADDRESS")
def ipv6(ctx):
    # Real v6 addresses are mostly compressed: a prefix, zero runs, a short interface id.
    prefix = ctx.pick(["2001:db8", "2a02:8108", "2600:1f18", "fe80:", "2001:0db8:85a3", "fd00:"])
    groups = prefix.rstrip(":").split(":")
    while len(groups) < 4:
        groups.append(f"{ctx.rng.randint(0, 0xffff):x}")
    tail = [f"{ctx.rng.randint(0, 0xffff):x}" for _ in range(ctx.rng.randint(0, 4))]
    addr = ipaddress.IPv6Address(":".join(groups + ["0"] * (8 - len(groups) - len(tail)) + tail))
    return ctx.pick([str(addr), addr.exploded, str(addr).upper()])


@kind("cidr", "IP_ADDRESS")
def cidr(ctx):
    if ctx.chance(0.7):
        net = ctx.fake.ipv4_network_class() if ctx.chance(0.3) else ctx.fake.ipv4_private(network=True)
        return net
    return f"{ipv6(ctx)}/{ctx.pick([48, 56, 64])}"


@kind("personal_url", "URL")
def personal_url(ctx):
    user = ctx.fake.user_name()
    return ctx.pick([
        lambda: f"https://www.linkedin.com/in/{user}-{ctx.digits(4)}",
        lambda: f"https://github.com/{user}",
        lambda: f"https://{ctx.fake.domain_name()}/~{user}",
        lambda: f"http://{user}.{ctx.pick(['blogspot.com', 'wordpress.com', 'substack.com'])}",
        lambda: f"https://portal.{ctx.fake.domain_name()}/patients/{ctx.digits(6)}/summary",
        lambda: f"https://{ctx.fake.domain_name()}/account?id={ctx.digits(8)}",
    ])()


@kind("bare_domain", "URL")
def bare_domain(ctx):
    return f"{ctx.fake.user_name()}.{ctx.pick(['de', 'com', 'net', 'io', 'co.uk', 'me', 'nl'])}"


# ---- secrets -----------------------------------------------------------------------------------

kind("api_key", "API_KEY")(secrets.api_key)
kind("aws_access_key", "AWS_ACCESS_KEY")(secrets.aws_access_key)
kind("aws_secret_key", "AWS_SECRET_KEY")(secrets.aws_secret_key)
kind("private_key", "PRIVATE_KEY")(secrets.private_key)
kind("password", "PASSWORD")(secrets.password)
kind("secret", "SECRET")(secrets.generic_secret)


@kind("jwt", "JWT")
def jwt(ctx):
    return secrets.jwt(ctx, ctx.fake.uuid4())


@kind("db_url")
def db_url(ctx):
    """A connection string: only the password in it is a credential."""
    scheme, port = ctx.pick([("postgres", 5432), ("postgresql", 5432), ("mysql", 3306),
                             ("mongodb+srv", None), ("redis", 6379), ("amqp", 5672)])
    user = ctx.pick(["app", "admin", "svc_billing", "readonly", "postgres", "etl"])
    host = ctx.pick(["db.internal", "10.0.3.12", "prod-db-1.cluster-abc123.eu-west-1.rds.amazonaws.com",
                     "cache.svc.cluster.local", "mongo0.corp.net"])
    tail = (f":{port}" if port else "") + ctx.pick(["/app", "/billing", "/0", "/orders?sslmode=require"])
    return [(f"{scheme}://{user}:", None), (secrets.password(ctx).replace("@", "!").replace("/", "_"), "PASSWORD"),
            (f"@{host}{tail}", None)]


# ---- health context ----------------------------------------------------------------------------

kind("condition", "MEDICAL_CONDITION")(lambda ctx: ctx.pick(words.CONDITIONS))
kind("medication", "MEDICATION")(lambda ctx: ctx.pick(words.MEDICATIONS))
kind("procedure", "PROCEDURE")(lambda ctx: ctx.pick(words.PROCEDURES))


@kind("dose")
def dose(ctx):
    return [(f"{ctx.pick(words.DOSES)} {ctx.pick(words.FREQUENCIES)}", None)]


# ---- harmless material (never labelled) --------------------------------------------------------

@kind("version")
def version(ctx):
    return [(ctx.pick([f"{ctx.rng.randint(0, 9)}.{ctx.rng.randint(0, 30)}.{ctx.rng.randint(0, 20)}",
                       f"v{ctx.rng.randint(1, 4)}.{ctx.rng.randint(0, 12)}",
                       f"{ctx.rng.randint(2019, 2026)}.{ctx.rng.randint(1, 12)}",
                       f"{ctx.rng.randint(1, 3)}.{ctx.rng.randint(0, 9)}.{ctx.rng.randint(0, 9)}-rc.{ctx.rng.randint(1, 4)}"]), None)]


@kind("price")
def price(ctx):
    amount = ctx.rng.randint(1, 250000) / 100
    return [(ctx.pick([f"${amount:,.2f}", f"€{amount:.2f}".replace(".", ","), f"£{amount:.2f}",
                       f"{amount:.2f} USD", f"${int(amount)}", f"{int(amount)} EUR"]), None)]


@kind("number")
def number(ctx):
    return [(ctx.pick([str(ctx.rng.randint(2, 999)), f"{ctx.rng.randint(1000, 9999999):,}",
                       f"{ctx.rng.randint(1, 99)}%", f"{ctx.rng.randint(1, 999)}.{ctx.rng.randint(0, 99)}",
                       str(ctx.rng.randint(10000, 99999))]), None)]


@kind("count")
def count(ctx):
    return [(str(ctx.rng.randint(2, 40)), None)]


@kind("big_number")
def big_number(ctx):
    # Long digit runs that are not identifiers: order totals in cents, row counts, byte sizes.
    return [(ctx.pick([str(ctx.rng.randint(10 ** 6, 10 ** 10)), f"{ctx.rng.randint(10 ** 6, 10 ** 9):,}",
                       f"{ctx.rng.randint(1, 9)}{ctx.digits(8)} bytes"]), None)]


@kind("year")
def year(ctx):
    return [(str(ctx.rng.randint(1990, 2027)), None)]


@kind("port")
def port(ctx):
    return [(str(ctx.pick([80, 443, 5432, 6379, 8080, 8443, 9090, 3000, 27017])), None)]


@kind("size")
def size(ctx):
    return [(f"{ctx.rng.randint(1, 512)} {ctx.pick(['MB', 'GB', 'KiB', 'TB', 'ms', 's', 'req/s'])}", None)]


@kind("product")
def product(ctx):
    return [(ctx.pick(words.PRODUCTS), None)]


@kind("team")
def team(ctx):
    return [(ctx.pick(words.TEAMS), None)]


@kind("capitalised")
def capitalised(ctx):
    return [(ctx.pick(words.CAPITALISED), None)]


@kind("language")
def language(ctx):
    return [(ctx.pick(words.LANGUAGES), None)]


@kind("country")
def country(ctx):
    return [(ctx.pick(words.COUNTRIES), None)]


@kind("big_city")
def big_city(ctx):
    return [(ctx.pick(words.BIG_CITIES), None)]


@kind("dish")
def dish(ctx):
    return [(ctx.pick(words.DISHES), None)]


@kind("topic")
def topic(ctx):
    return [(ctx.pick(words.TOPICS), None)]


@kind("event_date")
def event_date(ctx):
    """A date tied to no person (a release, a deadline, a holiday): not a HIPAA identifier."""
    return [(dates.write(ctx, dates.recent_date(ctx, 900)), None)]


@kind("ticket")
def ticket(ctx):
    return [(f"{ctx.pick(['PLAT', 'OPS', 'WEB', 'DATA', 'SEC'])}-{ctx.rng.randint(10, 9999)}", None)]


@kind("sha")
def sha(ctx):
    return [(secrets.rand(ctx, secrets.HEX, ctx.pick([7, 8, 12])), None)]


@kind("doc_ip")
def doc_ip(ctx):
    # RFC 5737 documentation addresses and loopback: what tutorials and configs use.
    return [(ctx.pick(["127.0.0.1", "0.0.0.0", "192.0.2.10", "198.51.100.7", "203.0.113.42", "localhost"]), None)]


@kind("nonperson_city")
def nonperson_city(ctx):
    return [(ctx.pick(places.CITIES["en_US"])[0], None)]


# ---- coverage of known detection misses (countries, regions, addresses, dates, identifiers) ----

@kind("country_of", "LOCATION")
def country_of(ctx):
    """A country a person lives in, moves to or comes from (labelled: it is where someone is)."""
    return places.any_country(ctx)


@kind("region_of", "LOCATION")
def region_of(ctx):
    """A first-level region (state, province, Land, región) where a person lives or comes from."""
    return places.region(ctx)


@kind("country_place")
def country_place(ctx):
    """A country named as a place (general knowledge): not labelled."""
    return [(places.any_country(ctx), None)]


@kind("region_place")
def region_place(ctx):
    return [(places.region(ctx), None)]


kind("postal_block")(lambda ctx: places.postal_block(ctx))
kind("postal_block_country")(lambda ctx: places.postal_block(ctx, with_country=True))
kind("military_block")(places.military_block)


@kind("date_more", "DATE_TIME")
def date_more(ctx):
    return dates.write_more(ctx, dates.recent_date(ctx, 1500))


@kind("datetime_more", "DATE_TIME")
def datetime_more(ctx):
    day = dates.recent_date(ctx)
    no_day = {"month_year", "mon_dash_year", "month_dash_year", "iso_time"}
    while True:
        use_more = ctx.chance(0.5)
        fmt = dates.pick_more_format(ctx) if use_more else dates.pick_format(ctx)
        if fmt not in no_day:
            break
    text = (dates.MORE_FORMATS if use_more else dates.FORMATS)[fmt](day)
    return dates.with_clock(ctx, text)


@kind("event_date_more")
def event_date_more(ctx):
    """A date of no one, in the further formats: not labelled."""
    return [(dates.write_more(ctx, dates.recent_date(ctx, 900)), None)]


@kind("age_words", "AGE_OVER_89")
def age_words(ctx):
    return dates.age_in_words(ctx.rng.randint(90, 104))


@kind("age_any_over_89", "AGE_OVER_89")
def age_any_over_89(ctx):
    n = ctx.rng.randint(90, 109)
    return dates.age_in_words(n) if ctx.chance(0.4) else str(n)


kind("card_any", "CREDIT_CARD")(ids.card_any)
kind("ssn_spaced", "US_SSN")(ids.ssn_spaced)
kind("iban_lower", "IBAN_CODE")(ids.iban_lower)
kind("iban_grouped", "IBAN_CODE")(ids.iban_grouped)


@kind("ipv6_compressed", "IP_ADDRESS")
def ipv6_compressed(ctx):
    """Compressed v6 forms: leading ::, v4-mapped, link-local with a zone id, a /64 prefix."""
    h = lambda: f"{ctx.rng.randint(1, 0xffff):x}"  # noqa: E731
    v4 = ctx.fake.ipv4_public()
    return ctx.pick([
        lambda: f"::ffff:{v4}",
        lambda: f"::FFFF:{v4}",
        lambda: f"::ffff:{h()}:{h()}",
        lambda: f"fe80::{h()}:{h()}:{h()}:{h()}%{ctx.pick(['eth0', 'en0', 'wlan0', 'ens33', '12'])}",
        lambda: f"fe80::{h()}%{ctx.pick(['eth0', 'wlp2s0', 'br0'])}",
        lambda: f"{ctx.pick(['2a02:8108', '2600:1700', '2a01:4f8', '2003:e2'])}:{h()}:{h()}::/64",
        lambda: f"{ctx.pick(['2a02:8108', '2600:1700', '2a01:4f8', '2003:e2'])}:{h()}::{h()}",
        lambda: f"::{h()}:{h()}",
        lambda: f"{ctx.pick(['2a02:8108', '2600:1700', '2a01:4f8', '2607:f8b0'])}::{h()}/128",
    ])()


@kind("ipv4_cidr", "IP_ADDRESS")
def ipv4_cidr(ctx):
    """A v4 host or network with its prefix length, as firewall rules write it."""
    if ctx.chance(0.5):
        return f"{ctx.fake.ipv4_public()}/{ctx.pick([32, 32, 24, 28, 29])}"
    return ctx.fake.ipv4_private(network=True) if ctx.chance(0.5) else f"{ctx.fake.ipv4_private()}/32"


@kind("doc_cidr")
def doc_cidr(ctx):
    """Documentation ranges (RFC 5737) and loopback: not labelled."""
    return [(ctx.pick(["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "127.0.0.0/8", "192.0.2.15/32",
                       "198.51.100.77", "203.0.113.9"]), None)]


@kind("idn_email", "EMAIL_ADDRESS")
def idn_email(ctx):
    return f"{ctx.fake.user_name()}@{ids.idn_domain(ctx)}"


# ---- harmless material for cleared prompts (never labelled) ------------------------------------

DEVICE_MODELS = ["Galaxy S24 Ultra", "Galaxy A54", "Pixel 8 Pro", "Pixel 7a", "iPhone 15 Pro Max",
                 "iPhone 13 mini", "ThinkPad T14 Gen 4", "XPS 13 9340", "RTX 4070 Ti", "Ryzen 7 7800X3D",
                 "Core i7-13700K", "M3 Max", "Model Y", "Series 9", "Surface Pro 11", "Xperia 1 V",
                 "OnePlus 12", "Fire TV Stick 4K", "Mi Band 8", "Switch OLED", "Quest 3", "EOS R6 Mark II",
                 "Z Fold 6", "A7 IV", "ZenBook 14 OLED", "Redmi Note 13"]
FRAMEWORKS = ["Django", "Flask", "FastAPI", "Rails", "Laravel", "Spring Boot", "React", "Vue", "Svelte",
              "Angular", "Next.js", "Nuxt", "Express", "NestJS", "Phoenix", "Actix", "Axum", "Gin",
              "Ktor", "ASP.NET Core", "SwiftUI", "Flutter", "Jetpack Compose", "Tauri", "Electron"]


@kind("device_model")
def device_model(ctx):
    return [(ctx.pick(DEVICE_MODELS), None)]


@kind("framework")
def framework(ctx):
    return [(ctx.pick(FRAMEWORKS), None)]


@kind("small_number")
def small_number(ctx):
    return [(str(ctx.rng.randint(2, 9999)), None)]


@kind("semver")
def semver(ctx):
    r = ctx.rng.randint
    return [(ctx.pick([f"{r(0, 30)}.{r(0, 40)}.{r(0, 99)}", f"v{r(0, 9)}.{r(0, 20)}.{r(0, 9)}-beta.{r(1, 9)}",
                       f"{r(1, 3)}.{r(0, 14)}", f"{r(2020, 2026)}.{r(1, 12):02d}.{r(1, 4)}",
                       f"build {r(1000, 99999)}", f"{r(10, 125)}.0.{r(1000, 6999)}.{r(10, 250)}"]), None)]
