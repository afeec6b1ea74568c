"""One reader for `--faults`, `--quirks` and `--rate-limits`: the same cutting, the same numbers."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from teslalink.cli.sim import sim
from teslalink.errors import ConfigError
from teslalink.simulator import Quirks
from teslalink.simulator.faults import Faults
from teslalink.simulator.owner_api import RateLimits
from teslalink.simulator.spec_parser import SpecItem, spec_items, spec_number


def test_items_are_cut_at_commas_and_the_first_equals_sign() -> None:
    assert spec_items(" latency=0.1-0.4 ,, stall ,Drops=, a=b=c") == [
        SpecItem("latency=0.1-0.4", "latency", "0.1-0.4"),
        SpecItem("stall", "stall", None),
        SpecItem("Drops=", "Drops", ""),
        SpecItem("a=b=c", "a", "b=c"),
    ]
    assert spec_items("Drops=").pop().key == "drops"


@pytest.mark.parametrize("text", ["x", "nan", "inf", "-inf", ""])
def test_a_number_is_finite_or_a_one_line_error(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^thing 'n' needs a (finite )?number, got "):
        spec_number("thing", "n", text)


@pytest.mark.parametrize(
    ("parse", "spec"),
    [
        (Faults.parse, "5xx=inf"),
        (Quirks.parse, "slow=inf"),
        (RateLimits.parse, "vehicle=inf"),  # was an OverflowError from int(inf)
        (RateLimits.parse, "account=nan"),  # was a ValueError from int(nan)
        (RateLimits.parse, "penalty=inf"),
    ],
)
def test_every_spec_refuses_a_non_finite_number_alike(parse: object, spec: str) -> None:
    assert callable(parse)
    with pytest.raises(ConfigError, match=r"needs a finite number, got '(inf|nan)'$"):
        parse(spec)


def test_the_cli_answers_a_bad_rate_limit_as_a_usage_error() -> None:
    result = CliRunner().invoke(sim, ["all", "--rate-limits", "vehicle=inf"])
    assert result.exit_code == 2
    assert "rate limit 'vehicle' needs a finite number, got 'inf'" in result.output
    assert "Traceback" not in result.output
