"""Export: every live customer into a CSV or JSON Lines file, streamed from a parallel Scan.

The file is written under a temporary name beside the target and renamed over it
only once the last customer is in, so a file with the target's name is always a
whole export: an interrupted or failed run removes its partial copy and leaves an
earlier export, if any, as it was. Memory stays flat: pages flow from the Scan's
segments through a bounded queue into the file (chalicelib/storage/bulk_scan.py).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from scripts.transfer.formats import Writer
from scripts.transfer.interrupt import EXIT_INTERRUPTED, Interrupt
from scripts.transfer.progress import DEFAULT_INTERVAL_SECONDS, Progress

SEGMENTS = 4


def export(path: Path, file_format: str, *, interval: float = DEFAULT_INTERVAL_SECONDS) -> int:
    """Write the stage's live customers to ``path``; the exit status."""
    from chalicelib import wiring
    from chalicelib.storage.bulk_scan import approximate_count, live_customers

    client = wiring.dynamodb_client()
    table = wiring.components().settings.customers_table
    progress = Progress("export", approximate_count(client, table), approximate=True, interval=interval)
    target = path.resolve()
    descriptor, partial_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    partial = Path(partial_name)
    finished = False
    try:
        with (
            os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle,
            Interrupt("Stopping the export") as interrupt,
        ):
            writer = Writer(handle, file_format)
            pages = live_customers(client, table, segments=SEGMENTS)
            try:
                for page in pages:
                    writer.write(page)
                    progress.advance(len(page))
                    if interrupt.requested:
                        break
                else:
                    finished = True
            finally:
                pages.close()  # the segments stop after their call in flight
        if finished:
            partial.replace(target)
    except KeyboardInterrupt:
        pass
    finally:
        progress.close()
        if not finished:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    if not finished:
        print(
            f"Interrupted: {progress.done:,} of about {progress.total or 0:,} customers read; {path} was not "
            "written (a partial file is never left behind). Run the same command again for a whole export."
        )
        return EXIT_INTERRUPTED
    print(
        f"Exported {progress.done:,} customers to {path} ({file_format}) in {progress.seconds:,.1f} s, "
        f"{progress.rate:,.0f} rows/s."
    )
    return 0
