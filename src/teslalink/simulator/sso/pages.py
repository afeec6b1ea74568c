"""The SSO's HTML: the login form, the second-factor page, error and logout pages, the captcha.

Plain server-rendered HTML, as a client that scrapes the form expects: every hidden input of the
real page (`_csrf`, `_phase`, `_process`, `transaction_id`, `cancel`), the `identity` and
`credential` inputs, and a `captcha` input with `<img src="/captcha">` only when one is due. Every
value is HTML-escaped. The pages carry no script: a person can sign in with any browser, and the
second-factor page names the JSON endpoints (`/oauth2/v3/authorize/mfa/factors` and
`/oauth2/v3/authorize/mfa/verify`) that scripted clients call, which is also how those clients
recognised that page.

The captcha is an SVG whose characters are `<text>` elements: a person reads it, and so can a
test (the twin is not there to stop robots).
"""

from __future__ import annotations

import random
from html import escape
from typing import Any

__all__ = ["captcha_svg", "error_page", "login_page", "logout_page", "mfa_page"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#171a20}"
    "label{display:block;margin-top:1rem}input[type=email],input[type=password],input[type=text]"
    "{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1.25rem;padding:.6rem 1.2rem}"
    ".error{color:#b00020}"
)


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def _error(message: str | None) -> str:
    return f'<p class="error" role="alert">{escape(message)}</p>\n' if message else ""


def login_page(
    *,
    action: str,
    transaction_id: str,
    csrf: str,
    identity: str | None,
    captcha: bool,
    error: str | None = None,
) -> str:
    """The sign-in form; it posts back to `action` (the authorize URL with its query)."""
    hidden = "\n".join(
        (
            _hidden("_csrf", csrf),
            _hidden("_phase", "authenticate"),
            _hidden("_process", "1"),
            _hidden("transaction_id", transaction_id),
            _hidden("cancel", ""),
        )
    )
    captcha_block = ""
    if captcha:
        captcha_block = (
            '<img src="/captcha" alt="captcha" width="150" height="50">\n'
            '<label for="captcha">Characters in the image</label>\n'
            '<input type="text" id="captcha" name="captcha" autocomplete="off" required>\n'
        )
    body = (
        "<h1>Sign In</h1>\n"
        f"{_error(error)}"
        f'<form method="post" id="form" action="{escape(action)}">\n{hidden}\n'
        '<label for="identity">Email</label>\n'
        f'<input type="email" id="identity" name="identity" value="{escape(identity or "")}" '
        'autocomplete="username" required>\n'
        '<label for="credential">Password</label>\n'
        '<input type="password" id="credential" name="credential" autocomplete="current-password" required>\n'
        f"{captcha_block}"
        '<button type="submit">Sign In</button>\n'
        "</form>"
    )
    return _document("Tesla SSO – Sign In", body)


def mfa_page(
    *,
    action: str,
    transaction_id: str,
    csrf: str,
    factor: dict[str, Any],
    error: str | None = None,
) -> str:
    """The second-factor page: a passcode form for people, the JSON endpoints for scripts."""
    factors_url = f"/oauth2/v3/authorize/mfa/factors?transaction_id={transaction_id}"
    body = (
        "<h1>Multi-Factor Authentication</h1>\n"
        f"{_error(error)}"
        "<p>Enter the passcode shown by your authenticator app "
        f"({escape(str(factor.get('name', 'Authenticator')))}).</p>\n"
        f'<form method="post" id="form" action="{escape(action)}" '
        f'data-factors="{escape(factors_url)}" data-verify="/oauth2/v3/authorize/mfa/verify">\n'
        f"{_hidden('_csrf', csrf)}\n{_hidden('_phase', 'mfa')}\n{_hidden('transaction_id', transaction_id)}\n"
        f"{_hidden('factor_id', str(factor.get('id', '')))}\n{_hidden('cancel', '')}\n"
        '<label for="passcode">Passcode</label>\n'
        '<input type="text" id="passcode" name="passcode" inputmode="numeric" pattern="[0-9]{6}" '
        'maxlength="6" autocomplete="one-time-code" required>\n'
        '<button type="submit">Submit</button>\n'
        "</form>"
    )
    return _document("Tesla SSO – Multi-Factor Authentication", body)


def error_page(status: int, title: str, message: str) -> str:
    """A plain error page, as an OAuth server shows when it must not redirect."""
    return _document(f"{status} {title}", f"<h1>{escape(title)}</h1>\n<p>{escape(message)}</p>")


def logout_page() -> str:
    return _document("Tesla SSO – Signed Out", "<h1>Signed Out</h1>\n<p>You have been signed out.</p>")


def captcha_svg(text: str, rng: random.Random) -> str:
    """An SVG image of `text`: jittered, rotated characters over a few noise curves."""
    width, height = 150, 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0,0,{width},{height}">',
        '<rect width="100%" height="100%" fill="#f4f4f4"/>',
    ]
    for _ in range(3):
        y0, y1 = rng.randint(5, 45), rng.randint(5, 45)
        cx, cy = rng.randint(40, 110), rng.randint(0, 50)
        colour = rng.randrange(0x404040, 0xA0A0A0)
        parts.append(
            f'<path d="M2 {y0} Q{cx} {cy} {width - 2} {y1}" stroke="#{colour:06x}" '
            'fill="none" stroke-width="1.5"/>'
        )
    step = (width - 20) / max(1, len(text))
    for i, char in enumerate(text):
        x = 12 + i * step + rng.uniform(-2, 2)
        y = 34 + rng.uniform(-4, 4)
        angle = rng.uniform(-20, 20)
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" transform="rotate({angle:.1f} {x:.1f} {y:.1f})" '
            f'font-family="monospace" font-size="28" fill="#{rng.randrange(0x101010, 0x606060):06x}">'
            f"{escape(char)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
