"""The SID dataset: list files and pairs, the on-disk cache, the tf.data pipeline."""
