# syntax=docker/dockerfile:1
# The Tradeoff image: runs the operator (`tradeoff operator`, the default) and the
# built-in trial workloads (`python -m trial_runner.sklearn ...`).
#
#   docker build -t tradeoff:0.1.0 .
#   docker build -t tradeoff:0.1.0-gp --build-arg WITH_GP=true .   # + PyTorch (CPU) for the GP sampler

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: a virtual environment with the project and its dependencies -------------
FROM ${PYTHON_IMAGE} AS builder
ARG WITH_GP=false
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first (a layer that survives code edits), then the code.
COPY pyproject.toml README.md ./
COPY operator/ operator/
COPY trial_runner/ trial_runner/
# The s3 extra (boto3) lets trials and the Ensemble trial use an artifact bucket
# (artifacts.s3). Optuna's GP sampler needs PyTorch: the CPU build, pinned (an unpinned
# torch pulls CUDA).
RUN pip install ".[s3]" \
    && if [ "$WITH_GP" = "true" ]; then \
         pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"; \
       fi \
    && tradeoff --version

# --- final: the virtual environment on a slim Python, as a non-root user --------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="tradeoff" \
      org.opencontainers.image.description="Kubernetes-native multi-objective optimisation: accuracy, cost and carbon on one Pareto front." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --gid 10001 tradeoff \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin tradeoff
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
USER 10001
# Metrics (/metrics) and health (/healthz, /readyz). No HEALTHCHECK: Kubernetes probes the health port.
EXPOSE 8080 8081
ENTRYPOINT ["tradeoff"]
CMD ["operator"]
