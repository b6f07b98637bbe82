"""A run SIGKILLed at 20 random moments always resumes and ends equal to an uninterrupted run."""

import json
import os
import random
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

from genlab.train.checkpoint import list_checkpoints, load_training_state

pytestmark = pytest.mark.slow
HANG_SECONDS = 300


def newest_step(run) -> int:
    return max((step for step, _ in list_checkpoints(run)), default=0)


def test_twenty_random_kills(tmp_path, digits_npz, tiny_dcgan):
    killed, full = tmp_path / "killed", tmp_path / "full"
    base = [sys.executable, "-m", "genlab", "train", "gan", "--data", str(digits_npz), "--steps", "200",
            "--batch-size", "16", "--train.checkpoint_every", "1", "--train.log_every", "1",
            "--train.sample_every", "1000", "--quiet", *tiny_dcgan]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    rng = random.Random(0)
    newest, interrupted = 0, 0
    for _ in range(20):
        child = subprocess.Popen([*base, "--out", str(killed), "--resume", "auto"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Killed once training is under way (1 to 3 new checkpoints exist), a random moment later: within a
        # step or a checkpoint write, however long the imports take on this machine.
        # The deadline only catches a hang: a start that makes no progress in it fails with that said.
        target, deadline = newest + rng.randint(1, 3), time.monotonic() + HANG_SECONDS
        while child.poll() is None and newest_step(killed) < target:
            if time.monotonic() > deadline:
                child.kill()
                pytest.fail(f"a resumed run wrote no checkpoint in {HANG_SECONDS} s (it hangs, or the machine is "
                            "far too loaded for this test)")
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.02))
        interrupted += child.poll() is None
        child.kill()
        child.wait()
        for _, folder in list_checkpoints(killed):  # whatever counts as complete must load
            assert load_training_state(folder / "training_state.pt")["step"] > 0
        assert newest_step(killed) > newest  # each start trained on from where the last one stopped
        newest = newest_step(killed)
    assert interrupted >= 15 and newest < 200  # most kills cut a run short, and the run was not done before the end
    finished = subprocess.run([*base, "--out", str(killed), "--resume", "auto"], env=env, capture_output=True,
                              text=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert subprocess.run([*base, "--out", str(full)], env=env, capture_output=True).returncode == 0
    a, b = load_file(str(killed / "model" / "model.safetensors")), load_file(str(full / "model" / "model.safetensors"))
    assert all(a[key].equal(b[key]) for key in a)
    def losses(run):
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k.startswith("loss") or k == "step"} for r in records]

    assert losses(killed) == losses(full) and len(losses(full)) == 200
