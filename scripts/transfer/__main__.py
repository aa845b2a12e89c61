"""The command line of the import and export tool (see the package's docstring and docs/import-export.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chalicelib.stages import LOCAL_STAGE, STAGES
from scripts.transfer.formats import FORMATS, FileProblem, Reader, format_of
from scripts.transfer.progress import DEFAULT_INTERVAL_SECONDS
from scripts.transfer.stage import StageUnreachable, use_stage

EXIT_UNUSABLE = 2  # nothing was done: a bad command line, file or stage


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.transfer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("import", "upsert every row of FILE (by email, or by its customer_id)"),
        ("export", "write every live customer to FILE"),
    ):
        command = commands.add_parser(name, help=helptext, description=helptext)
        command.add_argument("file", type=Path, metavar="FILE")
        command.add_argument("--stage", choices=STAGES, default=LOCAL_STAGE, help="default: local (`make run`)")
        command.add_argument("--format", choices=FORMATS, help="default: from FILE's extension")
        command.add_argument(
            "--progress-interval",
            type=float,
            default=DEFAULT_INTERVAL_SECONDS,
            metavar="SECONDS",
            help="when stderr is not a terminal, a progress line this often (default: %(default)g)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path: Path = args.file
    try:
        file_format = format_of(path, args.format)
        if args.command == "import":
            if not path.is_file():
                raise FileProblem(f"{path} does not exist")
            reader = Reader(path, file_format)
            total, ignored = reader.survey()  # a bad header stops here, before anything is written
            use_stage(args.stage)
            from scripts.transfer.importing import import_file

            return import_file(path, reader, total, ignored, interval=args.progress_interval)
        if not path.resolve().parent.is_dir():
            raise FileProblem(f"the folder of {path} does not exist")
        use_stage(args.stage)
        from scripts.transfer.exporting import export

        return export(path, file_format, interval=args.progress_interval)
    except (FileProblem, StageUnreachable) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    except UnicodeDecodeError as error:
        print(f"error: {path} is not UTF-8 text ({error.reason} at byte {error.start})", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
