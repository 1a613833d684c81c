# automl-al on a GPU server: `docker build -t automl-al .` then
#   docker run --gpus all --ipc=host -v /path/to/data:/data -v /path/to/runs:/runs automl-al run /data/config.yaml
# Data is read from /data, everything written (run_dir, the MLflow store) goes under /runs.
# The base tag matches the torch pin in pyproject.toml (torch 2.14.1, CUDA 13.0), so `pip install .`
# keeps the image's torch instead of downloading another 5 GB.
ARG BASE_IMAGE=pytorch/pytorch:2.14.1-cuda13.0-cudnn9-runtime
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NO_ALBUMENTATIONS_UPDATE=1 \
    HF_HUB_OFFLINE=1 \
    MPLBACKEND=Agg \
    MLFLOW_TRACKING_URI=sqlite:////runs/mlflow/mlflow.db

WORKDIR /opt/automl-al
COPY pyproject.toml README.md ./
COPY automl_al ./automl_al
# Search spaces shipped with the project: refer to them as /opt/automl-al/search_spaces/<name>.yaml.
COPY search_spaces ./search_spaces
# Installed the way README installs it.
RUN pip install -q . \
    && useradd --create-home --shell /bin/bash automl \
    && mkdir -p /data /runs \
    && chown automl:automl /runs

USER automl
# A relative run_dir and the default MLflow store land under /runs.
WORKDIR /runs
VOLUME ["/runs"]
ENTRYPOINT ["automl-al"]
CMD ["--help"]
