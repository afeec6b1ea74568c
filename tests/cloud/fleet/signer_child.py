"""A separate process that signs commands with VcpSigner, for the tests of its on-disk sessions.

    python signer_child.py once        one command; prints {"answer": ..., "statuses": [...]}
    python signer_child.py handshakes  forget the session and sign again, forever (to be killed)

Everything comes from the environment: SIGNER_KEY (the key file), SIGNER_ACCOUNT (its sessions go
to the account's default cache file under XDG_CONFIG_HOME), SIGNER_DOMAIN, SIGNER_URL (the Fleet
host), SIGNER_VIN, SIGNER_TOKEN (never printed), SIGNER_COMMAND (JSON [name, params]).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from teslalink._http import Transport
from teslalink.cloud.fleet.signer import VcpSigner
from teslalink.cloud.provider import StaticToken
from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.keys import PartnerKey


async def main(mode: str) -> None:
    env = os.environ
    signer = VcpSigner.for_account(
        PartnerKey.load(env["SIGNER_KEY"]), env["SIGNER_ACCOUNT"], app_domain=env["SIGNER_DOMAIN"]
    )
    name, params = json.loads(env["SIGNER_COMMAND"])
    tokens = StaticToken(env["SIGNER_TOKEN"])
    statuses: list[int] = []
    async with Transport() as http:
        while True:
            answer = await signer.send(
                http, env["SIGNER_URL"], env["SIGNER_VIN"], tokens, name, params, on_status=statuses.append
            )
            if mode == "once":
                print(json.dumps({"answer": answer, "statuses": statuses}))
                return
            signer.sessions.session(env["SIGNER_VIN"], build(name, params).domain).forget()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
