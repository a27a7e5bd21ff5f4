"""Round trips, code layout, scalable codes, pickling and threads."""

import multiprocessing
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import naicfc


def test_model_properties(model, train):
    assert model.dim == train.features.shape[1] == 2048
    assert model.budgets == (16, 32, 64, 128, 256)
    assert 1 <= model.min_budget <= 16
    assert model.format_version == naicfc.FORMAT_VERSION
    assert model.scalable_length == 256
    assert len(model.fingerprint) == 32 and int(model.fingerprint, 16) >= 0
    assert model.size == len(model.to_bytes())
    assert "fingerprint=" in repr(model)


def test_round_trip_at_every_budget_gets_closer_as_the_budget_grows(model, query):
    x = query.features
    errors = []
    for budget in (model.min_budget, 16, 24, 32, 64, 100, 128, 256, 1024):
        codes = model.encode(x, budget)
        assert codes.dtype == np.uint8 and codes.shape == (len(x), budget)
        back = model.decode(codes)
        assert back.dtype == np.float32 and back.shape == x.shape
        assert np.isfinite(back).all()
        errors.append(np.linalg.norm(x - back, axis=1).mean())
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    # The task's figure of merit at 256 bytes on kind-A-like data: well below the vector norm.
    assert errors[-2] < 0.2 * np.linalg.norm(x, axis=1).mean()


def test_one_vector_gives_one_code(model, query):
    x = query.features
    code = model.encode(x[3], 32)
    assert code.shape == (32,)
    np.testing.assert_array_equal(code, model.encode(x, 32)[3])
    back = model.decode(code)
    assert back.shape == (model.dim,)
    np.testing.assert_array_equal(back, model.decode(model.encode(x, 32))[3])
    np.testing.assert_array_equal(model.decode(bytes(code)), back)


def test_every_dtype_order_and_stride_gives_the_same_codes(model, query):
    x = query.features[:20]
    want = model.encode(x, 32)
    wide = np.zeros((40, model.dim * 2), dtype=np.float64)
    wide[::2, ::2] = x
    for variant in (
        x.astype(np.float64),
        np.asfortranarray(x),
        wide[::2, ::2],
        list(x),
    ):
        np.testing.assert_array_equal(model.encode(variant, 32), want)
    # float16 loses precision before coding: the codes are those of the rounded values.
    half = x.astype(np.float16)
    np.testing.assert_array_equal(model.encode(half, 32), model.encode(half.astype(np.float32), 32))


def test_decode_takes_codes_as_arrays_and_as_bytes(model, query):
    codes = model.encode(query.features[:10], 64)
    back = model.decode(codes)
    as_bytes = model.code_bytes(codes)
    assert all(isinstance(c, bytes) and len(c) == 64 for c in as_bytes)
    np.testing.assert_array_equal(model.decode(as_bytes), back)
    np.testing.assert_array_equal(model.decode(tuple(bytearray(c) for c in as_bytes)), back)


def test_empty_batches_give_empty_arrays(model):
    codes = model.encode(np.zeros((0, model.dim), np.float32), 32)
    assert codes.shape == (0, 32) and codes.dtype == np.uint8
    back = model.decode(codes)
    assert back.shape == (0, model.dim) and back.dtype == np.float32
    assert model.decode([]).shape == (0, model.dim)


def test_scalable_codes_decode_at_every_layer(model, query):
    x = query.features[:50]
    codes = model.encode(x, scalable=True)
    assert codes.shape == (50, model.scalable_length)
    previous = None
    for budget in model.budgets:
        back = model.decode(codes[:, :budget], scalable=True)
        err = np.linalg.norm(x - back, axis=1).mean()
        assert previous is None or err < previous
        previous = err
    with pytest.raises(naicfc.CorruptCodeError):
        model.decode(codes[:, :20], scalable=True)


def test_save_load_and_bytes_round_trip(model, tmp_path):
    path = tmp_path / "m.nfcm"
    model.save(path)
    assert path.read_bytes() == model.to_bytes()
    for again in (naicfc.Model.load(path), naicfc.Model.load(str(path)),
                  naicfc.Model.from_bytes(model.to_bytes()), naicfc.Model(bytearray(model.to_bytes()))):
        assert again == model and hash(again) == hash(model)
        assert again.fingerprint == model.fingerprint


def test_pickled_models_code_the_same(model, query):
    again = pickle.loads(pickle.dumps(model))
    assert again == model
    np.testing.assert_array_equal(again.encode(query.features, 16), model.encode(query.features, 16))


def _encode_in_child(model, x):
    return model.encode(x, 16)


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_a_model_crosses_process_boundaries(model, query, start):
    # "fork" after the parent ran batches (as PySpark's workers are forked): the child must
    # not wait for the parent's worker threads, which it does not have.
    x = query.features[:30]
    want = model.encode(x, 16)
    context = multiprocessing.get_context(start)
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        got = list(pool.map(_encode_in_child, [model, model], [x[:15], x[15:]], timeout=120))
    np.testing.assert_array_equal(np.concatenate(got), want)


def test_thread_counts_and_concurrent_callers_give_the_same_codes(model, query):
    x = query.features
    want = model.encode(x, 32)
    for threads in (1, 2, 3):
        np.testing.assert_array_equal(model.encode(x, 32, threads=threads), want)
        np.testing.assert_array_equal(model.decode(want, threads=threads), model.decode(want))
    with ThreadPoolExecutor(max_workers=4) as pool:
        for got in pool.map(lambda _: model.encode(x, 32), range(8)):
            np.testing.assert_array_equal(got, want)


def test_the_gil_is_released_during_a_batch(model, query):
    # Another Python thread keeps running while a batch is coded.
    x = np.tile(query.features, (20, 1))
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    t = threading.Thread(target=tick)
    t.start()
    before = len(ticks)
    model.encode(x, 64, threads=1)
    during = len(ticks) - before
    stop.set()
    t.join()
    assert during > 5, during


# A child process that prints "started" just before a long call, then "interrupted" if the call
# raised KeyboardInterrupt or "finished" if it ran to its end.
_CHILD = """
import sys
import numpy as np
import naicfc

x = np.random.default_rng(0).normal(size=(ROWS, 2048)).astype(np.float32)
model = naicfc.Model.load(sys.argv[1])
print("started", flush=True)
try:
    CALL
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(0)
print("finished", flush=True)
"""


def _interrupt(model, tmp_path, rows, call):
    """Run `call` in a child on `rows` random vectors, send it SIGINT once it has started, and
    return how long after the signal it exited. Generous bounds: the suite runs on loaded
    machines, where a chunk of a batch takes many times its usual second."""
    import select
    import signal
    import subprocess
    import sys
    import time

    model.save(tmp_path / "m.nfcm")
    code = _CHILD.replace("ROWS", str(rows)).replace("CALL", call)
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "m.nfcm")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 300)
        assert ready, "the child did not start within 300 s"
        line = child.stdout.readline()
        assert line == "started\n", line + child.stderr.read()
        # The call begins right after the line; this leaves it time to get into the work.
        time.sleep(1.0)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
        elapsed = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    # "finished" means the call ignored the signal (or was too short for this test).
    assert out == "interrupted\n" and child.returncode == 0, out + err
    return elapsed


def test_ctrl_c_interrupts_a_long_batch(model, tmp_path):
    # 12,000 vectors at 256 bytes on one thread: several seconds of work, checked for Ctrl-C
    # every 1,024 rows.
    elapsed = _interrupt(model, tmp_path, 12000, "model.encode(x, 256, threads=1)")
    assert elapsed < 60


def test_ctrl_c_interrupts_training(model, tmp_path):
    # Training on 8,000 x 2048 values on one thread takes seconds; the caller checks for Ctrl-C
    # every tenth of a second while it runs, and gets no model.
    elapsed = _interrupt(model, tmp_path, 8000, "naicfc.Model.train(x, threads=1)")
    assert elapsed < 60
