"""The command line: ``randcnn-fast evaluate``, ``rank``, ``embed``, ``arch`` and ``info``.

An expected failure (a bad option, a missing file, a configuration mismatch, a held lock, a
permission or a full disk) prints one line to stderr naming the cause and the fix: exit code 2
for a command line that cannot run as written, 1 for a run that failed. ``--debug`` shows the
traceback instead.
"""
from __future__ import annotations

import argparse
import errno
import json
import re
import sys

from ._version import __version__
from .classifiers.scaling import SCALES
from .datasets import loaders as datasets
from .evaluation.choices import CLASSIFIERS, PROTOCOLS, RESULTS_ROOT, SVM_MAX_ITER
from .evaluation.choices import SEEDS as RANK_SEEDS
from .features.embedder import PRECISIONS
from .input.audio import MIN_SECONDS
from .input.clips import PAD_MODES
from .input.manifests import AUDIO_EXTENSIONS
from .network.archfile import is_architecture_file
from .network.architectures import ARCHITECTURES, SIZES
from .network.frames import DEFAULT_HOP, DEFAULT_WINDOW

__all__ = ["main", "build_parser"]

PROG = "randcnn-fast"


class _UsageError(Exception):
    """Options that cannot run together as given (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line, naming where to read more."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help that ends every option with its default, except where the text already says it
    (options whose default is computed) and for on/off flags (off unless given)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or action.default is None or action.default is False
                or action.default == argparse.SUPPRESS or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


# Library messages name keyword arguments; here they are the options that set them.
_OPTION_NAMES = (
    (re.compile(r"\boverwrite=True\b"), "--overwrite"),
    (re.compile(r"\bout_dir\b"), "--out"),
    (re.compile(r"\blists_dir\b"), "--lists"),
    (re.compile(r"\broot="), "--root "),
    (re.compile(r"\bfold_column\b"), "--fold-column"),
)

# What to do about the operating system's refusals that name only a path.
_OS_FIXES = {
    errno.ENOSPC: "free space on that disk, then run the same command again (finished work is "
                  "kept)",
    errno.EACCES: "check that path's permissions, or choose another --out",
    errno.EPERM: "check that path's permissions, or choose another --out",
    errno.EROFS: "that file system is read-only; choose another --out",
}


def one_line(error: BaseException) -> str:
    """An exception's message on one line, in the command line's words, with the fix for an
    operating-system error that names none."""
    text = " ".join(str(error).split())
    for pattern, option in _OPTION_NAMES:
        text = pattern.sub(option, text)
    fix = _OS_FIXES.get(getattr(error, "errno", None))
    return f"{text}; {fix}" if fix and fix not in text else text


def _dataset(args) -> datasets.Dataset | None:
    if args.dataset in (None, "demo"):
        if args.fold_column is not None:
            raise _UsageError("--fold-column names a column of a CSV manifest; pass --dataset "
                              "labels.csv with it")
        return None
    options = {}
    if args.dataset in datasets.DATASETS:  # the named datasets read a folder of their own
        if not args.root:
            raise _UsageError(f"--dataset {args.dataset} needs --root (the dataset's folder)")
        options["root"] = args.root
        if args.dataset == "gtzan":
            if not args.lists:
                raise _UsageError("--dataset gtzan needs --lists: the folder with "
                                  "train_filtered.txt, valid_filtered.txt and test_filtered.txt "
                                  "(public repository jongpillee/music_dataset_split, "
                                  "GTZAN_split/)")
            options["lists_dir"] = args.lists
    if args.fold_column is not None:
        if not args.dataset.lower().endswith(".csv"):
            raise _UsageError(f"--fold-column names a column of a CSV manifest; --dataset "
                              f"{args.dataset} is not one")
        options["fold_column"] = args.fold_column
    return datasets.load(args.dataset, **options)


def _arch_argument(value: str) -> str:
    """A built-in name or an architecture file's path (read, and checked, when used)."""
    if value in ARCHITECTURES or is_architecture_file(value):
        return value
    raise argparse.ArgumentTypeError(f"unknown architecture {value!r}: choose one of "
                                     f"{sorted(ARCHITECTURES)}, or give a .toml/.json file")


FEATURES_HELP = ("scale every network's channels to this embedding size, to compare designs "
                 "at the same size (the nearest count one common factor reaches; default: each "
                 "network's own width)")
SCALE_HELP = ("none: features as the networks give them (the paper's); standard: zero mean, unit "
              "variance, fitted on each training part only")
RANK_HELP = ("rank architectures over seeds (default 5): mean, 95%% interval, paired test "
             "against the best")
PRECISION_HELP = ("bf16: bfloat16 multiplies on the layers where the CPU's AVX512-BF16 beats "
                  "its float32 rate (AMD; Intel's run fp32: see isa_info), features within "
                  "about 1 %% of fp32's")


def _evaluate_options(args) -> dict:
    """The keyword arguments of evaluate() and rank() from the command line."""
    return dict(archs=args.arch, sizes=args.size, classifiers=args.classifier, seeds=args.seed,
                protocols=args.protocol, mfcc=not args.no_mfcc, out_dir=args.out,
                overwrite=args.overwrite, cache_dir=args.cache, length=args.length, pad=args.pad,
                backend_features=args.backend_features, n_threads=args.threads,
                svm_max_iter=args.svm_max_iter, precision=args.precision,
                features=args.features, scale=args.scale)


def _evaluate(args) -> int:
    from .evaluation.evaluate import evaluate

    results = evaluate(_dataset(args), **_evaluate_options(args))
    from .evaluation.report import markdown
    print(markdown(results))
    print(f"written to {results['out_dir']}/ (results.json, results.csv, results.md, *.png) in "
          f"{results['provenance']['seconds']} s")
    return 1 if results["failures"] else 0


def _embed(args) -> int:
    from .extraction.extract import extract

    # extract prints its summary (to stderr, with the progress bar): printed once.
    summary = extract(args.source, args.out, arch=args.arch, size=args.size, seed=args.seed,
                      length=args.length, pad=args.pad, precision=args.precision,
                      **_frame_options(args), features=args.features,
                      extensions=tuple(args.ext) if args.ext else AUDIO_EXTENSIONS,
                      shard_size=args.shard_size, overwrite=args.overwrite, n_threads=args.threads,
                      workers=args.workers, scheduler=args.scheduler,
                      retry_failed=not args.keep_failures, min_seconds=args.min_seconds)
    return 1 if summary.failed else 0


def _frame_options(args) -> dict:
    """hop and window for ``embed --frames``; --hop and --window alone are a mistake."""
    if not args.frames:
        if args.hop is not None or args.window is not None:
            raise _UsageError("--hop and --window set frame embeddings: add --frames")
        return {}
    return {"hop": DEFAULT_HOP if args.hop is None else args.hop,
            "window": DEFAULT_WINDOW if args.window is None else args.window}


def _rank(args) -> int:
    from .evaluation.ranking import rank, ranking_markdown

    results = rank(_dataset(args), **_evaluate_options(args))
    print(ranking_markdown(results))
    print(f"written to {args.out}/ (ranking.md, ranking.csv, ranking_*.png, results.json) in "
          f"{results['provenance']['seconds']} s")
    return 1 if results["failures"] else 0


def _arch(args) -> int:
    from .network.archfile import describe_architecture

    print(describe_architecture(args.arch, size=args.size, backend_features=args.backend_features,
                                features=args.features, length=args.length, save=args.save))
    return 0


def _info(args) -> int:
    from .backends.machine import isa_info
    print(json.dumps({"randcnn_fast": __version__, "isa": isa_info(),
                      "architectures": list(ARCHITECTURES)}, indent=1))
    return 0


def _add_debug(parser) -> None:
    # SUPPRESS on the subcommands: an absent --debug there keeps the top-level value.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error instead of its one-line message")


def _add_evaluate_arguments(parser, *, seeds: list, out, out_help: str) -> None:
    """The options evaluate and rank share (each parser has its own actions, so that one's
    defaults never leak into the other's)."""
    parser.add_argument("--dataset", help="demo (the default), gtzan, extended_ballroom, urbansound8k, "
                                          "fsdd, a folder of class folders, or a CSV manifest")
    parser.add_argument("--root", help="the dataset's folder (named datasets; no default)")
    parser.add_argument("--lists", help="GTZAN: folder of the fault-filtered split lists (no default)")
    parser.add_argument("--fold-column", help="CSV manifest: the column of integer fold ids "
                                              "(default: 'fold' when the CSV has one, else 5 "
                                              "stratified folds are made)")
    parser.add_argument("--arch", nargs="+", type=_arch_argument, metavar="ARCH",
                        help="built-in names or architecture files (.toml/.json); default: every built-in")
    parser.add_argument("--size", nargs="+", choices=SIZES, default=["small"],
                        help="feature size; evaluate embeds the set with every architecture, so it "
                             "defaults to the study's small (~160-d) features, which take minutes "
                             "where paper size takes hours; embed defaults to paper")
    parser.add_argument("--classifier", nargs="+", choices=CLASSIFIERS, default=list(CLASSIFIERS),
                        help="classifiers to fit")
    parser.add_argument("--protocol", nargs="+", choices=PROTOCOLS, default=["paper"],
                        help="paper: the study's; nested: selection inside each training part")
    parser.add_argument("--seed", nargs="+", type=int, default=seeds, help="network and ELM seeds")
    parser.add_argument("--length", type=int, help="input length (samples or frames; default: the paper's)")
    parser.add_argument("--pad", choices=["repeat", "zero", "crop"], default="repeat",
                        help="how inputs are brought to --length")
    parser.add_argument("--backend-features", choices=["faithful", "per_filter"], default="faithful",
                        help="frame-level models: the original's features or a mean per filter")
    parser.add_argument("--svm-max-iter", type=int, default=SVM_MAX_ITER,
                        help="libsvm iterations per fit; -1 = until convergence, as GridSearchCV")
    parser.add_argument("--no-mfcc", action="store_true", help="skip the MFCC + SVM baseline")
    parser.add_argument("--out", default=out, help=out_help)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the results of an earlier run in --out")
    parser.add_argument("--cache", help="feature cache folder (default ~/.cache/randcnn_fast/features)")
    parser.add_argument("--threads", type=int, default=0, help="threads; 0 = all cores")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help=PRECISION_HELP)
    parser.add_argument("--features", type=int, help=FEATURES_HELP)
    parser.add_argument("--scale", choices=SCALES, default="none", help=SCALE_HELP)
    _add_debug(parser)


def build_parser() -> argparse.ArgumentParser:
    """Build the command line's parser (every option with its default in --help).

    Returns
    -------
    argparse.ArgumentParser
        Commands evaluate, rank, embed, arch and info; each parsed command carries the
        function that runs it as ``run``.

    Examples
    --------
    >>> args = build_parser().parse_args(["arch", "vgg", "--size", "small"])
    >>> args.command, args.arch, args.size
    ('arch', 'vgg', 'small')
    """
    parser = _Parser(prog=PROG, description="Random-weight CNN audio embeddings.",
                     formatter_class=_DefaultsFormatter)
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error instead of its one-line message")
    commands = parser.add_subparsers(dest="command", required=True)

    ev = commands.add_parser("evaluate", help="classify a dataset with every architecture (default: the demo)",
                             formatter_class=_DefaultsFormatter)
    _add_evaluate_arguments(ev, seeds=[0], out=None,
                            out_help=f"output folder (default: a new folder named for the run, "
                                     f"{RESULTS_ROOT}/<dataset>-<date>-<time>)")
    ev.set_defaults(run=_evaluate)

    rk = commands.add_parser("rank", help=RANK_HELP, formatter_class=_DefaultsFormatter)
    _add_evaluate_arguments(rk, seeds=list(RANK_SEEDS), out="randcnn_fast_ranking",
                            out_help="output folder")
    rk.set_defaults(run=_rank)

    em = commands.add_parser("embed", help="embed a folder or CSV manifest into resumable Parquet shards",
                             formatter_class=_DefaultsFormatter)
    em.add_argument("source", help="a folder (searched recursively) or a CSV manifest with a 'path' column")
    em.add_argument("--out", required=True, help="output folder; rerun the same command to resume")
    em.add_argument("--arch", type=_arch_argument, default="sample_level",
                    help="a built-in name or an architecture file (.toml/.json)")
    em.add_argument("--features", type=int, help=FEATURES_HELP)
    em.add_argument("--size", choices=SIZES, default="paper",
                    help="feature size (~3584-d paper, ~160-d small)")
    em.add_argument("--seed", type=int, default=0, help="the network's seed")
    em.add_argument("--length", type=int, help="input length (samples or frames; default: the paper's)")
    em.add_argument("--pad", choices=PAD_MODES, default="repeat",
                    help="'none' embeds whole files of any length, in time tiles")
    em.add_argument("--ext", nargs="+", help="file extensions to take from a folder (default: "
                                             + " ".join(AUDIO_EXTENSIONS) + ")")
    em.add_argument("--shard-size", type=int, default=256, help="clips per Parquet shard")
    em.add_argument("--overwrite", action="store_true", help="replace a run made with another configuration")
    em.add_argument("--keep-failures", action="store_true",
                    help="do not retry the clips an earlier run recorded as failed")
    em.add_argument("--min-seconds", type=float, default=MIN_SECONDS,
                    help="files shorter than this are recorded as too short; 0 embeds any")
    em.add_argument("--threads", type=int, default=0, help="threads; 0 = all cores")
    em.add_argument("--precision", choices=PRECISIONS, default="fp32", help=PRECISION_HELP)
    em.add_argument("--frames", action="store_true",
                    help="one row per frame (each file whole): read back with "
                         "load_embeddings(out, frames=True)")
    em.add_argument("--hop", type=float, help=f"--frames: seconds between frames "
                                              f"(default {DEFAULT_HOP})")
    em.add_argument("--window", type=float, help=f"--frames: seconds per frame "
                                                 f"(default {DEFAULT_WINDOW})")
    em.add_argument("--workers", type=int, help="start a local Dask cluster with this many "
                                                "workers (default: no cluster)")
    em.add_argument("--scheduler", help="join an existing Dask cluster (tcp://host:port; "
                                        "default: no cluster)")
    _add_debug(em)
    em.set_defaults(run=_embed)

    ar = commands.add_parser("arch", help="describe an architecture, or write it as a file to start from",
                             formatter_class=_DefaultsFormatter)
    ar.add_argument("arch", type=_arch_argument, help="a built-in name or an architecture file")
    ar.add_argument("--size", choices=SIZES, default="small", help="a built-in's size")
    ar.add_argument("--backend-features", choices=["faithful", "per_filter"], default="faithful",
                    help="frame-level models: the original's features or a mean per filter")
    ar.add_argument("--features", type=int, help=FEATURES_HELP)
    ar.add_argument("--length", type=int, help="describe at this input length (default: its own)")
    ar.add_argument("--save", metavar="FILE", help="write it to FILE (.toml or .json; default: print its description only)")
    _add_debug(ar)
    ar.set_defaults(run=_arch)

    info = commands.add_parser("info", help="instruction sets and ONNX Runtime providers",
                               formatter_class=_DefaultsFormatter)
    _add_debug(info)
    info.set_defaults(run=_info)
    return parser


# The failures a run can meet on good code: its message is the report. Anything else is a
# bug, still reported on one line, with where to find the traceback.
EXPECTED = (ValueError, OSError, RuntimeError, ImportError)


def main(argv=None) -> int:
    """Run the ``randcnn-fast`` command line.

    An expected failure (bad input, a missing file) is reported on one line, without a
    traceback, unless ``--debug`` is given.

    Parameters
    ----------
    argv : list of str, optional
        The arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit status: 0 on success, 1 on an error, 2 on a usage error, 130 when
        interrupted.

    Examples
    --------
    >>> main(["arch", "7x96", "--size", "small"])  # doctest: +ELLIPSIS
    7x96 (small) on 1376 frames (minimum 7)
    ...
    0
    """
    args = build_parser().parse_args(argv)
    where = f"{PROG} {args.command}"
    try:
        return args.run(args)
    except Exception as error:  # noqa: BLE001 - every error gets its one line
        if args.debug:
            raise
        if isinstance(error, _UsageError):
            print(f"{where}: error: {error}; see {where} --help", file=sys.stderr)
            return 2
        if isinstance(error, EXPECTED):
            print(f"{where}: error: {one_line(error)}", file=sys.stderr)
        else:
            print(f"{where}: unexpected error: {type(error).__name__}: {one_line(error)}; rerun "
                  "with --debug for the traceback", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{where}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
