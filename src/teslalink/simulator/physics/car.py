"""Placeholder: being written."""

from typing import Any


class Car:
    def __init__(self, world: Any, account: Any, *, id: int, vehicle_id: int, **options: Any) -> None:
        self.world, self.account, self.id, self.vehicle_id = world, account, id, vehicle_id
