"""Serial, process and Ray give the same JSON, apart from timing, on 22 targets."""

from __future__ import annotations

import json

from tests.fleet.conftest import comparable, run

CHECK = ("check", "--no-probe", "--no-report", "--format", "json")


def test_every_executor_gives_the_same_json(fleet, ray_head):
    root, args = fleet
    address, auth = ray_head
    serial = run(*CHECK, *args, cwd=root)
    assert serial.code == 1, serial.stderr  # some models overfit
    runs = serial.json()["runs"]
    assert len(runs) == 22
    assert {r["verdict"]["status"] for r in runs} == {"overfitting", "healthy"}
    samples = {r["run"]["name"]: r["run"]["samples"] for r in runs}
    assert samples["models/l0/model.onnx"] == 20 * 32  # steps per epoch x hparams.yaml batch
    cluster = ("--executor", "ray", "--ray-address", address, "--ship-inputs")
    others = {
        "process": run(*CHECK, *args, "--jobs", "2", cwd=root),
        "ray": run(*CHECK, *args, "--executor", "ray", "--jobs", "2", cwd=root),
        "ray-cluster-shipped": run(*CHECK, *args, *cluster, cwd=root, env=auth),
    }
    expected = comparable(serial)
    for name, result in others.items():
        assert result.code == 1, (name, result.stderr[-2000:])
        assert comparable(result) == expected, name
        assert result.json()["run"]["executor"] == name.split("-")[0], name
    assert "22 of 22 targets done" in others["ray"].stderr


def test_shipped_inputs_name_the_drivers_paths(fleet, ray_head):
    """With --ship-inputs the worker reads a copy, yet every path in the report (absolute ones
    included) is the driver's, and the ONNX external-data file travelled with its model."""
    root, _ = fleet
    address, auth = ray_head
    model = root / "models" / "m00" / "model.onnx"
    args = (model, root / "models" / "m00" / "logs.csv")
    shipped = run(
        *CHECK, *args, "--executor", "ray", "--ray-address", address, "--ship-inputs",
        cwd=root, env=auth,
    )  # fmt: skip
    serial = run(*CHECK, *args, cwd=root)
    assert shipped.code == serial.code, shipped.stderr[-2000:]
    assert comparable(shipped) == comparable(serial)
    document = shipped.json()
    assert document["model"]["source"] == str(model)
    assert document["model"]["total_params"] == 11074
    assert "overfitlint-inputs-" not in json.dumps(document)
