"""The progress helper: a line at least every 10 s off a terminal, a tqdm bar on one, silence when quiet."""

from __future__ import annotations

import io
import re

from shapeprof.console import LINE_EVERY_S, Progress, progress


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def line_mode(total: float | None = 10, **kwargs) -> tuple[Progress, io.StringIO, FakeClock]:
    clock, out = FakeClock(), io.StringIO()
    bar = progress(total, "bench", unit="cells", stream=out, tty=False, clock=clock, ticker=False, **kwargs)
    return bar, out, clock


def test_a_line_at_least_every_10_s_even_without_updates():
    bar, out, clock = line_mode(total=4)
    stamps = [clock.t]                       # the stage's own opening line
    for step in range(40):                   # 40 s with a tick every second, one update every 15 s
        clock.t += 1
        before = len(out.getvalue().splitlines())
        if step % 15 == 14:
            bar.update(1, now=f"cell {step}")
        else:
            bar.tick()
        if len(out.getvalue().splitlines()) > before:
            stamps.append(clock.t)
    bar.close()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert gaps and max(gaps) <= LINE_EVERY_S
    lines = out.getvalue().splitlines()
    assert lines[0] == "shapeprof: bench: 0/4 cells [00:10 elapsed, ETA ?]"
    assert lines[-1] == "shapeprof: bench: 2/4 cells, done in 00:40"
    assert all(line.startswith("shapeprof: bench: ") for line in lines)


def test_lines_carry_position_total_eta_and_the_current_step():
    bar, out, clock = line_mode(total=10)
    clock.t += 20
    bar.update(4, now="32x128 onnx, round 2/3")
    line = out.getvalue().splitlines()[-1]
    assert re.fullmatch(r"shapeprof: bench: 4/10 cells \[00:20 elapsed, ETA 00:30\]; 32x128 onnx, round 2/3",
                        line), line
    bar.close()
    assert out.getvalue().splitlines()[-1] == "shapeprof: bench: 4/10 cells, done in 00:20"


def test_no_line_more_often_than_every_10_s_on_quick_updates():
    bar, out, clock = line_mode(total=1000)
    for _ in range(100):
        clock.t += 0.05
        bar.update(1)
    bar.close()
    assert out.getvalue() == ""                           # a step shorter than 10 s: silent


def test_quiet_prints_nothing():
    for tty in (False, True):
        out = io.StringIO()
        with progress(5, "export", enabled=False, stream=out, tty=tty) as bar:
            bar.update(1, now="converting")
            bar.tick()
        assert out.getvalue() == ""


def test_a_terminal_gets_a_tqdm_bar():
    out = io.StringIO()
    with progress(3, "verify", unit="shapes", stream=out, tty=True, ticker=False) as bar:
        bar.update(1, now="data max 32x55")
        bar.tick()
    text = out.getvalue()
    assert "\r" in text and "verify:" in text and "1/3" in text and "data max 32x55" in text


def test_unknown_total_still_reports():
    bar, out, clock = line_mode(total=None)
    clock.t += 11
    bar.update(5)
    assert "bench: 5/? cells [00:11 elapsed, ETA ?]" in out.getvalue()
    bar.close()


def test_weighted_work_shows_a_share():
    bar, out, clock = line_mode(total=400, percent=True)
    clock.t += 12
    bar.update(100, now="round 1/3, cell 2/7 32x55 onnx")
    assert out.getvalue().splitlines()[-1] == \
        "shapeprof: bench: 25% [00:12 elapsed, ETA 00:36]; round 1/3, cell 2/7 32x55 onnx"
    bar.close()
