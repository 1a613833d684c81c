"""``automl-al predict MODEL INPUTS... OUT``: masks (PNG / NIfTI) or a class CSV from a trained model."""

from __future__ import annotations

import argparse
from pathlib import Path

from automl_al.cli.base import Command, CommandError


class PredictCommand(Command):
    name = "predict"
    help = "apply a trained model to images or volumes: masks (PNG / NIfTI) or a class CSV"
    description = (
        "MODEL is a run directory (its final model) or an MLflow model URI such as "
        "models:/NAME@champion. INPUTS are files or folders of PNG/TIFF/JPEG/BMP/DICOM images or NIfTI "
        "volumes. Segmentation writes one mask per 2-D image (PNG, {0,255} for binary tasks) and one "
        "NIfTI per volume with the input's affine and header; classification writes OUT/predictions.csv."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help="run directory or MLflow model URI (runs:/ID/model, models:/NAME@ALIAS)")
        parser.add_argument("inputs", nargs="+", type=Path, help="image / volume files or folders")
        parser.add_argument("out", type=Path, help="output folder (created)")
        parser.add_argument("--uncertainty", action="store_true", help="also write predictive-entropy maps")
        parser.add_argument("--mc-samples", type=int, default=20, metavar="T", help="MC passes when the model has dropout (default 20)")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
        parser.add_argument("--tracking-uri", help="MLflow tracking URI for models:/ and runs:/ (default $MLFLOW_TRACKING_URI or the local store)")
        parser.add_argument("--skip-bad", action="store_true", help="skip files that cannot be read as images and list them")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def run(self, args: argparse.Namespace) -> int:
        from automl_al.data.records import BadFileError
        from automl_al.predict import load_predictor, predict_files

        if args.mc_samples < 1:
            raise CommandError(f"--mc-samples must be >= 1, got {args.mc_samples}")
        predictor = load_predictor(args.model, tracking_uri=args.tracking_uri)
        try:
            summary = predict_files(
                predictor, args.inputs, args.out, uncertainty=args.uncertainty, mc_samples=args.mc_samples,
                device=args.device, progress=not args.no_progress, on_bad_file="skip" if args.skip_bad else "error",
            )
        except BadFileError as e:
            raise CommandError(f"{e} (--skip-bad leaves such files out and lists them)") from e
        print(f"{summary.inputs} input file(s) -> {len(summary.written)} file(s) in {args.out} (uncertainty: {summary.method})")
        if summary.skipped:
            print(f"skipped {len(summary.skipped)} file(s) that are not readable images:")
            for path, problem in summary.skipped:
                print(f"  {path}: {problem}")
        return 0
