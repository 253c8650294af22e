"""Vision, audio and text-and-vision models: export time per (architecture, task), the profile of a
real image set, and an onnxruntime latency sweep over batch size (and audio length).

    flock /tmp/shapeprof-cpu.lock python benchmarks/modality_matrix.py [--model-types vit,swin] [--skip-matrix]

1. Export matrix: every registered vision/audio/multimodal (architecture, task) from tiny config-built
   models (hidden 32, 2 layers, 32x32 images); ``export s`` is the torch.onnx conversion only, ``total s``
   adds model building, verification at three shapes and writing.
2. Image profile: the photographs shipped in scikit-image (``skimage/data``, png/jpg) through two image
   processors: one resizing to 224x224 (ViT's default) and one keeping sizes.
3. Latency sweep (tiny models: the numbers show the harness and the shape trend, not real-model cost):
   median of ``--samples`` runs after warm-up, ``intra_op_num_threads`` pinned and printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
MODULES = ("images", "speech", "multimodal")


def export_matrix(model_types: list[str] | None, tmp: Path) -> None:
    from shapeprof.export import export
    from shapeprof.onnx.builtin import default_registry
    from shapeprof.testing.tiny import tiny_model

    reg = default_registry()
    wanted = model_types or [mt for mt in reg if reg.get(mt).__module__.rsplit(".", 1)[-1] in MODULES]
    print("| model type | task | static axes | export s | total s | verified shapes | max abs diff |")
    print("|---|---|---|---:|---:|---|---:|")
    for mt in wanted:
        for task in reg.tasks(mt):
            start = time.perf_counter()
            result = export(tiny_model(mt, task), tmp / f"{mt}-{task}", task=task)
            total = time.perf_counter() - start
            worst = max(o.max_abs_diff for c in result.verification.checks for o in c.outputs)
            shapes = "; ".join("x".join(str(v) for v in c.shape.values()) for c in result.verification.checks)
            print(f"| {mt} | {task} | {','.join(reg.get(mt).STATIC_AXES) or '-'} | "
                  f"{result.export_seconds:.1f} | {total:.1f} | {shapes} | {worst:.1e} |", flush=True)


def skimage_images() -> list[Path]:
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    return sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg"))


def saved(tmp: Path, name: str, model_type: str, task: str, processor: object) -> Path:
    from shapeprof.testing.tiny import tiny_model

    out = tmp / name
    tiny_model(model_type, task).save_pretrained(out)
    processor.save_pretrained(out)  # type: ignore[attr-defined]
    return out


def image_profiles(tmp: Path) -> tuple[Path, object]:
    from transformers import ViTImageProcessor

    from shapeprof.profile.media import profile_media

    images = skimage_images()
    vit = saved(tmp, "vit224", "vit", "image-classification", ViTImageProcessor())
    keep = saved(tmp, "convnext-keep", "convnext", "image-classification", ViTImageProcessor(do_resize=False))
    for model in (vit, keep):
        start = time.perf_counter()
        profile = profile_media(model, images[0].parent, "image", data_files=images, progress=False)
        print(f"\n{profile.summary()}\n(profiled in {time.perf_counter() - start:.1f} s)", flush=True)
    return keep, profile


def write_wavs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, seconds in enumerate((0.5, 1.0, 1.5, 2.0, 3.0, 4.0)):
        t = np.arange(int(seconds * 16000)) / 16000
        pcm = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
        with wave.open(str(folder / f"clip{i}.wav"), "wb") as f:
            f.setnchannels(1), f.setsampwidth(2), f.setframerate(16000), f.writeframes(pcm.tobytes())
    return folder


def median_ms(session: object, feeds: dict, samples: int) -> float:
    for _ in range(3):
        session.run(None, feeds)  # type: ignore[attr-defined]
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        session.run(None, feeds)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def sweep(export_dir: Path, model_dir: Path, axis_values: dict[str, list[int]], threads: int, samples: int) -> None:
    import itertools

    import onnxruntime as ort

    from shapeprof.loading import load_model

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(export_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
    cfg = load_model(model_dir).onnx_config  # the PyTorch model's config: same inputs
    names = list(axis_values)
    print(f"\nlatency sweep of {export_dir.name} ({threads} intra-op threads, median of {samples})")
    print("| " + " | ".join(names) + " | median ms | ms per item |")
    print("|" + "---:|" * (len(names) + 2))
    for values in itertools.product(*axis_values.values()):
        shape = dict(zip(names, values))
        feeds = cfg.generate_dummy_inputs("np", **shape)
        ms = median_ms(session, feeds, samples)
        print("| " + " | ".join(str(v) for v in values) + f" | {ms:.2f} | {ms / shape['batch_size']:.3f} |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-types", default=None, help="comma-separated subset of the export matrix")
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()

    from shapeprof.commands import quiet_libraries
    from shapeprof.profile.media import profile_media
    from shapeprof.export.profiled import export_with_profile

    quiet_libraries()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if not args.skip_matrix:
            export_matrix(args.model_types.split(",") if args.model_types else None, tmp)
        keep, profile = image_profiles(tmp)
        images = skimage_images()
        done = export_with_profile(tmp / "convnext-onnx", keep, "skimage", progress=False,
                                   profile_options={"data_files": images}).export
        h = profile.axes["height"]
        sizes = sorted({int(h.min), int(h.p(50)), int(h.max)})
        sweep(done.output_dir, keep, {"batch_size": [1, 4, 16], "height": sizes, "width": [512]},
              args.threads, args.samples)

        from transformers import Wav2Vec2FeatureExtractor

        w2v = saved(tmp, "w2v", "wav2vec2", "audio-classification", Wav2Vec2FeatureExtractor())
        wavs = write_wavs(tmp / "wavs")
        audio = profile_media(w2v, wavs, "audio", progress=False)
        print(f"\n{audio.summary()}")
        done = export_with_profile(tmp / "w2v-onnx", w2v, str(wavs), progress=False).export
        a = audio.axes["audio_sequence_length"]
        lengths = sorted({a.min, int(a.p(50)), a.max})
        sweep(done.output_dir, w2v, {"batch_size": [1, 4], "audio_sequence_length": lengths},
              args.threads, args.samples)


if __name__ == "__main__":
    main()
