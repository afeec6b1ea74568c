"""Tesla's cloud: login and tokens, the Owner API (vehicles, commands, energy sites), streaming.

Every entry point takes its base URLs from `CloudUrls` (options or the environment), so the same
code talks to Tesla, to a proxy, or to teslalink's own twin (`teslalink sim all`).
"""

from __future__ import annotations

from .config import CloudUrls
from .provider import StaticToken, TokenProvider

__all__ = ["CloudUrls", "StaticToken", "TokenProvider"]

from .auth import Auth, StagedLogin
from .tokens import MemoryTokenStore, Token, TokenStore

__all__ += ["Auth", "MemoryTokenStore", "StagedLogin", "Token", "TokenStore"]
