"""Malformed logs through the command line: one clear line and exit 2, or a normal result.

More than 200 broken files, built from valid logs of every format by deterministic
mutations (binary junk, encodings, byte order marks, quoting, ragged rows, NaN/inf
and empty cells, duplicated and shuffled epochs, gigantic numbers, cut files, a
0-byte file, a truncated event file), go through ``overfitlint.cli.main`` in this
process (a fresh process per file would take minutes). None may end in a traceback,
an internal error, a crashed rule (OFL901) or a hang.
"""

from __future__ import annotations

import json
import random
import signal
import sys
from pathlib import Path

import pytest

from overfitlint.cli import main
from tests.builders import logs as build

LOSS, VAL = build.overfit_curve(24, best=8)
SECONDS_PER_FILE = 20


def _valid_logs(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    made = {
        "keras.csv": build.keras_csv(
            folder / "keras.csv",
            LOSS,
            VAL,
            extra={"accuracy": [0.5] * 24, "val_accuracy": [0.4] * 24},
        ),
        "lightning.csv": build.lightning_metrics_csv(
            folder / "lightning", [1.0 - 0.01 * i for i in range(48)], VAL, hparams=None
        ),
        "trainer_state.json": build.hf_trainer_state(folder / "trainer_state.json", LOSS, VAL[:12]),
        "history.json": build.keras_history_json(
            folder / "history.json", {"loss": LOSS, "val_loss": VAL}
        ),
        "fastai.csv": build.fastai_csv(folder / "fastai.csv", LOSS, VAL),
        "results.csv": build.ultralytics_results_csv(folder / "results.csv", LOSS, VAL),
        "log.jsonl": build.json_lines(
            folder / "log.jsonl",
            [
                {"epoch": i, "loss": a, "val_loss": b}
                for i, (a, b) in enumerate(zip(LOSS, VAL, strict=True))
            ],
        ),
    }
    events = build.torch_summary_writer(folder / "tb", LOSS, VAL)
    made["events.tfevents"] = next(events.glob("events.out.tfevents.*"))
    return {name: path.read_bytes() for name, path in made.items()}


def _mutations(valid: dict[str, bytes], rng: random.Random) -> list[tuple[str, bytes]]:
    cases: list[tuple[str, bytes]] = [
        ("empty.csv", b""),
        ("blank.csv", b"\n\n  \r\n"),
        ("junk.bin", bytes(rng.randrange(256) for _ in range(4096))),
        ("junk-text.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
        ("latin1.csv", "epoch,loss,val_loss\n0,1,1 \xe9\n".encode("latin-1")),
        ("bom8.csv", b"\xef\xbb\xbf" + valid["keras.csv"]),
        ("bom16.csv", "epoch,loss,val_loss\n0,1,1\n1,0.5,0.9\n".encode("utf-16")),
        ("bom16-odd.csv", b"\xff\xfe" + b"e\x00p\x00o"),
        ("bom32.csv", b"\x00\x00\xfe\xff" + b"\x00" * 40),
        ("quoted.csv", b'"epoch","loss","val_loss"\n"0","1.0","1.1"\n"1","0.9","1.2"\n'),
        ("unterminated.csv", b'epoch,loss,val_loss\n0,1.0,"1.1\n1,0.9,1.2\n'),
        ("header-only.csv", b"epoch,loss,val_loss\n"),
        ("one-row.csv", b"epoch,loss,val_loss\n0,1.0,1.1\n"),
        ("ragged-long.csv", b"epoch,loss,val_loss\n0,1,1,7,8\n"),
        ("ragged-short.csv", b"epoch,loss,val_loss\n0\n1,0.5\n2,0.4,0.3\n"),
        ("nan-inf.csv", b"epoch,loss,val_loss\n0,nan,inf\n1,-inf,NaN\n2,inf,nan\n"),
        ("all-empty.csv", b"epoch,loss,val_loss\n0,,\n1,,\n"),
        ("gigantic.csv", b"epoch,loss,val_loss\n0,1e400,1e308\n1,-1e400,1e-400\n2,1e308,1e308\n"),
        (
            "gigantic.json",
            b'{"loss": [1e999, 1e308, 2], "val_loss": [1, 1' + b"0" * 320 + b", 3]}",
        ),
        ("huge-int.json", b'{"loss": [1, 2], "val_loss": [1' + b"0" * 5000 + b", 3]}"),
        ("huge-epoch.csv", b"epoch,loss,val_loss\n1e300,1,1\n-5,1,1\n"),
        ("text-epoch.csv", b"epoch,loss,val_loss\nfirst,1,1\nsecond,1,1\n"),
        ("dup-header.csv", b"epoch,loss,loss\n0,1,1\n"),
        ("empty-name.csv", b"epoch,,val_loss\n0,1,1\n"),
        ("no-loss.csv", b"epoch,foo,bar\n0,1,2\n"),
        ("ambiguous.csv", b"epoch,loss,eval_loss,valid/loss\n0,1,1,1\n"),
        ("deep.json", b"[" * 100000 + b"]" * 100000),
        ("list-of-numbers.json", b"[1, 2, 3]"),
        ("string.json", b'"hello"'),
        ("null.json", b"null"),
        ("obj-strings.json", b'{"loss": ["a", "b"], "val_loss": ["c"]}'),
        (
            "bad-history.json",
            b'{"log_history": [1, "x", null, {"epoch": "one", "eval_loss": "x"}]}',
        ),
        ("hf-empty.json", b'{"log_history": []}'),
        (
            "jsonl-bad-middle.jsonl",
            b'{"epoch": 0, "loss": 1}\n{not json}\n{"epoch": 2, "loss": 1}\n',
        ),
        ("jsonl-list-line.jsonl", b'{"epoch": 0, "loss": 1}\n[1,2]\n{"epoch": 2}\n'),
        ("control.csv", b"epoch,lo\x01ss,val\x1b[31m_loss\n0,1,1\n"),
        ("long-name.csv", b"epoch," + b"x" * 100000 + b",val_loss\n0,1,1\n"),
        ("long-line.csv", b"epoch,loss,val_loss\n" + b"0," * 200000 + b"\n"),
        ("cr-only.csv", b"epoch,loss,val_loss\r0,1,1\r1,0.5,0.9\r"),
        ("tabs-and-commas.csv", b"epoch\tloss,val_loss\n0\t1,1\n"),
        ("truncated.tfevents", valid["events.tfevents"][: len(valid["events.tfevents"]) // 2]),
        ("header-only.tfevents", valid["events.tfevents"][:12]),
        (
            "bad-crc.tfevents",
            valid["events.tfevents"][:8] + b"\x00\x00\x00\x00" + valid["events.tfevents"][12:],
        ),
        ("zeros.tfevents", b"\x00" * 64),
    ]
    epochs_keras = valid["keras.csv"].decode().splitlines()
    header, rows = epochs_keras[0], epochs_keras[1:]
    for round_ in range(6):
        shuffled = rows[:]
        rng.shuffle(shuffled)
        cases.append((f"shuffled{round_}.csv", ("\n".join([header, *shuffled]) + "\n").encode()))
        doubled = rows + rows[rng.randrange(len(rows)) :]
        cases.append((f"duplicated{round_}.csv", ("\n".join([header, *doubled]) + "\n").encode()))
    for name, data in valid.items():
        suffix = name.rsplit(".", 1)[-1]
        for cut in (1, 7, len(data) // 3, len(data) // 2, len(data) - 3, len(data) - 1):
            cases.append((f"cut{cut}-{name}", data[:cut]))
        for index in range(8):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 12)):
                position = rng.randrange(len(mutated))
                mutated[position] = rng.randrange(256)
            cases.append((f"flip{index}-{name}", bytes(mutated)))
        for index in range(4):
            lines = data.split(b"\n")
            if len(lines) > 2:
                a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[a], lines[b] = lines[b], lines[a]
                if index % 2:
                    del lines[rng.randrange(len(lines))]
            cases.append((f"lines{index}-{name}", b"\n".join(lines)))
        for index, token in enumerate((b"nan", b"", b"1e999", b"-0", b"NA", b"null")):
            replaced = data.replace(b"0.", token + b"0." if index % 2 else token, 3)
            cases.append((f"token{index}-{name}", replaced))
        cases.append((f"crlf-{name}", data.replace(b"\n", b"\r\n")))
        if suffix in ("csv", "jsonl", "json"):
            cases.append((f"semicolon-{name}", data.replace(b",", b";")))
    return cases


def _run(path: Path, capsys) -> tuple[int, str, str]:
    argv = sys.argv
    sys.argv = ["overfitlint", "check", str(path), "--no-report", "--format", "json", "--no-probe"]
    signal.alarm(SECONDS_PER_FILE)
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        signal.alarm(0)
        sys.argv = argv
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.skipif(not hasattr(signal, "alarm"), reason="needs SIGALRM for the hang guard")
def test_malformed_logs_never_crash(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def hang(signum, frame):
        raise TimeoutError(f"a log took over {SECONDS_PER_FILE} s")

    previous = signal.signal(signal.SIGALRM, hang)
    try:
        valid = _valid_logs(tmp_path / "valid")
        cases = _mutations(valid, random.Random(20240501))
        assert len(cases) >= 200
        outcomes = {0: 0, 1: 0, 2: 0}
        for index, (name, data) in enumerate(cases):
            folder = tmp_path / "cases" / str(index)
            folder.mkdir(parents=True)
            path = folder / name
            path.write_bytes(data)
            code, out, err = _run(path, capsys)
            assert code in (0, 1, 2), (name, code, err[-500:])
            assert "Traceback" not in out + err, (name, err[-2000:])
            assert "internal error" not in err, (name, err)
            outcomes[code] += 1
            if code == 2:
                lines = err.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("overfitlint: error: "), (name, err)
            else:
                report = json.loads(out)
                codes = {f["code"] for f in report["findings"]}
                assert "OFL901" not in codes, (name, report["findings"])
        print(f"{len(cases)} malformed logs: {outcomes}")
        assert outcomes[2] >= 40 and outcomes[0] + outcomes[1] >= 40, outcomes
    finally:
        signal.signal(signal.SIGALRM, previous)
