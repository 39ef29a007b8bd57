FROM python:3.11-slim

# A CPU build of torch keeps the image small: pass the CPU wheel index of PyTorch as
# --build-arg TORCH_INDEX_URL=... (without it pip picks the default, CUDA-enabled build).
ARG TORCH_INDEX_URL=
WORKDIR /srv
RUN useradd --create-home --uid 10001 cinnamon
COPY pyproject.toml README.md ./
COPY app ./app
COPY config ./config
COPY jobs ./jobs
COPY preprocessing ./preprocessing
COPY synthesizers ./synthesizers
COPY gunicorn.conf.py ./
RUN pip install --no-cache-dir ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0 \
 && pip install --no-cache-dir '.[sdv]'
USER cinnamon
ENV CINNAMON_BIND=0.0.0.0:8000 CINNAMON_DATA_DIR=/srv/data
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
