"""The command line: ``randcnn-fast evaluate`` and ``randcnn-fast info``."""
from __future__ import annotations

import argparse
import json
import sys

from . import __version__, datasets
from .architectures import ARCHITECTURES, SIZES
from .audio import PAD_MODES
from .embedder import PRECISIONS
from .evaluate import SVM_MAX_ITER
from .protocols import CLASSIFIERS, PROTOCOLS


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
    if args.fold_column is not None:
        if not args.dataset.lower().endswith(".csv"):
            raise SystemExit(f"--fold-column names a column of a CSV manifest; --dataset "
                             f"{args.dataset} is not one")
        options["fold_column"] = args.fold_column
    return datasets.load(args.dataset, **options)


PRECISION_HELP = ("bf16: bfloat16 multiplies, about 2x faster where the CPU has AVX512-BF16, "
                  "features within about 1 %% of fp32's")


def _evaluate(args) -> int:
    from .evaluate import evaluate

    results = evaluate(_dataset(args), archs=args.arch, sizes=args.size, classifiers=args.classifier,
                       seeds=args.seed, protocols=args.protocol, mfcc=not args.no_mfcc,
                       out_dir=args.out, cache_dir=args.cache, length=args.length, pad=args.pad,
                       backend_features=args.backend_features, n_threads=args.threads,
                       svm_max_iter=args.svm_max_iter, precision=args.precision)
    from .report import markdown
    print(markdown(results))
    print(f"written to {args.out}/ (results.json, results.csv, results.md, *.png) in "
          f"{results['provenance']['seconds']} s")
    return 1 if results["failures"] else 0


def _embed(args) -> int:
    from .extract import extract

    summary = extract(args.source, args.out, arch=args.arch, size=args.size, seed=args.seed,
                      length=args.length, pad=args.pad, precision=args.precision,
                      extensions=tuple(args.ext) if args.ext else datasets.AUDIO_EXTENSIONS,
                      shard_size=args.shard_size, overwrite=args.overwrite, n_threads=args.threads,
                      workers=args.workers, scheduler=args.scheduler)
    print(summary)
    return 1 if summary.failed else 0


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
    ev.add_argument("--fold-column", help="CSV manifest: the column of integer fold ids "
                                          "(default: 'fold' when the CSV has one, else 5 "
                                          "stratified folds are made)")
    ev.add_argument("--arch", nargs="+", choices=list(ARCHITECTURES), help="default: all")
    ev.add_argument("--size", nargs="+", choices=SIZES, default=["small"])
    ev.add_argument("--classifier", nargs="+", choices=CLASSIFIERS, default=list(CLASSIFIERS))
    ev.add_argument("--protocol", nargs="+", choices=PROTOCOLS, default=["paper"])
    ev.add_argument("--seed", nargs="+", type=int, default=[0])
    ev.add_argument("--length", type=int, help="input length (samples or frames; default: the paper's)")
    ev.add_argument("--pad", choices=["repeat", "zero", "crop"], default="repeat")
    ev.add_argument("--backend-features", choices=["faithful", "per_filter"], default="faithful")
    ev.add_argument("--svm-max-iter", type=int, default=SVM_MAX_ITER,
                    help="libsvm iterations per fit; -1 = until convergence, as GridSearchCV")
    ev.add_argument("--no-mfcc", action="store_true", help="skip the MFCC + SVM baseline")
    ev.add_argument("--out", default="randcnn_fast_results")
    ev.add_argument("--cache", help="feature cache folder (default ~/.cache/randcnn_fast/features)")
    ev.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ev.add_argument("--precision", choices=PRECISIONS, default="fp32", help=PRECISION_HELP)
    ev.set_defaults(run=_evaluate)

    em = commands.add_parser("embed", help="embed a folder or CSV manifest into resumable Parquet shards")
    em.add_argument("source", help="a folder (searched recursively) or a CSV manifest with a 'path' column")
    em.add_argument("--out", required=True, help="output folder; rerun the same command to resume")
    em.add_argument("--arch", choices=list(ARCHITECTURES), default="sample_level")
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

    info = commands.add_parser("info", help="instruction sets and ONNX Runtime providers")
    info.set_defaults(run=_info)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
