"""Progress bars that stay readable in logs.

On a terminal, `progress_bar` is an ordinary tqdm bar redrawn in place. When stderr is not a
terminal (CI, `nohup`, `2> file`), tqdm's carriage-return redraws would pile up as one endless
line growing by tens of KB a minute; there the bar prints a whole line at most every
`LOG_INTERVAL` seconds, plus the final one. Every long loop in the package takes its bar here.
"""

from __future__ import annotations

import sys

#: Seconds between progress lines when stderr is not a terminal.
LOG_INTERVAL = 10.0


class _WholeLines:
    """A stream adapter that turns tqdm's `\\r`-redraws into newline-terminated lines."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        line = text.replace("\r", "").rstrip("\n")
        if line.strip():
            self.stream.write(line + "\n")

    def flush(self):
        self.stream.flush()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(iterable=None, *, total=None, desc=None, unit="it", disable=False, **kwargs):
    """A tqdm progress bar on stderr: redrawn in place on a terminal, whole lines elsewhere.

    Args:
        iterable, total, desc, unit, disable: as for `tqdm.tqdm`.
        **kwargs: other `tqdm.tqdm` arguments.
    """
    from tqdm import tqdm

    stream = sys.stderr
    if disable or _is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, file=stream,
                    **kwargs)
    kwargs.setdefault("mininterval", LOG_INTERVAL)
    kwargs.setdefault("maxinterval", max(LOG_INTERVAL, kwargs["mininterval"]))
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=_WholeLines(stream),
                ascii=True, ncols=100, **kwargs)
