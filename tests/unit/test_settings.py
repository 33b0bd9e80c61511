"""Settings travel to worker processes and Ray tasks as JSON: they come back equal."""

from __future__ import annotations

from pathlib import Path

from overfitlint.settings import LoadHints, ProbeConfig, RuleConfig, Settings


def test_settings_survive_their_json_form():
    settings = Settings(
        load=LoadHints(
            samples=1200,
            data=(Path("train.csv"), Path("val.csv")),
            weights=Path("w.pt"),
            study="s",
            server_timeout=3.0,
        ),
        rules=RuleConfig(selected=("OFL301",), thresholds={"OFL301": {"patience": 3}}),
        probe=ProbeConfig(data=Path("data.npz"), input_shape=(3, 32, 32)),
    )
    back = Settings.from_dict(settings.to_dict())
    assert back == settings
    assert isinstance(back.load.data, tuple) and isinstance(back.probe.data, Path)
    assert Settings.from_dict(Settings().to_dict()) == Settings()
