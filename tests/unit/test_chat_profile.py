"""Generation profiles of real chat data: prompts through a chat template, completions measured
on the reference answers; lengths checked against hand tokenization; the bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pytest

from shapeprof import schema
from shapeprof.cli import main
from shapeprof.profile import ShapeProfile, profile_dataset

ROWS = 200
TEMPLATE = ("{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}\n\n"
            "{% elif m['role'] == 'user' %}### Instruction:\n{{ m['content'] }}\n\n"
            "{% else %}### Response:\n{{ m['content'] }}{{ eos_token }}\n\n{% endif %}{% endfor %}"
            "{% if add_generation_prompt %}### Response:\n{% endif %}")


@pytest.fixture(scope="module")
def alpaca(shared_data: Path) -> Path:
    return shared_data / "chat" / "alpaca_5000.json"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "alpaca.jinja"
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def columns_profile(gpt2_dir: Path, alpaca: Path, template: Path) -> ShapeProfile:
    return profile_dataset(gpt2_dir, str(alpaca), prompt_columns="instruction,input",
                           completion_column="output", chat_template=template, rows=ROWS, progress=False)


def by_hand(gpt2, record: dict, system: str | None = None) -> tuple[int, int]:
    """(prompt tokens, new tokens) rendered with jinja2 directly and tokenized one by one."""
    user = "\n\n".join(v for v in (record["instruction"], record["input"]) if v.strip())
    turns = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    text = jinja2.Template(TEMPLATE).render(messages=turns, add_generation_prompt=True,
                                            eos_token=gpt2.eos_token)
    prompt = len(gpt2(text, add_special_tokens=False)["input_ids"])
    return prompt, len(gpt2(record["output"], add_special_tokens=False)["input_ids"]) + 1


def test_columns_profile_lengths_match_hand_tokenization(columns_profile, alpaca, gpt2):
    records = json.loads(alpaca.read_text(encoding="utf-8"))
    gen = columns_profile.generation
    requests = gen.requests
    assert len(requests.prompts) == ROWS == columns_profile.dataset.rows_sampled
    for k in (0, 1, 57, ROWS - 1):
        record = records[requests.indices[k]]
        assert (int(requests.prompt_lengths[k]), int(requests.new_tokens[k])) == by_hand(gpt2, record)
    assert requests.prompts[0].endswith("### Response:\n")
    # the profile's sequence axis is the prompt length; pairs hold every row once
    assert columns_profile.length_counts() == {k: v for k, v in _marginal(gen.pairs, 0).items()}
    assert sum(gen.pairs.values()) == ROWS and gen.new_tokens.rows == ROWS
    assert gen.new_tokens.max == int(requests.new_tokens.max()) and gen.new_tokens.min >= 1
    assert gen.template["origin"].endswith("alpaca.jinja") and gen.stop_token


def _marginal(pairs: dict, axis: int) -> dict[int, int]:
    out: dict[int, int] = {}
    for key, c in pairs.items():
        out[key[axis]] = out.get(key[axis], 0) + c
    return out


def test_messages_format_gives_the_same_pairs_plus_the_system_turn(gpt2_dir, gpt2, alpaca, template,
                                                                   columns_profile, tmp_path):
    """The same records as conversations (system + user + assistant) in JSON lines, found by
    their messages column: every prompt grows by the system turn's tokens, the same count."""
    records = json.loads(alpaca.read_text(encoding="utf-8"))
    system = "You are a helpful assistant."
    path = tmp_path / "chat.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            user = "\n\n".join(v for v in (r["instruction"], r["input"]) if v.strip())
            turns = [{"role": "system", "content": system}, {"role": "user", "content": user},
                     {"role": "assistant", "content": r["output"]}]
            f.write(json.dumps({"id": len(turns), "messages": turns}) + "\n")
    profile = profile_dataset(gpt2_dir, str(path), chat_template=template, rows=ROWS, progress=False)
    got, base = profile.generation.requests, columns_profile.generation.requests
    assert profile.generation.chat.format == "messages" and got.indices == base.indices
    extra = got.prompt_lengths - base.prompt_lengths         # BPE merges across the turn boundary
    assert (extra == extra[0]).all() and extra[0] >= len(gpt2(system)["input_ids"])
    assert (got.new_tokens == base.new_tokens).all()
    k = 3
    assert (int(got.prompt_lengths[k]), int(got.new_tokens[k])) == by_hand(gpt2, records[got.indices[k]], system)


def test_the_tokenizers_own_template_and_the_file_override(gpt2_dir, gpt2, alpaca, template, tmp_path):
    own = tmp_path / "gpt2-chat"
    gpt2.save_pretrained(own)
    config = json.loads((gpt2_dir / "config.json").read_text())
    (own / "config.json").write_text(json.dumps(config))
    tokenizer_config = json.loads((own / "tokenizer_config.json").read_text())
    tokenizer_config["chat_template"] = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}<assistant>"
    (own / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    opts = dict(prompt_columns="instruction,input", completion_column="output", rows=20, progress=False)
    mine = profile_dataset(own, str(alpaca), **opts)
    assert mine.generation.template["origin"] == "tokenizer"
    assert mine.generation.requests.prompts[0].startswith("<user>")
    overridden = profile_dataset(own, str(alpaca), chat_template=template, **opts)
    assert overridden.generation.requests.prompts[0].startswith("### Instruction:")


def test_saved_profile_keeps_generation_and_reloads_its_prompts(columns_profile, tmp_path):
    path = columns_profile.save(tmp_path / "profile.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == schema.PROFILE.version and "generation" in data
    loaded = ShapeProfile.load(path)
    assert loaded.generation == columns_profile.generation
    assert loaded.generation.requests is None
    assert loaded.texts().values[0] == columns_profile.generation.requests.prompts   # re-rendered
    assert "new_tokens" in loaded.summary() and "prompt_length" in loaded.summary()


# ---- bad input: one line, exit 2, before any tokenization ---------------------------------------
def fails(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    return err.strip()


def profile_args(gpt2_dir, data, *more: str) -> list[str]:
    return ["profile", "--model", str(gpt2_dir), "--dataset", str(data), "-q", *more]


def test_missing_columns_name_the_columns_that_exist(capsys, gpt2_dir, alpaca, template):
    err = fails(capsys, profile_args(gpt2_dir, alpaca, "--prompt-columns", "instruction,question",
                                     "--completion-column", "output", "--chat-template", str(template)))
    assert "'question'" in err and "instruction, input, output" in err
    err = fails(capsys, profile_args(gpt2_dir, alpaca, "--prompt-columns", "instruction",
                                     "--completion-column", "answer", "--chat-template", str(template)))
    assert "'answer'" in err and "instruction, input, output" in err
    err = fails(capsys, profile_args(gpt2_dir, alpaca, "--prompt-columns", "instruction"))
    assert "--completion-column" in err


def test_messages_without_a_user_turn_name_the_record(capsys, gpt2_dir, template, tmp_path):
    path = tmp_path / "chat.jsonl"
    good = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    bad = {"messages": [{"role": "system", "content": "Be brief"}, {"role": "assistant", "content": "Hello"}]}
    path.write_text("\n".join(json.dumps(r) for r in (good, good, bad, good)) + "\n")
    err = fails(capsys, profile_args(gpt2_dir, path, "--chat-template", str(template)))
    assert "record 2" in err and "no user turn" in err and "system, assistant" in err


def test_a_tokenizer_without_a_template_needs_the_option(capsys, gpt2_dir, alpaca):
    err = fails(capsys, profile_args(gpt2_dir, alpaca, "--prompt-columns", "instruction,input",
                                     "--completion-column", "output"))
    assert "has no chat template" in err and "--chat-template FILE" in err


def test_unreadable_or_broken_template_files(capsys, gpt2_dir, alpaca, tmp_path):
    cols = ["--prompt-columns", "instruction,input", "--completion-column", "output"]
    err = fails(capsys, profile_args(gpt2_dir, alpaca, *cols, "--chat-template", str(tmp_path / "nope.jinja")))
    assert "nope.jinja" in err and "not found" in err
    broken = tmp_path / "broken.jinja"
    broken.write_text("{% for m in messages %}{{ m['content'] }")
    err = fails(capsys, profile_args(gpt2_dir, alpaca, *cols, "--chat-template", str(broken)))
    assert "broken.jinja" in err and "not a valid Jinja template" in err
    binary = tmp_path / "binary.jinja"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8" in fails(capsys, profile_args(gpt2_dir, alpaca, *cols, "--chat-template", str(binary)))


def test_export_chat_options_need_a_dataset_and_replay_needs_bench(capsys, gpt2_dir, tmp_path):
    base = ["export", str(tmp_path / "out"), "--model", str(gpt2_dir), "-q"]
    assert "give it with --dataset" in fails(capsys, [*base, "--prompt-columns", "instruction"])
    assert "--replay needs --bench" in fails(capsys, [*base, "--replay", "5"])
    assert not (tmp_path / "out").exists()
