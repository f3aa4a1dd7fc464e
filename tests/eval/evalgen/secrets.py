"""Credentials in the shapes vendors issue them: random bodies, real prefixes and lengths.

None of these is a live credential: the bodies come from the record's seeded generator. Some
vendors here have no rule in rules/secrets.toml on purpose (npm, Hugging Face, SendGrid,
Twilio): pasted tokens in real traffic are not limited to the ones sluice knows.
"""

import base64
import string

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"


def rand(ctx, alphabet, n):
    return "".join(ctx.pick(alphabet) for _ in range(n))


def api_key(ctx):
    """A vendor token (API_KEY)."""
    maker = ctx.pick([
        lambda: "ghp_" + rand(ctx, ALNUM, 36),
        lambda: "github_pat_" + rand(ctx, ALNUM, 22) + "_" + rand(ctx, ALNUM, 59),
        lambda: "gho_" + rand(ctx, ALNUM, 36),
        lambda: "glpat-" + rand(ctx, B64URL, 20),
        lambda: "xoxb-" + ctx.digits(12) + "-" + ctx.digits(13) + "-" + rand(ctx, ALNUM, 24),
        lambda: "xoxp-" + ctx.digits(12) + "-" + ctx.digits(12) + "-" + ctx.digits(13) + "-" + rand(ctx, HEX, 32),
        lambda: ctx.pick(["sk_live_", "rk_live_", "sk_test_"]) + rand(ctx, ALNUM, 24 + ctx.rng.randint(0, 75)),
        lambda: "sk-proj-" + rand(ctx, B64URL, 48) + "T3BlbkFJ" + rand(ctx, B64URL, 48),
        lambda: "sk-" + rand(ctx, ALNUM, 48),
        lambda: "sk-ant-api03-" + rand(ctx, B64URL, 93) + "AA",
        lambda: "AIza" + rand(ctx, B64URL, 35),
        lambda: "npm_" + rand(ctx, ALNUM, 36),
        lambda: "hf_" + rand(ctx, ALNUM, 34),
        lambda: "SG." + rand(ctx, B64URL, 22) + "." + rand(ctx, B64URL, 43),
        lambda: "SK" + rand(ctx, HEX, 32),
    ])
    return maker()


def aws_access_key(ctx):
    return ctx.pick(["AKIA", "ASIA"]) + rand(ctx, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


def aws_secret_key(ctx):
    return rand(ctx, B64, 40)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(ctx, subject):
    header = b64url(ctx.pick([b'{"alg":"HS256","typ":"JWT"}', b'{"alg":"RS256","typ":"JWT","kid":"k1"}']))
    payload = b64url(
        ('{"sub":"%s","iat":%d,"exp":%d}' % (subject, 1767000000 + ctx.rng.randint(0, 9999999),
                                             1768000000 + ctx.rng.randint(0, 9999999))).encode())
    return f"{header}.{payload}.{rand(ctx, B64URL, ctx.pick([43, 86, 342]))}"


def private_key(ctx):
    kind, lines = ctx.pick([("RSA PRIVATE KEY", 25), ("PRIVATE KEY", 26), ("EC PRIVATE KEY", 4),
                            ("OPENSSH PRIVATE KEY", 7), ("ENCRYPTED PRIVATE KEY", 29)])
    body = "\n".join(rand(ctx, B64, 64) for _ in range(lines - 1))
    body += "\n" + rand(ctx, B64, ctx.rng.randint(8, 60)) + ctx.pick(["", "=", "=="])
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


WORDS = ["river", "Falcon", "maple", "Orbit", "copper", "Tango", "winter", "harbor", "Sunset",
         "violet", "Rocket", "cactus", "Summer", "pebble", "Nimbus", "walnut"]


def password(ctx):
    style = ctx.pick(["random", "random", "words", "leet"])
    if style == "random":
        return rand(ctx, ALNUM + "!@#$%^&*-_=+", ctx.rng.randint(10, 24))
    if style == "words":
        return ctx.pick(WORDS) + ctx.pick(["-", "_", ".", ""]) + ctx.pick(WORDS) + ctx.digits(ctx.rng.randint(1, 4)) + ctx.pick(["!", "#", "", "?"])
    return ctx.pick(["P@ssw0rd", "Welc0me", "S3cur3", "Adm1n", "Qwerty", "L3tM3In"]) + ctx.digits(ctx.rng.randint(2, 4)) + ctx.pick(["!", "$", "#"])


def generic_secret(ctx):
    """A high-entropy value next to a secret-ish key name (SECRET)."""
    return ctx.pick([
        lambda: rand(ctx, HEX, ctx.pick([32, 40, 64])),
        lambda: rand(ctx, B64URL, ctx.pick([32, 43, 48])),
        lambda: rand(ctx, B64, 44),
    ])()
