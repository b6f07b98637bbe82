"""textgan through the command line: train, generate, sample, eval, exact resume and bad input."""

import json
import math

import numpy as np
import pytest
import torch

from .conftest import SENTENCES


@pytest.mark.parametrize("model", [
    {"name": "relgan"},
    {"name": "seqgan", "generator": "transformer", "discriminator": "rnn"},
    {"name": "relgan", "discriminator": "attention", "loss": "nonsaturating"},
], ids=["relgan", "seqgan-transformer-rnn", "relgan-attention"])
def test_train_generate_sample_and_eval(tmp_path, run_cli, sentences_txt, tiny_textgan, model):
    run = tmp_path / "run"
    code, out, err = run_cli("train", "textgan", "--data", sentences_txt, "--steps", "6", "--batch-size", "8",
                             "--model.pretrain_steps", "3", "--train.log_every", "3", "--out", run, "--quiet",
                             *tiny_textgan(**model))
    assert code == 0, err
    assert "200 sentences, word-level" in out
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert "loss_mle" in logged[0] and "loss_discriminator" in logged[1]  # pretraining, then adversarial
    assert (run / "samples").is_dir() and any(p.suffix == ".txt" for p in (run / "samples").iterdir())

    code, out, err = run_cli("generate", run, "--prompt", "a man", "--num-samples", "2", "--max-new-tokens", "3")
    assert code == 0, err
    texts = [line for line in out.splitlines() if not line.startswith("---")]
    assert len(texts) == 2 and all(t.startswith("a man") for t in texts)
    assert all(len(t.split()) <= 5 for t in texts)  # the prompt's two words and at most three more

    code, _, err = run_cli("sample", run, "--n", "5", "--out", tmp_path / "samples.txt")
    assert code == 0, err
    assert len((tmp_path / "samples.txt").read_text().splitlines()) == 5
    code, _, err = run_cli("sample", run, "--n", "5", "--out", tmp_path / "samples.png")  # text is not an image
    assert code == 2 and "samples are written as .txt" in err and not (tmp_path / "samples.png").exists()

    result_file = tmp_path / "eval.json"
    code, out, err = run_cli("eval", run, "--data", sentences_txt, "--n", "40", "--json", result_file)
    assert code == 0, err
    result = json.loads(result_file.read_text())
    for key in ("bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3", "self_bleu4", "self_bleu5"):
        assert 0 <= result[key] <= 1, key
    assert result["nll_gen"] > 0 and result["nll_gen_padded"] > 0
    assert "40 sequences" in result["protocol"]["generated"] and "200 sentences" in result["protocol"]["references"]
    assert result["protocol"]["unknown_tokens"] == 0  # held-out sentences of the training vocabulary
    unseen = tmp_path / "unseen.txt"
    unseen.write_text("a qqqzz man wwwxx\n" * 3 + "a man\n")
    code, out, err = run_cli("eval", run, "--data", unseen, "--n", "4", "--max-examples", "3")
    assert code == 0, err
    protocol = json.loads(out)["protocol"]
    assert protocol["unknown_tokens"] == 6
    assert "3 sentences (the file's first, --max-examples 3)" in protocol["references"]


def test_a_logged_window_across_the_phase_switch_averages_each_value_over_its_own_steps(
        tmp_path, run_cli, sentences_txt, tiny_textgan):
    run = tmp_path / "run"
    code, _, err = run_cli("train", "textgan", "--data", sentences_txt, "--steps", "2", "--batch-size", "8",
                           "--model.pretrain_steps", "1", "--train.log_every", "2", "--out", run, "--quiet",
                           *tiny_textgan())
    assert code == 0, err
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    # Step 1 is maximum likelihood, step 2 the first adversarial step (β = 1): neither value is halved.
    assert record["inverse_temperature"] == 1.0 and record["loss_mle"] > 2.0


def test_resumed_run_is_bit_identical(tmp_path, run_cli, sentences_txt, tiny_textgan, assert_same_run):
    # Stopped inside pretraining; resumed across the switch to adversarial training and its optimizers.
    common = ["textgan", "--data", sentences_txt, "--batch-size", "8", "--model.pretrain_steps", "4",
              "--train.log_every", "2", "--train.checkpoint_every", "3", "--quiet", *tiny_textgan()]
    full, part = tmp_path / "full", tmp_path / "part"
    assert run_cli("train", *common, "--steps", "8", "--out", full)[0] == 0
    assert run_cli("train", *common, "--steps", "3", "--out", part)[0] == 0
    code, out, _ = run_cli("train", *common, "--steps", "8", "--out", part, "--resume", "auto")
    assert code == 0 and "resuming from step-000003" in out
    assert_same_run(full, part)


def test_token_ids_with_an_oracle_are_scored_by_nll_oracle(tmp_path, run_cli, shared_file, tiny_textgan):
    from genlab.models.textgan.oracle import OracleLSTM

    oracle_path = shared_file("text/seqgan_oracle/seqgan_oracle_lstm_params.npz")
    oracle = OracleLSTM.from_npz(oracle_path)
    tokens = oracle.sample(64, 8, torch.Generator().manual_seed(0)).numpy()
    np.savez(tmp_path / "train.npz", tokens=tokens)
    np.savez(tmp_path / "test.npz", tokens=oracle.sample(32, 8, torch.Generator().manual_seed(1)).numpy())
    run = tmp_path / "run"
    code, _, err = run_cli("train", "textgan", "--data", tmp_path / "train.npz", "--steps", "2", "--batch-size", "8",
                           "--out", run, "--quiet", "--model.vocab_size", "5000", *tiny_textgan("mle"))
    assert code == 0, err
    code, out, err = run_cli("eval", run, "--data", tmp_path / "test.npz", "--oracle", oracle_path, "--n", "16",
                             "--train-data", tmp_path / "train.npz")
    assert code == 0, err
    result = json.loads(out)
    # Sixteen near-uniform draws of 8 ids from 5,000 copy none of the 64 training sequences.
    assert result["copied"] == 0 and "64 training sequences of" in result["protocol"]["copied"]
    # An all-but-untrained generator is near uniform over the 5,000 ids: its NLL of held-out oracle data is
    # near log 5000 = 8.5, and the oracle finds its samples far less likely than its own (5.75 per token).
    assert abs(result["nll_gen"] - math.log(5000)) < 0.5 and result["nll_oracle"] > 7.5
    assert "bleu2" not in result and "oracle" in result["protocol"]["nll_oracle"]
    code, out, err = run_cli("eval", run, "--data", tmp_path / "test.npz", "--n", "16", "--temperature", "0.5")
    assert code == 0, err
    sharpened = json.loads(out)
    # Sharpening a generator that knows nothing of the data only makes held-out sequences less likely.
    assert sharpened["nll_gen"] > result["nll_gen"] and "temperature 0.5" in sharpened["protocol"]["generated"]


def test_bad_input_is_one_sentence_and_exit_code_2(tmp_path, run_cli, sentences_txt, tiny_textgan):
    np.savez(tmp_path / "no_tokens.npz", x=np.zeros((3, 4), dtype=np.int64))
    code, _, err = run_cli("train", "textgan", "--data", tmp_path / "no_tokens.npz", "--steps", "1", "--out",
                           tmp_path / "a", "--quiet")
    assert code == 2 and "no_tokens.npz has no 'tokens' array" in err and "Traceback" not in err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    code, _, err = run_cli("train", "textgan", "--data", empty, "--steps", "1", "--out", tmp_path / "b", "--quiet")
    assert code == 2 and "empty.txt holds no" in err
    run = tmp_path / "run"
    assert run_cli("train", "textgan", "--data", sentences_txt, "--steps", "1",
                   "--batch-size", "8", "--out", run, "--quiet", *tiny_textgan("mle"))[0] == 0
    code, _, err = run_cli("eval", run, "--data", tmp_path / "no_tokens.npz")
    assert code == 2 and "word-level text" in err
    code, _, err = run_cli("generate", run, "--prompt", " ".join(["a"] * 30))
    assert code == 2 and "shorter prompt" in err
    code, _, err = run_cli("eval", run, "--metrics", "fd")
    assert code == 2 and "does not draw images" in err and "Traceback" not in err
    code, _, err = run_cli("generate", run, "--no-cache")
    assert code == 2 and "--no-cache is for the transformer family" in err
    code, _, err = run_cli("eval", run, "--data", sentences_txt, "--train-data", tmp_path / "missing.txt")
    assert code == 2 and "missing.txt does not exist; point --train-data at" in err
    code, _, err = run_cli("train", "textgan", "--data", sentences_txt, "--model.d_widths", "[2, 30]", "--steps",
                           "1", "--out", tmp_path / "c", "--quiet")
    assert code == 2 and "d_widths" in err and not (tmp_path / "c" / "checkpoints").exists()
    assert SENTENCES[0] in sentences_txt.read_text()  # the data file is untouched


def test_eval_refuses_what_it_would_ignore_or_score_on_the_wrong_data(tmp_path, run_cli, sentences_txt,
                                                                       tiny_textgan):
    run = tmp_path / "run"
    assert run_cli("train", "textgan", "--data", sentences_txt, "--steps", "1",
                   "--batch-size", "8", "--out", run, "--quiet", *tiny_textgan("mle"))[0] == 0
    code, out, err = run_cli("eval", run, "--n", "4")  # no --data: Shakespeare is not what it learned
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.strip() == (f"genlab: error: This model was trained on {sentences_txt}, not on the embedded tiny "
                           "Shakespeare that 'genlab eval' scores without --data; pass held-out sentences like its "
                           "training data, one per line, with --data.")

    ids = tmp_path / "ids.npz"
    np.savez(ids, tokens=np.random.default_rng(0).integers(0, 20, (16, 6)))
    run = tmp_path / "ids-run"
    assert run_cli("train", "textgan", "--data", ids, "--steps", "1", "--batch-size", "8",
                   "--out", run, "--quiet", *tiny_textgan("mle"))[0] == 0
    code, out, err = run_cli("eval", run, "--train-data", ids, "--n", "4")  # the defaults pass
    assert code == 0 and "copied" in json.loads(out), err
    for option, value in (("--max-examples", "2"), ("--batch-size", "8"), ("--batch-size", "256")):  # 256: default
        code, _, err = run_cli("eval", run, "--train-data", ids, "--n", "4", option, value)
        assert code == 2 and err.strip() == (f"genlab: error: {option} applies to the held-out sequences of --data, "
                                             "and none are given; add --data HELD_OUT.npz or drop it.")
    code, _, err = run_cli("eval", run, "--data", ids, "--n", "4", "--max-examples", "2", "--batch-size", "8")
    assert code == 0, err


def test_generation_beyond_memory_is_one_sentence(tmp_path, run_cli, sentences_txt, tiny_textgan, monkeypatch):
    from genlab.models.textgan.model import TextGAN

    run, ids_run, ids = tmp_path / "run", tmp_path / "ids-run", tmp_path / "ids.npz"
    assert run_cli("train", "textgan", "--data", sentences_txt, "--steps", "1",
                   "--batch-size", "8", "--out", run, "--quiet", *tiny_textgan("mle"))[0] == 0
    np.savez(ids, tokens=np.random.default_rng(0).integers(0, 20, (16, 6)))
    assert run_cli("train", "textgan", "--data", ids, "--steps", "1", "--batch-size", "8",
                   "--out", ids_run, "--quiet", *tiny_textgan("mle"))[0] == 0

    def allocates_too_much(self, prefix, pick, length=None):  # every token is generated at once, eagerly
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 96.00 GiB.")

    monkeypatch.setattr(TextGAN, "continue_tokens", allocates_too_much)
    code, out, err = run_cli("generate", run, "--num-samples", "1000000000", "--max-new-tokens", "3")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.strip() == ("genlab: error: --num-samples 1000000000 continuations of --max-new-tokens 3 tokens do not "
                           "fit in memory; generate fewer or shorter ones (several calls with different --seed values "
                           "give more).")
    code, out, err = run_cli("eval", run, "--data", sentences_txt, "--n", "1000000000")  # sampled the same way
    assert code == 2 and out == "" and err.strip() == (
        "genlab: error: The evaluation does not fit in memory with --n 1000000000 samples, --batch-size 256 and every "
        "example (no --max-examples); lower them, or pass --max-examples to use fewer.")
    # A token-id model without held-out --data reads neither --batch-size nor --max-examples (it refuses them).
    code, out, err = run_cli("eval", ids_run, "--train-data", ids, "--n", "1000000000")
    assert code == 2 and out == "" and err.strip() == (
        "genlab: error: The evaluation does not fit in memory with --n 1000000000 samples; lower it.")
    code, out, err = run_cli("eval", ids_run, "--data", ids, "--n", "1000000000", "--max-examples", "4")
    assert code == 2 and out == "" and err.strip() == (
        "genlab: error: The evaluation does not fit in memory with --n 1000000000 samples and --batch-size 256; "
        "lower them.")


def test_without_data_it_trains_on_the_embedded_shakespeare_and_scores_its_held_out_lines(tmp_path, run_cli,
                                                                                         tiny_textgan):
    run = tmp_path / "run"
    code, out, err = run_cli("train", "textgan", "--steps", "1", "--batch-size", "8", "--out", run, "--quiet",
                             "--model.seq_len", "12", *tiny_textgan("mle"))
    assert code == 0, err
    assert "tiny Shakespeare (embedded), first 90% of the lines" in out
    code, out, err = run_cli("eval", run, "--n", "4")
    assert code == 0, err
    assert "last 10% of the lines" in json.dumps(json.loads(out)["protocol"])
