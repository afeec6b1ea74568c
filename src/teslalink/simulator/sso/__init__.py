"""The Tesla SSO twin (auth.tesla.com and auth.tesla.cn) and the world's token authority.

    auth = world.auth                                  # tokens.TokenAuthority, one per world
    app = create_sso_app(world, region="na", base_urls={"na": na_url, "cn": cn_url})
    async with serve_sso(world) as urls:               # both regions on loopback ports
        ...                                            # urls == {"na": "http://127.0.0.1:p/", ...}

Modules: `tokens` (codes, access/refresh/id tokens, revocation), `login` (the login state machine:
transactions, captcha, locks, MFA), `app` (aiohttp handlers), `pages` (HTML and the captcha SVG),
`server` (serving both regions), `totp` and `jwt` (standard-library RFC 6238 and HS256 JWT).
"""

from __future__ import annotations

from .app import SESSION_COOKIE, create_sso_app
from .login import LoginDesk, LoginError, LoginPolicy
from .server import serve_sso
from .tokens import DEFAULT_CLIENT_ID, DEFAULT_SCOPE, GrantError, InvalidToken, TokenAuthority, pkce_challenge

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_SCOPE",
    "SESSION_COOKIE",
    "GrantError",
    "InvalidToken",
    "LoginDesk",
    "LoginError",
    "LoginPolicy",
    "TokenAuthority",
    "create_sso_app",
    "pkce_challenge",
    "serve_sso",
]
