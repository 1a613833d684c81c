"""Using a trained model: ``automl-al predict MODEL INPUTS OUT``.

Example:
    >>> from automl_al.predict import load_predictor, predict_files
    >>> predictor = load_predictor("runs/demo")                               # doctest: +SKIP
    >>> predict_files(predictor, [Path("scans/")], Path("masks/"), uncertainty=True)  # doctest: +SKIP
"""

from automl_al.predict.apply import PredictSummary, predict_files
from automl_al.predict.model_io import ModelNotFoundError, Predictor, load_predictor

__all__ = ["ModelNotFoundError", "PredictSummary", "Predictor", "load_predictor", "predict_files"]
