"""Ctrl-C or SIGTERM during a ``profile --engine ray`` run (a real local Ray instance, in a subprocess):
one line, exit 130 or 143 as every command, Ray's processes gone, nothing written."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

COPIES = 12          # SST-2 train x 12 (800k rows): the job outlasts the signal on a fast machine


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (from /proc), with its command line."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = {}, [pid]
    while todo:
        for kid in children.get(todo.pop(), []):
            found[kid] = _cmdline(kid)
            todo.append(kid)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, shared_data) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "shards"
    folder.mkdir()
    with open(shared_data / "glue" / "SST-2" / "train.tsv", encoding="utf-8", newline="") as f:
        rows = [r["sentence"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    text = "".join(json.dumps({"sentence": s}) + "\n" for s in rows)
    for i in range(4):
        (folder / f"part-{i}.jsonl").write_text(text * (COPIES // 4), encoding="utf-8")
    return folder


def start_run(corpus: Path, model: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "RAY_ADDRESS": ""}
    return subprocess.Popen([sys.executable, "-m", "shapeprof", "profile", "--model", str(model),
                             "--dataset", str(corpus), "--engine", "ray", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_ctrl_c_default)


def _ctrl_c_default() -> None:
    """As a terminal's foreground job: a run started in the background (CI may be) inherits an
    ignored SIGINT, and a process that starts with Ctrl-C ignored rightly keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_the_job(proc: subprocess.Popen) -> None:
    """Until the Ray job's tokenizing workers run (the progress line is written only every few
    seconds when stderr is not a terminal, and a quiet machine can finish before it)."""
    deadline = time.monotonic() + 240
    while not any("MapWorker" in c for c in descendants(proc.pid).values()):
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before its Ray job started: "
                        f"{proc.communicate()[1][-1000:]}")
        assert time.monotonic() < deadline, "no Ray worker started within 240 s"
        time.sleep(0.1)


INTERRUPTED = (signal.SIGINT, 130, "interrupted; nothing was written")
TERMINATED = (signal.SIGTERM, 143, "terminated; nothing was written")


@pytest.mark.parametrize("sig, code, message, delay", [(*INTERRUPTED, 0.0), (*INTERRUPTED, 2.0),
                                                       (*TERMINATED, 2.0)])
def test_a_signal_mid_run_shuts_ray_down_and_writes_nothing(corpus, minilm_dir, tmp_path, sig, code,
                                                            message, delay):
    """Ctrl-C or SIGTERM (a scheduler stopping the job) the moment the first Ray worker starts
    (the actor pool's startup, where Ray once dropped a Ctrl-C), or once the job is under way."""
    out = tmp_path / "profile.json"
    proc = start_run(corpus, minilm_dir, out)
    wait_for_the_job(proc)
    time.sleep(delay)
    started = descendants(proc.pid)
    assert any("raylet" in c for c in started.values())
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == code, stderr[-3000:]
    assert stderr.splitlines()[-1] == message and "Traceback" not in stderr, stderr[-3000:]
    assert list(tmp_path.iterdir()) == []
    deadline = time.monotonic() + 60
    while any(alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [c for p, c in started.items() if alive(p)] == []
