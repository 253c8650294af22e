"""Profile engines: where the rows of a text profile are tokenized and counted.

* ``stream`` (the default): this process, in memory or in bounded chunks (``profile.measure``).
* ``ray``: a Ray Data job on a local instance or a cluster (``ray_engine``), which returns the
  same ``Measurement``: exact merged histograms, so the profile is identical on the same rows.

Both feed ``pipeline.build_profile``; nothing downstream knows which engine ran.
"""

from __future__ import annotations

from ...errors import ProfileError

ENGINES = ("stream", "ray")


def check_engine(engine: str, rows: int | None, modality: str = "text", chat: bool = False) -> None:
    """Reject what an engine cannot do, before anything heavy loads (Ray: that it is installed);
    ``chat``: prompt/completion columns or a chat template were asked for."""
    if engine not in ENGINES:
        raise ProfileError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if engine == "stream":
        return
    if rows is not None:
        raise ProfileError("--engine ray profiles every row; drop --rows (or use --engine stream "
                           "to profile a sample)")
    if modality != "text":
        raise ProfileError(f"--engine ray profiles text datasets; this model takes {modality}: "
                           "use --engine stream")
    if chat:
        raise ProfileError("--engine ray profiles text columns; a chat profile reads its records in "
                           "memory: drop --engine ray")
    from .ray_cluster import import_ray

    import_ray()


__all__ = ["ENGINES", "check_engine"]
