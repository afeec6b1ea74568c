"""vehicle.py is the client only: the model and the VIN helpers have their own modules, and every
name users imported from `teslalink.cloud.vehicle` or `teslalink.cloud` before the split still is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import teslalink.cloud
from teslalink.cloud import vehicle, vehicle_data, vin

# Every public name of teslalink.cloud.vehicle before the split.
BEFORE_SPLIT = """
    ALL_ENDPOINTS ALREADY_REASONS COMPOSITOR_URL CommandResult DecodedVin IMAGE_VIEWS KM_PER_MILE
    OPTION_CODES Progress SoftwareUpdate SpeedLimitMode TEMP_MAX_C TEMP_MIN_C Vehicle VehicleData
    compose_image_url decode_vin describe_option_codes is_already
""".split()


@pytest.mark.parametrize("name", BEFORE_SPLIT)
def test_every_name_is_still_importable_from_vehicle(name: str) -> None:
    assert hasattr(vehicle, name)


def test_each_job_lives_in_its_own_module() -> None:
    assert vehicle.Vehicle.__module__ == "teslalink.cloud.vehicle"
    assert vehicle.VehicleData is vehicle_data.VehicleData is teslalink.cloud.VehicleData
    assert vehicle.SpeedLimitMode is vehicle_data.SpeedLimitMode
    for name in ("decode_vin", "describe_option_codes", "compose_image_url", "OPTION_CODES", "DecodedVin"):
        assert getattr(vehicle, name) is getattr(vin, name)
    assert teslalink.cloud.decode_vin is vin.decode_vin


def test_the_model_and_the_vin_helpers_do_not_import_the_client() -> None:
    """So a watcher or a recorder can read VehicleData and decode VINs without the client's layers."""
    for module in (vehicle_data, vin):
        source = Path(module.__file__ or "").read_text("utf-8")
        assert not re.search(r"^from \.(vehicle|api|streaming) import", source, re.MULTILINE), module.__name__
