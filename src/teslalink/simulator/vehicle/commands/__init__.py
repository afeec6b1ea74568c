"""Vehicle commands: one small function per command, registered by its path name.

`Car.command_response` checks what the cloud checks first (unknown name, in service, signing,
asleep) and then calls the function registered here with the synced car and a `Call` (world
time and the request's parameters). A function answers ``(result, reason)``: reason is "" on
success, the car's reason otherwise. Parameters arrive as JSON or form values, so numbers and
booleans are accepted as strings too ("true", "1", "75").

Reasons are the real ones where they are known (docs/reference.md §2.3: ``user_not_present``,
``already_set``, ``is_charging``, ``not_charging``, ``complete``, ``disconnected``). Where no
source gives the string, we chose one and name it here, so a client can rely on *something*:

==============================  ===========================================================
reason (our choice)             when
==============================  ===========================================================
``invalid_value``               a parameter is missing, malformed or out of range
``incorrect_pin``               a speed-limit or valet PIN that does not match the set one
``speed_limit_active``          speed_limit_set_limit / speed_limit_clear_pin while active
``not_active``                  speed_limit_deactivate while inactive
``too_far_from_vehicle``        window close / HomeLink with a lat/lon more than 1 km away
``homelink_not_nearby``         trigger_homelink away from the HomeLink device
``not_supported``               the car has no such hardware (sun roof, HomeLink)
``cable_connected``             charge_port_door_close with a cable in
``no_update_available``         schedule_software_update with nothing downloaded
``no_update_scheduled``         cancel_software_update with nothing scheduled
``invalid_password``            remote_start_drive with a wrong account password
``software_update_in_progress`` any command while an update installs (see vehicle.car)
==============================  ===========================================================
"""

from __future__ import annotations

from . import body, charging, climate, other  # noqa: F401 - importing registers the commands
from .base import COMMANDS, EXTRAS, Call, Handler

__all__ = ["COMMANDS", "EXTRAS", "Call", "Handler"]
