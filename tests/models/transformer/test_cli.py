"""End to end through the command line: train, resume exactly, generate, evaluate, bad input."""

import json

import pytest
from safetensors.torch import load_file

TINY = ["--model.context", "16", "--model.layers", "1", "--model.width", "16", "--model.heads", "2",
        "--model.warmup_steps", "2", "--model.decay_steps", "8", "--batch-size", "8", "--quiet",
        "--train.log_every", "2", "--train.checkpoint_every", "3", "--train.sample_every", "4"]


def records(run_dir):
    return [{k: v for k, v in json.loads(line).items() if k not in ("time", "examples_per_s")}
            for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_train_generate_eval_on_the_embedded_corpus(tmp_path, run_cli):
    run = tmp_path / "run"
    code, out, err = run_cli("train", "transformer", "--steps", "6", "--out", run, *TINY)
    assert code == 0, err
    assert "tiny Shakespeare (embedded): 1,003,854 training tokens (char-level, 65 symbols)" in out
    assert (run / "samples" / "step-000004.txt").read_text(encoding="utf-8").startswith("--- sample 1 ---")
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["family"] == "transformer" and len(config["model"]["vocab"]) == 65

    code, out, err = run_cli("generate", run, "--prompt", "ROMEO:", "--max-new-tokens", "25", "--top-k", "5",
                             "--seed", "1")
    assert code == 0, err
    assert out.startswith("ROMEO:") and len(out) == len("ROMEO:") + 25 + 1
    again = run_cli("generate", run, "--prompt", "ROMEO:", "--max-new-tokens", "25", "--top-k", "5", "--seed", "1",
                    "--no-cache")[1]
    assert again == out
    code, out, _ = run_cli("generate", run, "--num-samples", "3", "--max-new-tokens", "10", "--top-p", "0.9")
    assert code == 0 and out.count("--- sample") == 3

    code, out, err = run_cli("sample", run, "--n", "2", "--seed", "1", "--out", tmp_path / "texts.txt")
    assert code == 0, err
    assert (tmp_path / "texts.txt").read_text(encoding="utf-8").count("--- sample") == 2
    code, _, err = run_cli("sample", run, "--n", "2", "--out", tmp_path / "texts.png")
    assert code == 2 and "transformer/transformer samples are written as .txt" in err

    code, out, err = run_cli("eval", run, "--max-examples", "20", "--json", tmp_path / "eval.json")
    assert code == 0, err
    result = json.loads(out)
    assert result["protocol"]["predicted_tokens"] == 20 * 16 and result["protocol"]["characters"] == 320
    assert "the first 20 of them (--max-examples)" in result["protocol"]["windows"]
    assert result["perplexity"] == pytest.approx(2.718281828 ** result["loss"])
    assert result["bits_per_character"] == pytest.approx(result["loss"] / 0.693147181)
    assert json.loads((tmp_path / "eval.json").read_text()) == result


def test_resumed_run_is_bit_identical(tmp_path, run_cli):
    text = tmp_path / "poem.txt"
    text.write_text("床前明月光，疑是地上霜。举头望明月，低头思故乡。🌙\n" * 40, encoding="utf-8")
    full, part = tmp_path / "full", tmp_path / "part"
    common = ["--data", text, *TINY, "--model.dropout", "0.1", "--model.grad_accumulation", "2"]
    assert run_cli("train", "transformer", "--steps", "8", "--out", full, *common)[0] == 0
    assert run_cli("train", "transformer", "--steps", "5", "--out", part, *common)[0] == 0
    code, out, _ = run_cli("train", "transformer", "--steps", "8", "--out", part, "--resume", "auto", *common)
    assert code == 0 and "resuming from step-000005" in out
    a, b = load_file(str(full / "model" / "model.safetensors")), load_file(str(part / "model" / "model.safetensors"))
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)
    assert records(full) == records(part)

    code, out, err = run_cli("generate", full, "--prompt", "床前", "--max-new-tokens", "5")
    assert code == 0 and out.startswith("床前") and len(out) == 2 + 5 + 1, err
    code, out, err = run_cli("eval", full, "--data", text)
    assert code == 0 and json.loads(out)["protocol"]["data"] == str(text), err

    # Holding out more on a resume would score text the run trained on as held out; less stays unseen.
    before = (part / "config.json").read_bytes()
    code, _, err = run_cli("train", "transformer", "--steps", "9", "--out", part, "--resume", "auto", *common,
                           "--data.validation_fraction", "0.3")
    assert code == 2 and "--data.validation_fraction 0.3 would hold out text that" in err
    assert "(the run held out the last 10%)" in err and (part / "config.json").read_bytes() == before
    code, out, err = run_cli("train", "transformer", "--steps", "9", "--out", part, "--resume", "auto", *common,
                             "--data.validation_fraction", "0.05")
    assert code == 0, err
    assert json.loads((part / "model" / "config.json").read_text())["model"]["held_out_fraction"] == 0.05


def test_byte_level_model_takes_any_prompt(tmp_path, run_cli):
    run = tmp_path / "bytes"
    text = tmp_path / "t.txt"
    text.write_text("hello world, 你好世界 " * 30, encoding="utf-8")
    assert run_cli("train", "transformer", "--data", text, "--steps", "2", "--out", run, *TINY,
                   "--model.tokenizer", "byte")[0] == 0
    code, out, err = run_cli("generate", run, "--prompt", "ünïcödé 🎭", "--max-new-tokens", "8")
    assert code == 0 and out.startswith("ünïcödé 🎭"), err


def test_bad_input_is_one_clear_sentence(tmp_path, run_cli):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("naïve text ".encode("latin-1") * 50)
    code, _, err = run_cli("train", "transformer", "--data", latin, "--steps", "2", "--out", tmp_path / "x", *TINY)
    assert code == 2 and "latin.txt is not UTF-8 text (invalid byte 0xef at byte offset 2)" in err
    assert "Traceback" not in err

    run = tmp_path / "run"
    assert run_cli("train", "transformer", "--steps", "1", "--out", run, *TINY)[0] == 0
    code, _, err = run_cli("generate", run, "--prompt", "Zoë", "--max-new-tokens", "5")
    assert code == 2 and "--prompt holds the character 'ë'" in err
    code, _, err = run_cli("generate", run, "--top-p", "1.5")
    assert code == 2 and "--top-p must lie in (0, 1]" in err
    for value in ("nan", "inf", "-1"):
        code, _, err = run_cli("generate", run, "--temperature", value)
        assert code == 2 and f"--temperature must be a finite number of at least 0 (got {float(value)})" in err
    code, _, err = run_cli("generate", run, "--prompt", "a\udcffb")  # an undecodable argument byte
    assert code == 2 and "--prompt is not valid UTF-8 text" in err and "Traceback" not in err
    code, _, err = run_cli("train", "transformer", "--steps", "1", "--out", tmp_path / "y", *TINY[2:],  # not its context
                           "--model.context", "4000", "--data", latin.with_name("short.txt"))
    assert code == 2 and "does not exist" in err


def test_packaged_shakespeare_config_trains_with_its_schedule(tmp_path, run_cli):
    run = tmp_path / "run"
    code, _, err = run_cli("train", "--config", "shakespeare-char", "--steps", "2", "--out", run,
                           "--model.layers", "1", "--model.width", "16", "--model.heads", "2", "--quiet")
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["family"] == "transformer" and config["train"]["batch_size"] == 16
    assert (config["model"]["warmup_steps"], config["model"]["decay_steps"]) == (50, 930)
    assert len(records(run)) >= 1


def test_eval_of_a_model_trained_on_a_file_refuses_the_embedded_default(tmp_path, run_cli):
    text = tmp_path / "poem.txt"
    text.write_text("the moon over the river, the frost on the ground\n" * 40, encoding="utf-8")
    run = tmp_path / "run"
    # Byte-level: tiny Shakespeare would encode, so only the run's record can tell it is the wrong text.
    assert run_cli("train", "transformer", "--data", text, "--steps", "1", "--out", run, *TINY,
                   "--model.tokenizer", "byte")[0] == 0
    for model in (run, run / "model"):
        code, out, err = run_cli("eval", model)  # no --data: tiny Shakespeare is not what it learned
        assert code == 2 and out == "" and "Traceback" not in err
        assert err.strip() == (f"genlab: error: This model was trained on {text}, not on the embedded tiny Shakespeare "
                               "that 'genlab eval' scores without --data; pass that text with --data (its last 10%, "
                               "held out in training, is what is scored).")
    assert not (run / "eval.json").exists()
    code, out, err = run_cli("eval", run, "--data", text)
    assert code == 0 and json.loads(out)["protocol"]["data"] == str(text), err
    for seed in ("3", "0"):  # nothing is sampled; 0 is the default, given all the same
        code, _, err = run_cli("eval", run, "--data", text, "--seed", seed)
        assert code == 2 and "--seed is not used: this evaluation samples nothing" in err


def test_generation_beyond_memory_is_one_sentence_before_anything_is_written(tmp_path, run_cli, monkeypatch):
    from genlab.models.transformer import Transformer

    run = tmp_path / "run"
    assert run_cli("train", "transformer", "--steps", "1", "--out", run, *TINY)[0] == 0

    def allocates_too_much(self, prompt, n, max_new_tokens, **decoding):
        def steps():  # as generation.generate: the whole sequence is allocated at the first step
            raise RuntimeError(f"[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you "
                               f"tried to allocate {8 * n * max_new_tokens} bytes.")
            yield

        return steps()

    monkeypatch.setattr(Transformer, "generate", allocates_too_much)
    code, out, err = run_cli("generate", run, "--prompt", "ROMEO:", "--max-new-tokens", "1000000000000")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.strip() == ("genlab: error: A continuation of --max-new-tokens 1000000000000 tokens does not fit in "
                           "memory; lower it.")
    code, out, err = run_cli("generate", run, "--num-samples", "3", "--max-new-tokens", "1000000000000")
    assert code == 2 and out == "" and err.strip() == (
        "genlab: error: --num-samples 3 continuations of --max-new-tokens 1000000000000 tokens do not fit in memory; "
        "generate fewer or shorter ones (several calls with different --seed values give more).")


def test_the_default_sample_file_never_replaces_the_training_text(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = tmp_path / "samples.txt"  # the name 'genlab sample' writes by default, here the training data
    text.write_text("the moon over the river, the frost on the ground\n" * 40, encoding="utf-8")
    before = text.read_bytes()
    assert run_cli("train", "transformer", "--data", "samples.txt", "--steps", "1", "--out", "run", *TINY,
                   "--model.tokenizer", "byte")[0] == 0
    code, _, err = run_cli("sample", "run", "--n", "1")
    assert code == 2 and f"the default --out samples.txt is {text}, which this model was trained on" in err
    assert text.read_bytes() == before
    code, _, err = run_cli("sample", "run", "--n", "1", "--out", "drawn.txt")
    assert code == 0 and (tmp_path / "drawn.txt").is_file(), err


def test_eval_says_whether_the_scored_text_was_held_out_and_warns_of_trained_on_text(tmp_path, run_cli):
    """The last 10% of --data is scored: held out only if --data is the training text; text the model
    trained on (a slice of its training part under another name) is flagged, unseen text said to be other."""
    from genlab.data.text import read_text

    text = read_text(None, "--data")[0][:30_000]
    (tmp_path / "train.txt").write_text(text)
    (tmp_path / "slice.txt").write_text(text[5_000:8_000])  # inside the first 90%: trained on
    (tmp_path / "other.txt").write_text(read_text(None, "--data")[0][-3_000:])  # never seen
    run = tmp_path / "run"
    code, _, err = run_cli("train", "transformer", "--data", tmp_path / "train.txt", "--steps", "2", "--batch-size", "4",
                           "--model.context", "16", "--model.layers", "1", "--model.width", "16", "--model.heads", "2",
                           "--model.warmup_steps", "1", "--model.decay_steps", "2", "--out", run, "--quiet")
    assert code == 0, err
    protocols = {}
    for name in ("train", "slice", "other"):
        code, out, err = run_cli("eval", run, "--data", tmp_path / f"{name}.txt")
        assert code == 0, err
        protocols[name] = json.loads(out)["protocol"]
    assert protocols["train"]["split"] == "last 10% of the characters (held out in training)"
    assert "warning" not in protocols["train"] and "warning" not in protocols["other"]
    assert protocols["other"]["split"].endswith("(another text than the one the model trained on)")
    assert protocols["slice"]["split"].endswith("(not the part training held out)")
    assert protocols["slice"]["warning"].startswith("1 of the 1 256-character pieces of the scored text are in the "
                                                    "text the model trained on")
