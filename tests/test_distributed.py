"""Multi-worker training: two local worker processes with tf.distribute on the CPU."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
from sid_fixtures import write_sid_dataset

from lsid_keras.data.cache import prepare_cache
from lsid_keras.data.sid_list import read_pair_list
from lsid_keras.models import load_model


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_in_sync_and_end_with_identical_weights(tmp_path):
    pairs = read_pair_list(write_sid_dataset(tmp_path / "sid", scenes=2))
    prepare_cache(pairs, tmp_path / "cache", workers=1, progress=False)
    out = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        argv = [sys.executable, "-m", "lsid_keras", "train", "--strategy", "multi_worker",
                "--cache", str(tmp_path / "cache"), "--out", str(out), "--model", "sid",
                "--width", "2", "--crop-size", "16", "--epochs", "2", "--seed", "0",
                "--image-every", "1", "--verbose", "0"]
        processes.append(subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=300) for p in processes]
    codes = [p.returncode for p in processes]
    assert codes == [0, 0], "\n\n".join(err[-2500:] for _, err in results)
    chief = load_model(out / "model.keras")
    other = load_model(out / ".worker-1" / "model.keras")
    for a, b in zip(chief.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # and they trained: the weights moved away from a fresh model with the same seed
    keras.utils.set_random_seed(0)
    from lsid_keras.models import get_model

    fresh = get_model("sid", width=2)
    assert any(not np.array_equal(a, b) for a, b in
               zip(chief.get_weights(), fresh.get_weights(), strict=True))
    assert (out / "logs").exists() and (out / "training_log.csv").exists()
