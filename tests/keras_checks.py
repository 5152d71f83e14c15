"""Shared checks every custom layer and model must pass (config, calls, fit, save/load)."""

import keras
import numpy as np


def assert_saves_and_loads(model, x, tmp_path, atol=0.0):
    """`model.save` / `keras.models.load_model` gives the same outputs on `x`."""
    before = model.predict(x, verbose=0)
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, atol=atol, rtol=0)
    return loaded


def assert_fits_one_step(model, x, y):
    """One `fit` step runs, gives a finite loss and changes the trainable weights."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae", jit_compile=False)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=x.shape[0], verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [w.numpy() for w in model.trainable_weights]
    changed = [not np.array_equal(b, a) for b, a in zip(before, after, strict=True)]
    assert any(changed), "fit did not update any weight"


def run_layer_test(layer_cls, init_kwargs, input_shape, expected_output_shape, tmp_path):
    """Config round-trip, symbolic and eager calls, one fit step and `.keras` save/load."""
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    for key, value in init_kwargs.items():
        assert config[key] == value, f"get_config()[{key!r}] = {config[key]!r} != {value!r}"
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config

    symbolic = layer_cls(**init_kwargs)(keras.Input(shape=input_shape[1:]))
    assert tuple(symbolic.shape[1:]) == tuple(expected_output_shape[1:])
    assert layer.compute_output_shape(input_shape) == tuple(expected_output_shape)

    x = np.random.default_rng(0).uniform(size=input_shape).astype("float32")
    eager = layer(x)
    assert tuple(eager.shape) == tuple(expected_output_shape)

    inputs = keras.Input(shape=input_shape[1:])
    model = keras.Model(inputs, layer_cls(**init_kwargs)(inputs))
    y = np.random.default_rng(1).uniform(size=expected_output_shape).astype("float32")
    if model.trainable_weights:
        assert_fits_one_step(model, x, y)
    assert_saves_and_loads(model, x, tmp_path)
