"""The command line: ``randcnn-fast evaluate``, ``rank``, ``embed``, ``arch`` and ``info``."""
from __future__ import annotations

import argparse
import json
import sys

from . import __version__, datasets
from .architectures import ARCHITECTURES, SIZES
from .archfile import is_architecture_file
from .audio import PAD_MODES
from .embedder import PRECISIONS
from .evaluate import SVM_MAX_ITER
from .protocols import CLASSIFIERS, PROTOCOLS
from .scaling import SCALES


def _dataset(args) -> datasets.Dataset | None:
    if args.dataset in (None, "demo"):
        return None
    options = {}
    if args.dataset in ("gtzan", "extended_ballroom", "urbansound8k", "fsdd"):
        if not args.root:
            raise SystemExit(f"--dataset {args.dataset} needs --root (the dataset's folder)")
        options["root"] = args.root
        if args.dataset == "gtzan":
            if not args.lists:
                raise SystemExit("--dataset gtzan needs --lists: the folder with train_filtered.txt, "
                                 "valid_filtered.txt and test_filtered.txt (public repository "
                                 "jongpillee/music_dataset_split, GTZAN_split/)")
            options["lists_dir"] = args.lists
    return datasets.load(args.dataset, **options)


def arch_argument(value: str) -> str:
    """A built-in name or an architecture file's path (read, and checked, when used)."""
    if value in ARCHITECTURES or is_architecture_file(value):
        return value
    raise argparse.ArgumentTypeError(f"unknown architecture {value!r}: choose one of "
                                     f"{sorted(ARCHITECTURES)}, or give a .toml/.json file")


FEATURES_HELP = ("scale every network's channels to this embedding size, to compare designs "
                 "at the same size (the nearest count one common factor reaches)")
SCALE_HELP = ("none: features as the networks give them (the paper's); standard: zero mean, unit "
              "variance, fitted on each training part only")
RANK_HELP = ("rank architectures over seeds (default 5): mean, 95%% interval, paired test "
             "against the best")
PRECISION_HELP = ("bf16: bfloat16 multiplies, about 2x faster where the CPU has AVX512-BF16, "
                  "features within about 1 %% of fp32's")


def _evaluate_options(args, *, seeds, out: str) -> dict:
    """The keyword arguments of evaluate() and rank() from the command line, with the
    command's own default seeds and output folder."""
    args.seed = seeds if args.seed is None else args.seed
    args.out = out if args.out is None else args.out
    return dict(archs=args.arch, sizes=args.size, classifiers=args.classifier, seeds=args.seed,
                protocols=args.protocol, mfcc=not args.no_mfcc, out_dir=args.out,
                cache_dir=args.cache, length=args.length, pad=args.pad,
                backend_features=args.backend_features, n_threads=args.threads,
                svm_max_iter=args.svm_max_iter, precision=args.precision,
                features=args.features, scale=args.scale)


def _evaluate(args) -> int:
    from .evaluate import evaluate

    results = evaluate(_dataset(args), **_evaluate_options(args, seeds=[0], out="randcnn_fast_results"))
    from .report import markdown
    print(markdown(results))
    print(f"written to {args.out}/ (results.json, results.csv, results.md, *.png) in "
          f"{results['provenance']['seconds']} s")
    return 1 if results["failures"] else 0


def _embed(args) -> int:
    from .extract import extract

    summary = extract(args.source, args.out, arch=args.arch, size=args.size, seed=args.seed,
                      length=args.length, pad=args.pad, precision=args.precision,
                      features=args.features, extensions=tuple(args.ext) if args.ext else datasets.AUDIO_EXTENSIONS,
                      shard_size=args.shard_size, overwrite=args.overwrite, n_threads=args.threads,
                      workers=args.workers, scheduler=args.scheduler)
    print(summary)
    return 1 if summary.failed else 0


def _rank(args) -> int:
    from .ranking import SEEDS, rank, ranking_markdown

    results = rank(_dataset(args), **_evaluate_options(args, seeds=list(SEEDS),
                                                        out="randcnn_fast_ranking"))
    print(ranking_markdown(results))
    print(f"written to {args.out}/ (ranking.md, ranking.csv, ranking_*.png, results.json) in "
          f"{results['provenance']['seconds']} s")
    return 1 if results["failures"] else 0


def _arch(args) -> int:
    from .archfile import describe_architecture

    print(describe_architecture(args.arch, size=args.size, backend_features=args.backend_features,
                                features=args.features, length=args.length, save=args.save))
    return 0


def _info(args) -> int:
    from . import isa_info
    print(json.dumps({"randcnn_fast": __version__, "isa": isa_info(),
                      "architectures": list(ARCHITECTURES)}, indent=1))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="randcnn-fast", description="Random-weight CNN audio embeddings.")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    ev = commands.add_parser("evaluate", help="classify a dataset with every architecture (default: the demo)")
    ev.add_argument("--dataset", help="demo (default), gtzan, extended_ballroom, urbansound8k, fsdd, "
                                      "a folder of class folders, or a CSV manifest")
    ev.add_argument("--root", help="the dataset's folder (named datasets)")
    ev.add_argument("--lists", help="GTZAN: folder of the fault-filtered split lists")
    ev.add_argument("--arch", nargs="+", type=arch_argument, metavar="ARCH",
                    help="built-in names or architecture files (.toml/.json); default: every built-in")
    ev.add_argument("--size", nargs="+", choices=SIZES, default=["small"])
    ev.add_argument("--classifier", nargs="+", choices=CLASSIFIERS, default=list(CLASSIFIERS))
    ev.add_argument("--protocol", nargs="+", choices=PROTOCOLS, default=["paper"])
    ev.add_argument("--seed", nargs="+", type=int, help="default: 0 (rank: 0 1 2 3 4)")
    ev.add_argument("--length", type=int, help="input length (samples or frames; default: the paper's)")
    ev.add_argument("--pad", choices=["repeat", "zero", "crop"], default="repeat")
    ev.add_argument("--backend-features", choices=["faithful", "per_filter"], default="faithful")
    ev.add_argument("--svm-max-iter", type=int, default=SVM_MAX_ITER,
                    help="libsvm iterations per fit; -1 = until convergence, as GridSearchCV")
    ev.add_argument("--no-mfcc", action="store_true", help="skip the MFCC + SVM baseline")
    ev.add_argument("--out", help="default: randcnn_fast_results (rank: randcnn_fast_ranking)")
    ev.add_argument("--cache", help="feature cache folder (default ~/.cache/randcnn_fast/features)")
    ev.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ev.add_argument("--precision", choices=PRECISIONS, default="fp32", help=PRECISION_HELP)
    ev.add_argument("--features", type=int, help=FEATURES_HELP)
    ev.add_argument("--scale", choices=SCALES, default="none", help=SCALE_HELP)
    ev.set_defaults(run=_evaluate)

    # rank takes every evaluate option (the same argument objects: defaults stay None here and
    # are resolved per command, in _evaluate_options)
    rk = commands.add_parser("rank", parents=[ev], add_help=False, help=RANK_HELP)
    rk.set_defaults(run=_rank)

    em = commands.add_parser("embed", help="embed a folder or CSV manifest into resumable Parquet shards")
    em.add_argument("source", help="a folder (searched recursively) or a CSV manifest with a 'path' column")
    em.add_argument("--out", required=True, help="output folder; rerun the same command to resume")
    em.add_argument("--arch", type=arch_argument, default="sample_level",
                    help="a built-in name or an architecture file (.toml/.json)")
    em.add_argument("--features", type=int, help=FEATURES_HELP)
    em.add_argument("--size", choices=SIZES, default="paper")
    em.add_argument("--seed", type=int, default=0)
    em.add_argument("--length", type=int, help="input length (samples or frames; default: the paper's)")
    em.add_argument("--pad", choices=PAD_MODES, default="repeat",
                    help="'none' embeds whole files of any length, in time tiles")
    em.add_argument("--ext", nargs="+", help="file extensions to take from a folder (default: audio)")
    em.add_argument("--shard-size", type=int, default=256)
    em.add_argument("--overwrite", action="store_true", help="replace a run made with another configuration")
    em.add_argument("--threads", type=int, default=0, help="0 = all cores")
    em.add_argument("--precision", choices=PRECISIONS, default="fp32", help=PRECISION_HELP)
    em.add_argument("--workers", type=int, help="start a local Dask cluster with this many workers")
    em.add_argument("--scheduler", help="join an existing Dask cluster (tcp://host:port)")
    em.set_defaults(run=_embed)

    ar = commands.add_parser("arch", help="describe an architecture, or write it as a file to start from")
    ar.add_argument("arch", type=arch_argument, help="a built-in name or an architecture file")
    ar.add_argument("--size", choices=SIZES, default="small", help="a built-in's size")
    ar.add_argument("--backend-features", choices=["faithful", "per_filter"], default="faithful")
    ar.add_argument("--features", type=int, help=FEATURES_HELP)
    ar.add_argument("--length", type=int, help="describe at this input length (default: its own)")
    ar.add_argument("--save", metavar="FILE", help="write it to FILE (.toml or .json)")
    ar.set_defaults(run=_arch)

    info = commands.add_parser("info", help="instruction sets and ONNX Runtime providers")
    info.set_defaults(run=_info)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
